import { describe, expect, it } from "vitest";
import type { TaskSummary } from "./inboxApi";
import { applyPage, applyTaskEvent, belongsTo, initialListState, neighbour, sortRows, type ListState, type Me } from "./inboxState";

const ME: Me = { id: 1, teamIds: ["team-a"], isAdmin: false };

function task(over: Partial<TaskSummary> = {}): TaskSummary {
  return {
    id: "t1",
    title: "Refund R-1",
    workflow: { id: "wf", name: "Refunds" },
    run_id: "run",
    node_id: "review",
    status: "open",
    due_at: null,
    overdue: false,
    created_at: "2026-01-01T10:00:00Z",
    claimed_by: null,
    assignees: { users: [{ id: 1, username: "ann" }], teams: [] },
    is_test: false,
    ...over,
  };
}

function loaded(rows: TaskSummary[], counts = { mine: rows.length, team: 0, overdue: 0 }, tab: ListState["tab"] = "mine"): ListState {
  return { ...applyPage(initialListState(tab), { results: rows, count: rows.length, counts }), snapshotSeq: 10 };
}

describe("belongsTo", () => {
  it("puts named, unclaimed tasks in mine and team tasks in team", () => {
    expect(belongsTo(task(), "mine", ME)).toBe(true);
    const teamTask = task({ assignees: { users: [], teams: [{ id: "team-a", name: "A" }] } });
    expect(belongsTo(teamTask, "mine", ME)).toBe(false);
    expect(belongsTo(teamTask, "team", ME)).toBe(true);
    expect(belongsTo({ ...teamTask, claimed_by: { id: 1, username: "ann" } }, "mine", ME)).toBe(true);
    expect(belongsTo({ ...teamTask, claimed_by: { id: 2, username: "bob" } }, "team", ME)).toBe(false);
  });

  it("keeps decided tasks out of the open tabs and cannot tell done alone", () => {
    const decided = task({ status: "approved" });
    expect(belongsTo(decided, "mine", ME)).toBe(false);
    expect(belongsTo(decided, "done", ME)).toBeNull();
    expect(belongsTo(task({ overdue: true }), "overdue", ME)).toBe(true);
  });
});

describe("applyTaskEvent", () => {
  it("drops events at or below the snapshot's seq", () => {
    const state = loaded([]);
    const r = applyTaskEvent(state, { event: "task", seq: 10, change: "updated", task: task() }, ME);
    expect(r.applied).toBe(false);
    expect(r.state).toBe(state);
  });

  it("drops everything until the snapshot arrives", () => {
    const state = { ...loaded([]), snapshotSeq: null };
    expect(applyTaskEvent(state, { event: "task", seq: 99, change: "updated", task: task() }, ME).applied).toBe(false);
  });

  it("drops a late event older than the task's last one", () => {
    let state = loaded([]);
    state = applyTaskEvent(state, { event: "task", seq: 13, change: "updated", task: task({ title: "new" }) }, ME).state;
    const late = applyTaskEvent(state, { event: "task", seq: 12, change: "updated", task: task({ title: "old" }) }, ME);
    expect(late.applied).toBe(false);
    expect(late.state.rows[0].title).toBe("new");
  });

  it("inserts a new task in order and counts it", () => {
    const early = task({ id: "a", due_at: "2026-01-02T00:00:00Z" });
    const late = task({ id: "c", due_at: "2026-01-04T00:00:00Z" });
    const state = loaded([early, late]);
    const r = applyTaskEvent(state, { event: "task", seq: 11, change: "updated", task: task({ id: "b", due_at: "2026-01-03T00:00:00Z" }) }, ME);
    expect(r.state.rows.map((t) => t.id)).toEqual(["a", "b", "c"]);
    expect(r.state.count).toBe(3);
    expect(r.state.counts.mine).toBe(3);
  });

  it("updates a row in place without counting it twice", () => {
    const state = loaded([task()]);
    const r = applyTaskEvent(state, { event: "task", seq: 11, change: "updated", task: task({ title: "Changed" }) }, ME);
    expect(r.state.rows).toHaveLength(1);
    expect(r.state.rows[0].title).toBe("Changed");
    expect(r.state.counts.mine).toBe(1);
  });

  it("takes a decided task out of the tab and its count", () => {
    const state = loaded([task()]);
    const r = applyTaskEvent(state, { event: "task", seq: 11, change: "updated", task: task({ status: "approved" }) }, ME);
    expect(r.state.rows).toEqual([]);
    expect(r.state.count).toBe(0);
    expect(r.state.counts.mine).toBe(0);
  });

  it("removes a task the user may no longer see", () => {
    const state = loaded([task()]);
    const r = applyTaskEvent(state, { event: "task", seq: 11, change: "removed", task: { id: "t1" } }, ME);
    expect(r.state.rows).toEqual([]);
    expect(r.state.counts.mine).toBe(0);
    expect(r.state.known.t1).toBeUndefined();
  });

  it("moves counts between tabs when a team task is claimed by me", () => {
    const teamTask = task({ assignees: { users: [], teams: [{ id: "team-a", name: "A" }] } });
    const state = loaded([teamTask], { mine: 0, team: 1, overdue: 0 }, "team");
    const r = applyTaskEvent(state, { event: "task", seq: 11, change: "updated", task: { ...teamTask, claimed_by: { id: 1, username: "ann" } } }, ME);
    expect(r.state.counts).toEqual({ mine: 1, team: 0, overdue: 0 });
    expect(r.state.rows).toEqual([]);
  });

  it("leaves out a new task that does not match the filters", () => {
    const state = { ...loaded([]), filters: { ordering: "due_at" as const, page: 1, workflow: "other" } };
    const r = applyTaskEvent(state, { event: "task", seq: 11, change: "updated", task: task() }, ME);
    expect(r.state.rows).toEqual([]);
    expect(r.state.counts.mine).toBe(1);
  });
});

describe("sortRows and neighbour", () => {
  it("sorts by due time with tasks without one last, and by age", () => {
    const rows = [task({ id: "none" }), task({ id: "late", due_at: "2026-02-01T00:00:00Z" }), task({ id: "soon", due_at: "2026-01-05T00:00:00Z" })];
    expect(sortRows(rows, "due_at").map((t) => t.id)).toEqual(["soon", "late", "none"]);
    const aged = [task({ id: "new", created_at: "2026-01-03T00:00:00Z" }), task({ id: "old", created_at: "2026-01-01T00:00:00Z" })];
    expect(sortRows(aged, "created_at").map((t) => t.id)).toEqual(["old", "new"]);
    expect(sortRows(aged, "-created_at").map((t) => t.id)).toEqual(["new", "old"]);
  });

  it("steps through rows and stops at the ends", () => {
    const rows = [task({ id: "a" }), task({ id: "b" })];
    expect(neighbour(rows, null, 1)).toBe("a");
    expect(neighbour(rows, "a", 1)).toBe("b");
    expect(neighbour(rows, "b", 1)).toBe("b");
    expect(neighbour(rows, "b", -1)).toBe("a");
    expect(neighbour([], null, 1)).toBeNull();
  });
});
