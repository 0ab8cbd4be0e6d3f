/**
 * The inbox's REST calls (/api/tasks/, /api/teams/, /api/users/), on the same client as
 * the editor: session cookie, CSRF header, ApiError with the server's code and body.
 */
import { createApi, type Paginated } from "./api";

export type TaskStatus = "open" | "approved" | "rejected" | "expired" | "cancelled";
export type Tab = "mine" | "team" | "overdue" | "done" | "all";
export type Ordering = "due_at" | "-due_at" | "created_at" | "-created_at";

export interface UserRef {
  id: number;
  username: string;
}

export interface TeamRef {
  id: string;
  name: string;
}

export interface TaskSummary {
  id: string;
  title: string;
  workflow: { id: string; name: string };
  run_id: string;
  node_id: string;
  status: TaskStatus;
  due_at: string | null;
  overdue: boolean;
  created_at: string;
  claimed_by: UserRef | null;
  assignees: { users: UserRef[]; teams: TeamRef[] };
  is_test: boolean;
}

export type ContextKind = "text" | "number" | "percent" | "confidence" | "link" | "list" | "table" | "object" | "explanation";

export interface ContextItem {
  label: string;
  value: unknown;
  kind?: ContextKind | string;
}

export interface TaskDetail extends TaskSummary {
  instructions: string;
  context: ContextItem[];
  form_schema: Record<string, unknown> | null;
  form_values: Record<string, unknown>;
  mode: "any" | "all" | "quorum";
  quorum_n: number;
  votes: { user: string; decision: string; comment: string; at: string }[];
  decision: string;
  decided_by: UserRef | null;
  decided_at: string | null;
  comment: string;
  follow_up_at?: string | null;
  can: { claim: boolean; release: boolean; assign: boolean; decide: boolean };
  history: { kind: string; actor: string | null; data: Record<string, unknown>; at: string }[];
  run_url: string;
}

export type Counts = Partial<Record<Tab, number>>;

export interface TaskPage extends Paginated<TaskSummary> {
  counts: Counts;
}

export interface TaskQuery {
  tab: Tab;
  workflow?: string;
  team?: string;
  search?: string;
  ordering?: Ordering;
  page?: number;
  page_size?: number;
}

export interface Team extends TeamRef {
  description: string;
  lead: UserRef | null;
  members: UserRef[];
  webhook_url: string;
}

export function createInboxApi(base = "/api") {
  const { request } = createApi(base);
  const id = encodeURIComponent;
  const q = (params: object) => {
    const s = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") s.set(k, String(v));
    const str = s.toString();
    return str ? `?${str}` : "";
  };
  return {
    listTasks: (query: TaskQuery) => request<TaskPage>("GET", `/tasks/${q(query)}`),
    getTask: (taskId: string) => request<TaskDetail>("GET", `/tasks/${id(taskId)}/`),
    claim: (taskId: string) => request<TaskDetail>("POST", `/tasks/${id(taskId)}/claim/`),
    release: (taskId: string) => request<TaskDetail>("POST", `/tasks/${id(taskId)}/release/`),
    assign: (taskId: string, body: { users: number[]; teams: string[] }) =>
      request<TaskDetail>("POST", `/tasks/${id(taskId)}/assign/`, body),
    decide: (taskId: string, body: { decision: "approved" | "rejected"; comment: string; form: Record<string, unknown> }) =>
      request<TaskDetail>("POST", `/tasks/${id(taskId)}/decide/`, body),
    listTeams: () => request<Paginated<Team> | Team[]>("GET", "/teams/?page_size=200"),
    listWorkflows: () => request<Paginated<{ id: string; name: string }>>("GET", "/workflows/?page_size=200"),
    listUsers: () => request<Paginated<UserRef> | UserRef[]>("GET", "/users/?page_size=200"),
  };
}

export type InboxApi = ReturnType<typeof createInboxApi>;
