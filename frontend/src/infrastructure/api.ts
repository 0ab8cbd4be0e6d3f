/**
 * The REST client: JSON in and out, the Django session cookie for auth, and the CSRF
 * token from the `csrftoken` cookie on every unsafe method. Errors become ApiError with
 * the server's machine code and message.
 */
import type { Graph, NodeRunStatus, NodeTypeSpec, Problem, RunStatus } from "../core/types";

export interface Paginated<T> {
  count: number;
  next: string | null;
  previous: string | null;
  results: T[];
}

export interface WorkflowSummary {
  id: string;
  name: string;
  description: string;
  is_active: boolean;
  revision: number;
  latest_version: number | null;
  owner: { id: number | string; username: string } | null;
  created_at: string;
  updated_at: string;
}

export interface WorkflowDetail extends WorkflowSummary {
  graph: Graph;
}

export interface ValidationResult {
  valid: boolean;
  problems: Problem[];
}

export interface VersionSummary {
  number: number;
  note: string;
  created_by: string | { username: string } | null;
  created_at: string;
}

export interface VersionDetail extends VersionSummary {
  graph: Graph;
}

export interface ExportDocument {
  weft_export: 1;
  name: string;
  description: string;
  graph: Graph;
}

/** What an expression gives on sample data: its value, or why it cannot give one. */
export type ExpressionPreview = { value: unknown } | { error: string };

export type ExpressionCheck = { valid: true; preview?: ExpressionPreview } | { valid: false; error: { message: string; position: number | null } };

export interface Credential {
  id: string | number;
  name: string;
  kind: string;
}

/** A registered Triton server (GET /api/inference/servers/). */
export interface TritonServerSummary {
  id: number;
  name: string;
  is_active: boolean;
  models: string[];
}

/** A model a server serves: its versions and whether it is ready. */
export interface TritonModelStatus {
  name: string;
  versions: string[];
  ready: boolean;
  reason: string;
}

export interface TensorSpec {
  name: string;
  datatype: string;
  /** Per item; -1 means any length. */
  shape: number[];
  optional: boolean;
}

export interface TritonModelSpec {
  server: string;
  name: string;
  versions: string[];
  platform: string;
  max_batch_size: number;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  labels: string[];
}

/** What "try it" gives: the outputs, with label and confidence for a classifier. */
export interface InferenceTry {
  server: string;
  model: string;
  version: string;
  outputs: Record<string, unknown>;
  label?: unknown;
  confidence?: number;
  count?: number;
  latency_ms?: number;
  [key: string]: unknown;
}

export type RunMode = "production" | "test";

export interface RunSummary {
  id: string;
  workflow: string;
  /** The published version it ran; null for a test run (it ran a test snapshot of the draft). */
  version: number | null;
  status: RunStatus;
  trigger: string;
  mode?: RunMode;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  error: unknown;
}

/** A line of GET /api/runs/ (the runs page and the editor's Runs tab). */
export interface RunRow extends RunSummary {
  short_id: string;
  workflow_name: string;
  started_by: string;
  duration_ms: number | null;
  error: { type: string; message: string; node_id?: string | null } | null;
}

export interface RunPage {
  next: string | null;
  next_cursor: string | null;
  results: RunRow[];
}

export interface NodeRunRecord {
  node_id: string;
  status: NodeRunStatus;
  attempt: number;
  inputs: unknown;
  outputs: unknown;
  error: { type: string; message: string } | null;
  started_at: string | null;
  finished_at: string | null;
  /** Where this node run's map items are read a page at a time (null when none or inline). */
  items_url?: string | null;
  /** How many items `items_url` holds when the outputs refer to them (the server reads it
   * from the engine's own reference: data in `outputs` can never pose as one). */
  items_count?: number | null;
  /** The human task this node run waits (or waited) on, opened at /inbox/<task_id>/. */
  task_id?: string | null;
  task_title?: string | null;
}

/** One item of a map node: its input, its result or error, the run that made it. */
export interface MapItem {
  index: number;
  input: unknown;
  output: unknown;
  error: { type?: string; message?: string; [key: string]: unknown } | null;
  done: boolean;
  child_run: string | null;
}

/** A keyset page of map items: pass `next_after` as `after` for the next one. */
export interface MapItemPage {
  count: number;
  next: string | null;
  next_after: number | null;
  results: MapItem[];
}

export interface RunDetail extends RunSummary {
  node_runs: NodeRunRecord[];
}

/** "Debug in editor": the test run of the draft it started with a past run's input. */
export interface DebugStart {
  run: RunDetail;
  editor_url: string;
  /** Nodes whose output in the past run was pinned in the draft. */
  pinned: string[];
  /** Node id -> why its output was not pinned. */
  not_pinned: Record<string, string>;
}

/** The graph a run ran: its version's, or its test snapshot's. */
export interface RunGraph {
  mode: RunMode;
  version: number | null;
  graph: Graph;
  /** Nodes that gave pinned data instead of running. */
  pinned: string[];
}

/** A node's output pinned in the draft: test runs use it instead of running the node. */
export interface Pin {
  node_id: string;
  outputs: Record<string, unknown>;
  source_run: string | null;
  updated_by: string | null;
  updated_at: string;
}

/** What a node of the draft last gave in a test run. */
export interface NodeTestData {
  node_id: string;
  run_id: string;
  finished_at: string | null;
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown>;
  /** The draft changed since, in this node or a node before it. */
  stale: boolean;
}

/** A workflow's webhook addresses and engine settings (editors only: they are secrets). */
export interface WorkflowRuntime {
  webhook_url: string;
  /** While the editor listens: a request here starts a test run of the draft. */
  test_webhook_url: string;
  listening_until: string | null;
  /** The test run the last request to the test URL started. */
  test_run_id: string | null;
  signing_key: string;
  max_concurrency: number | null;
  run_timeout_s: number | null;
}

/** A ready workflow of the "new workflow" dialog's gallery (GET /api/templates/). */
export interface WorkflowTemplate {
  slug: string;
  name: string;
  /** The name a draft from it takes: `name`, or "name (copy)", "name (copy 2)"… when taken. */
  free_name: string;
  description: string;
  /** Teams its approvals assign work to; `missing_teams`: those that do not exist yet. */
  teams: string[];
  missing_teams: string[];
  sample_input: Record<string, unknown>;
  graph: Graph;
}

export interface TestRunRequest {
  /** Default: the manual trigger's sample input. */
  input?: unknown;
  /** Run only this node and the nodes before it. */
  node?: string;
  /** With `node`: run the nodes before it again instead of using their latest test data. */
  rerun_upstream?: boolean;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  readonly body: Record<string, unknown>;

  constructor(status: number, body: Record<string, unknown>, fallback: string) {
    const detail = typeof body.detail === "string" ? body.detail : fallback;
    super(detail);
    this.name = "ApiError";
    this.status = status;
    this.code = typeof body.code === "string" ? body.code : status === 0 ? "network_error" : `http_${status}`;
    this.detail = detail;
    this.body = body;
  }

  /** The server could not be reached (offline, restarting, proxy error). */
  get isNetwork(): boolean {
    return this.status === 0 || this.status === 502 || this.status === 503 || this.status === 504;
  }

  get fieldErrors(): Record<string, string[]> {
    const errors = this.body.errors;
    return errors && typeof errors === "object" ? (errors as Record<string, string[]>) : {};
  }

  get problems(): Problem[] {
    return Array.isArray(this.body.problems) ? (this.body.problems as Problem[]) : [];
  }
}

/** Human text for any error, for toasts and dialogs. */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) {
    const fields = Object.entries(err.fieldErrors)
      .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(" ") : String(v)}`)
      .join("; ");
    return fields ? `${err.detail} (${fields})` : err.detail;
  }
  return err instanceof Error ? err.message : String(err);
}

export function readCookie(name: string, cookieString?: string): string | null {
  const source = cookieString ?? (typeof document !== "undefined" ? document.cookie : "");
  for (const part of source.split(";")) {
    const [k, ...rest] = part.trim().split("=");
    if (k === name) return decodeURIComponent(rest.join("="));
  }
  return null;
}

type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export function createApi(base = "/api", fetchImpl: FetchLike = (i, init) => fetch(i, init)) {
  const root = base.replace(/\/$/, "");

  async function request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (UNSAFE.has(method)) {
      const token = readCookie("csrftoken");
      if (token) headers["X-CSRFToken"] = token;
    }
    let response: Response;
    try {
      response = await fetchImpl(`${root}${path}`, {
        method,
        headers,
        credentials: "same-origin",
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
    } catch (err) {
      if (err instanceof DOMException && err.name === "AbortError") throw err;
      throw new ApiError(0, {}, "The server cannot be reached. Check your connection.");
    }
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    let data: unknown = undefined;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = { detail: text.slice(0, 200) };
      }
    }
    if (!response.ok) {
      const errBody = data && typeof data === "object" ? (data as Record<string, unknown>) : {};
      const err = new ApiError(response.status, errBody, `${method} ${path} failed with HTTP ${response.status}.`);
      if (response.status === 401 || err.code === "not_authenticated") redirectToLogin();
      throw err;
    }
    return data as T;
  }

  const q = (params: Record<string, string | number | undefined | null>) => {
    const s = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") s.set(k, String(v));
    const str = s.toString();
    return str ? `?${str}` : "";
  };
  const id = encodeURIComponent;
  /** A path the server gave (maybe absolute), as a path under this client's root. */
  const underRoot = (url: string) => {
    const path = url.replace(/^[a-z]+:\/\/[^/]+/i, "");
    return path.startsWith(`${root}/`) ? path.slice(root.length) : path;
  };

  return {
    request,
    nodeTypes: () => request<NodeTypeSpec[]>("GET", "/node-types/"),
    listTemplates: () => request<WorkflowTemplate[]>("GET", "/templates/"),
    listWorkflows: (params: { search?: string; page?: number } = {}) =>
      request<Paginated<WorkflowSummary>>("GET", `/workflows/${q(params)}`),
    createWorkflow: (body: { name: string; description?: string; graph?: Graph }) =>
      request<WorkflowDetail>("POST", "/workflows/", body),
    getWorkflow: (wf: string) => request<WorkflowDetail>("GET", `/workflows/${id(wf)}/`),
    patchWorkflow: (wf: string, body: { name?: string; description?: string; graph?: Graph; revision?: number }) =>
      request<WorkflowDetail>("PATCH", `/workflows/${id(wf)}/`, body),
    deleteWorkflow: (wf: string) => request<void>("DELETE", `/workflows/${id(wf)}/`),
    validate: (wf: string, graph: Graph, signal?: AbortSignal) =>
      request<ValidationResult>("POST", `/workflows/${id(wf)}/validate/`, { graph }, signal),
    publish: (wf: string, note: string) => request<VersionSummary>("POST", `/workflows/${id(wf)}/publish/`, { note }),
    listVersions: (wf: string, page = 1) =>
      request<Paginated<VersionSummary>>("GET", `/workflows/${id(wf)}/versions/${q({ page: page > 1 ? page : undefined })}`),
    getVersion: (wf: string, n: number) => request<VersionDetail>("GET", `/workflows/${id(wf)}/versions/${n}/`),
    restoreVersion: (wf: string, n: number) => request<WorkflowDetail>("POST", `/workflows/${id(wf)}/versions/${n}/restore/`),
    exportWorkflow: (wf: string) => request<ExportDocument>("GET", `/workflows/${id(wf)}/export/`),
    importWorkflow: (doc: unknown) => request<WorkflowDetail>("POST", "/workflows/import/", doc),
    checkExpression: (expression: string, template: boolean, signal?: AbortSignal, samples?: unknown) =>
      request<ExpressionCheck>("POST", "/expressions/check/", samples === undefined ? { expression, template } : { expression, template, samples, preview: true }, signal),
    listTritonServers: () => request<Paginated<TritonServerSummary>>("GET", "/inference/servers/?page_size=100"),
    listTritonModels: (server: number) => request<{ server: string; models: TritonModelStatus[] }>("GET", `/inference/servers/${server}/models/`),
    getTritonModel: (server: number, model: string, version = "") =>
      request<TritonModelSpec>("GET", `/inference/servers/${server}/models/${id(model)}/${q({ version })}`),
    tryTritonModel: (server: number, model: string, body: { inputs: Record<string, unknown>; version?: string; outputs?: string[] }) =>
      request<InferenceTry>("POST", `/inference/servers/${server}/models/${id(model)}/infer/`, body),
    listCredentials: () => request<Paginated<Credential> | Credential[]>("GET", "/credentials/"),
    startRun: (wf: string, input: unknown) => request<RunSummary>("POST", `/workflows/${id(wf)}/runs/`, { input }),
    /** A test run of the saved draft (not a published version). */
    startTestRun: (wf: string, body: TestRunRequest) => request<RunDetail>("POST", `/workflows/${id(wf)}/test-runs/`, body),
    testData: (wf: string) => request<{ nodes: NodeTestData[] }>("GET", `/workflows/${id(wf)}/test-data/`),
    getRuntime: (wf: string) => request<WorkflowRuntime>("GET", `/workflows/${id(wf)}/runtime/`),
    rotateSigningKey: (wf: string) => request<WorkflowRuntime>("PATCH", `/workflows/${id(wf)}/runtime/`, { rotate_signing_key: true }),
    listen: (wf: string) => request<WorkflowRuntime>("POST", `/workflows/${id(wf)}/runtime/listen/`),
    stopListening: (wf: string) => request<WorkflowRuntime>("DELETE", `/workflows/${id(wf)}/runtime/listen/`),
    getRunGraph: (runId: string) => request<RunGraph>("GET", `/runs/${id(runId)}/graph/`),
    listPins: (wf: string) => request<Pin[]>("GET", `/workflows/${id(wf)}/pins/`),
    setPin: (wf: string, nodeId: string, body: { output: unknown } | { outputs: Record<string, unknown> } | { run: string }) =>
      request<Pin>("PUT", `/workflows/${id(wf)}/pins/${id(nodeId)}/`, body),
    deletePin: (wf: string, nodeId: string) => request<void>("DELETE", `/workflows/${id(wf)}/pins/${id(nodeId)}/`),
    listRuns: (wf: string, cursor?: string | null) =>
      request<RunPage>("GET", `/runs/${q({ workflow: wf, cursor: cursor ?? undefined, limit: 30 })}`),
    /** Approve or reject a human task (a test run's task, from the run panel). */
    decideTask: (taskId: string, body: { decision: "approved" | "rejected"; comment?: string }) =>
      request<unknown>("POST", `/tasks/${id(taskId)}/decide/`, body),
    retryRun: (runId: string) => request<RunDetail>("POST", `/runs/${id(runId)}/retry/`),
    cancelRun: (runId: string) => request<RunDetail>("POST", `/runs/${id(runId)}/cancel/`),
    debugRun: (runId: string, pin: boolean) => request<DebugStart>("POST", `/runs/${id(runId)}/debug/`, { pin }),
    getRun: (runId: string) => request<RunDetail>("GET", `/runs/${id(runId)}/`),
    /** A page of a map node's items, from the node run's `items_url`. */
    listMapItems: (itemsUrl: string, params: { after?: number | null; limit?: number; failed?: boolean } = {}) =>
      request<MapItemPage>(
        "GET",
        `${underRoot(itemsUrl)}${q({ after: params.after, limit: params.limit, failed: params.failed ? "true" : undefined })}`,
      ),
  };
}

export type Api = ReturnType<typeof createApi>;

function redirectToLogin() {
  if (typeof window === "undefined" || !window.location) return;
  const next = encodeURIComponent(window.location.pathname + window.location.search);
  window.location.assign(`/login/?next=${next}`);
}

/** Results of a list endpoint that may or may not be paginated. */
export function resultsOf<T>(data: Paginated<T> | T[]): T[] {
  return Array.isArray(data) ? data : data.results;
}
