/**
 * The inbox list's state changes as pure functions (the store calls them; tests call them
 * directly): which tab a task belongs to, a live event applied to the rows and the counts,
 * and the rule that events older than the socket's snapshot are dropped.
 */
import type { Counts, Ordering, Tab, TaskSummary } from "./inboxApi";

export interface Me {
  id: number;
  teamIds: string[];
  isAdmin: boolean;
}

export interface ListFilters {
  workflow?: string;
  team?: string;
  search?: string;
  ordering: Ordering;
  page: number;
}

export interface ListState {
  tab: Tab;
  filters: ListFilters;
  rows: TaskSummary[];
  count: number;
  counts: Counts;
  /** Every summary seen (from pages and events): what a task was before an event. */
  known: Record<string, TaskSummary>;
  /** The socket's snapshot: events with a seq at or below it are already in what we read. */
  snapshotSeq: number | null;
  /** The last seq applied per task, so an event that arrives late changes nothing. */
  taskSeq: Record<string, number>;
}

export type TaskEvent =
  | { event: "snapshot"; seq: number }
  | { event: "task"; seq: number; change: "updated" | "removed"; task: TaskSummary | { id: string } };

export const COUNTED_TABS: Tab[] = ["mine", "team", "overdue"];

export function initialListState(tab: Tab = "mine"): ListState {
  return { tab, filters: { ordering: "due_at", page: 1 }, rows: [], count: 0, counts: {}, known: {}, snapshotSeq: null, taskSeq: {} };
}

/** Whether a task is in a tab for this user; null when a summary cannot tell ("done"
 * needs the votes, which only the server reads). Mirrors apps/approvals/selectors.py. */
export function belongsTo(task: TaskSummary, tab: Tab, me: Me): boolean | null {
  const open = task.status === "open";
  const named = task.assignees.users.some((u) => u.id === me.id);
  const viaTeam = task.assignees.teams.some((t) => me.teamIds.includes(t.id));
  const visible = me.isAdmin || named || viaTeam;
  if (!visible) return false;
  switch (tab) {
    case "mine":
      return open && (task.claimed_by ? task.claimed_by.id === me.id : named);
    case "team":
      return open && !task.claimed_by && viaTeam;
    case "overdue":
      return open && task.overdue;
    case "done":
      return open ? false : null;
    case "all":
      return true;
  }
}

export function matchesFilters(task: TaskSummary, filters: ListFilters): boolean {
  if (filters.workflow && task.workflow.id !== filters.workflow) return false;
  if (filters.team && !task.assignees.teams.some((t) => t.id === filters.team)) return false;
  // The server also searches the context; a title that does not match is left to the refetch.
  if (filters.search && !task.title.toLowerCase().includes(filters.search.toLowerCase())) return false;
  return true;
}

function sortKey(task: TaskSummary, ordering: Ordering): number {
  const field = ordering.replace("-", "") as "due_at" | "created_at";
  const value = task[field];
  if (!value) return ordering.startsWith("-") ? -Infinity : Infinity; // no due time: last
  return new Date(value).getTime();
}

export function sortRows(rows: TaskSummary[], ordering: Ordering): TaskSummary[] {
  const sign = ordering.startsWith("-") ? -1 : 1;
  return [...rows].sort((a, b) => {
    const ka = sortKey(a, ordering);
    const kb = sortKey(b, ordering);
    if (ka !== kb) return ka < kb ? -sign : sign;
    return a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : 0;
  });
}

/** A page read from the server replaces the rows and counts. */
export function applyPage(state: ListState, page: { results: TaskSummary[]; count: number; counts: Counts }): ListState {
  const known = { ...state.known };
  for (const t of page.results) known[t.id] = t;
  return { ...state, rows: page.results, count: page.count, counts: { ...page.counts }, known };
}

export function applySnapshot(state: ListState, seq: number): ListState {
  return { ...state, snapshotSeq: seq };
}

export interface EventResult {
  state: ListState;
  /** False when the event was dropped (older than the snapshot or than the task's last one). */
  applied: boolean;
  taskId: string | null;
}

/** One live event: upsert or remove the row, adjust the counts by what changed. */
export function applyTaskEvent(state: ListState, event: TaskEvent, me: Me): EventResult {
  if (event.event === "snapshot") return { state: applySnapshot(state, event.seq), applied: true, taskId: null };
  const id = event.task.id;
  if (state.snapshotSeq === null || event.seq <= state.snapshotSeq) return { state, applied: false, taskId: id };
  if ((state.taskSeq[id] ?? -1) >= event.seq) return { state, applied: false, taskId: id };
  const before = state.known[id];
  const after = event.change === "removed" ? undefined : (event.task as TaskSummary);

  const counts: Counts = { ...state.counts };
  for (const tab of COUNTED_TABS) {
    const was = before ? belongsTo(before, tab, me) === true : false;
    const is = after ? belongsTo(after, tab, me) === true : false;
    if (was !== is) counts[tab] = Math.max(0, (counts[tab] ?? 0) + (is ? 1 : -1));
  }

  let rows = state.rows;
  let count = state.count;
  const index = rows.findIndex((r) => r.id === id);
  const inTab = after ? belongsTo(after, state.tab, me) : false;
  const fits = after ? matchesFilters(after, state.filters) : false;
  if (after && (inTab === true || (inTab === null && index >= 0)) && fits) {
    if (index >= 0) {
      rows = rows.map((r) => (r.id === id ? after : r));
    } else if (state.filters.page === 1) {
      rows = sortRows([...rows, after], state.filters.ordering);
      count += 1;
    } else {
      count += 1;
    }
  } else if (index >= 0) {
    rows = rows.filter((r) => r.id !== id);
    count = Math.max(0, count - 1);
  }

  const known = { ...state.known };
  if (after) known[id] = after;
  else delete known[id];
  return {
    state: { ...state, rows, count, counts, known, taskSeq: { ...state.taskSeq, [id]: event.seq } },
    applied: true,
    taskId: id,
  };
}

/** The task after or before `currentId` in the rows (j/k), or the first one. */
export function neighbour(rows: TaskSummary[], currentId: string | null, step: 1 | -1): string | null {
  if (!rows.length) return null;
  const index = currentId ? rows.findIndex((r) => r.id === currentId) : -1;
  if (index < 0) return rows[step === 1 ? 0 : rows.length - 1].id;
  const next = index + step;
  if (next < 0 || next >= rows.length) return rows[index].id;
  return rows[next].id;
}
