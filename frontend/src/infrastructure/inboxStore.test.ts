import { describe, expect, it, vi } from "vitest";
import { ApiError } from "./api";
import type { InboxApi, TaskDetail, TaskPage, TaskSummary } from "./inboxApi";
import { InboxSocket } from "./inboxSocket";
import { actionErrorText, createInboxStore } from "./inboxStore";
import type { SocketLike } from "./ws";

const ME = { id: 1, teamIds: [], isAdmin: false };

function summary(id: string, over: Partial<TaskSummary> = {}): TaskSummary {
  return {
    id, title: `Task ${id}`, workflow: { id: "wf", name: "W" }, run_id: "r", node_id: "n", status: "open", due_at: null,
    overdue: false, created_at: "2026-01-01T00:00:00Z", claimed_by: null,
    assignees: { users: [{ id: 1, username: "ann" }], teams: [] }, is_test: false, ...over,
  };
}

function fakeApi(pages: (() => Promise<TaskPage>)[], detail?: Partial<TaskDetail>) {
  const listTasks = vi.fn(() => pages.shift()!());
  const getTask = vi.fn(async (id: string) => ({ ...summary(id), ...detail }) as TaskDetail);
  const decide = vi.fn(async () => {
    throw new ApiError(409, { code: "already_decided", decided_by: "bob", decided_at: "2026-01-01T16:40:00", status: "approved", detail: "x" }, "");
  });
  return { api: { listTasks, getTask, decide } as unknown as InboxApi, listTasks, getTask, decide };
}

describe("inbox store", () => {
  it("names who decided a task and when from the server's 409", () => {
    const err = new ApiError(409, { code: "already_decided", decided_by: "bob", decided_at: "2026-01-01T16:40:00", status: "approved" }, "");
    expect(actionErrorText(err)).toMatch(/^Already decided by bob at (16:40|04:40 PM) \(approved\)\.$/);
    expect(actionErrorText(new ApiError(400, { detail: "Invalid input.", errors: { comment: ["A rejection needs a comment."] } }, ""))).toBe(
      "Invalid input. (comment: A rejection needs a comment.)",
    );
  });

  it("shows the 409 on the open task and reads it again", async () => {
    const { api, getTask } = fakeApi([async () => ({ results: [], count: 0, next: null, previous: null, counts: {} })]);
    const store = createInboxStore(api, ME, { openId: "t1" });
    expect(await store.getState().decide("approved", "", {})).toBe(false);
    expect(store.getState().actionError).toMatch(/Already decided by bob/);
    expect(getTask).toHaveBeenCalledWith("t1");
  });

  it("applies events that arrive while a page is read on top of that page", async () => {
    let resolve: (page: TaskPage) => void = () => undefined;
    const { api } = fakeApi([() => new Promise<TaskPage>((r) => (resolve = r))]);
    const store = createInboxStore(api, ME);
    store.getState().onEvent({ event: "snapshot", seq: 5 }); // starts a load
    store.getState().onEvent({ event: "task", seq: 6, change: "updated", task: summary("new") });
    resolve({ results: [summary("old")], count: 1, next: null, previous: null, counts: { mine: 1, team: 0, overdue: 0 } });
    await vi.waitFor(() => expect(store.getState().loading).toBe(false));
    expect(store.getState().list.rows.map((r) => r.id).sort()).toEqual(["new", "old"]);
    expect(store.getState().list.counts.mine).toBe(2);
  });

  it("reads the page again when events arrived while it was read", async () => {
    vi.useFakeTimers();
    let resolve: (page: TaskPage) => void = () => undefined;
    const again = vi.fn(async () => ({ results: [], count: 0, next: null, previous: null, counts: {} }));
    const { api, listTasks } = fakeApi([() => new Promise<TaskPage>((r) => (resolve = r)), again]);
    const store = createInboxStore(api, ME);
    store.getState().onEvent({ event: "snapshot", seq: 5 });
    store.getState().onEvent({ event: "task", seq: 6, change: "updated", task: summary("new") });
    resolve({ results: [], count: 0, next: null, previous: null, counts: {} });
    await vi.runAllTimersAsync();
    expect(listTasks).toHaveBeenCalledTimes(2);
    vi.useRealTimers();
  });

  it("reads the open task again when an event names it", async () => {
    const { api, getTask } = fakeApi([async () => ({ results: [], count: 0, next: null, previous: null, counts: {} })]);
    const store = createInboxStore(api, ME, { openId: "t1" });
    store.setState({ list: { ...store.getState().list, snapshotSeq: 1 } });
    store.getState().onEvent({ event: "task", seq: 2, change: "updated", task: summary("t1", { status: "approved" }) });
    store.getState().onEvent({ event: "task", seq: 3, change: "updated", task: summary("t2") });
    expect(getTask).toHaveBeenCalledTimes(1);
  });
});

describe("inbox socket", () => {
  it("reconnects with a growing delay until closed", () => {
    vi.useFakeTimers();
    const sockets: SocketLike[] = [];
    const factory = () => {
      const s: SocketLike = { onopen: null, onmessage: null, onclose: null, onerror: null, close: vi.fn() };
      sockets.push(s);
      return s;
    };
    const events: unknown[] = [];
    const socket = new InboxSocket({ onEvent: (e) => events.push(e), factory, url: "ws://x/ws/inbox/" });
    sockets[0].onmessage?.({ data: JSON.stringify({ event: "snapshot", seq: 3 }) });
    expect(events).toEqual([{ event: "snapshot", seq: 3 }]);
    sockets[0].onclose?.({});
    vi.advanceTimersByTime(999);
    expect(sockets).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(sockets).toHaveLength(2);
    sockets[1].onclose?.({});
    vi.advanceTimersByTime(1999);
    expect(sockets).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(sockets).toHaveLength(3);
    socket.close();
    sockets[2].onclose?.({});
    vi.advanceTimersByTime(60_000);
    expect(sockets).toHaveLength(3);
    vi.useRealTimers();
  });
});
