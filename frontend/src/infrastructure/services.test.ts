import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { loadedStore, sampleGraph } from "../test/fixtures";
import { ApiError, createApi, readCookie, type Api, type RunDetail } from "./api";
import { canEdit } from "./boot";
import { RunController } from "./runs";
import { ValidationController } from "./validation";
import type { SocketLike } from "./ws";

describe("API client", () => {
  it("sends JSON with the CSRF cookie on unsafe methods only", async () => {
    vi.stubGlobal("document", { cookie: "sessionid=abc; csrftoken=tok%3D1" });
    const calls: [string, RequestInit][] = [];
    const fetchImpl = async (url: string, init?: RequestInit) => {
      calls.push([url, init!]);
      return new Response(JSON.stringify({ valid: true, problems: [] }), { status: 200 });
    };
    const api = createApi("/api", fetchImpl);
    await api.validate("wf 1", sampleGraph());
    await api.listWorkflows({ search: "inv", page: 2 });
    expect(calls[0][0]).toBe("/api/workflows/wf%201/validate/");
    expect((calls[0][1].headers as Record<string, string>)["X-CSRFToken"]).toBe("tok=1");
    expect(calls[0][1].credentials).toBe("same-origin");
    expect(JSON.parse(calls[0][1].body as string).graph.nodes).toHaveLength(4);
    expect(calls[1][0]).toBe("/api/workflows/?search=inv&page=2");
    expect((calls[1][1].headers as Record<string, string>)["X-CSRFToken"]).toBeUndefined();
    vi.unstubAllGlobals();
  });

  it("turns error bodies into ApiError with the server's code and message", async () => {
    const api = createApi("/api", async () =>
      new Response(JSON.stringify({ code: "not_published", detail: "Publish the workflow before running it." }), { status: 400 }),
    );
    const err = await api.startRun("wf", {}).catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.code).toBe("not_published");
    expect(err.message).toBe("Publish the workflow before running it.");
    const offline = await createApi("/api", async () => {
      throw new TypeError("Failed to fetch");
    })
      .getWorkflow("x")
      .catch((e) => e);
    expect(offline.isNetwork).toBe(true);
  });

  it("reads cookies and roles", () => {
    expect(readCookie("csrftoken", "a=1; csrftoken=xyz")).toBe("xyz");
    expect(readCookie("missing", "a=1")).toBeNull();
    expect(canEdit({ user: { username: "v", roles: ["viewer"] } })).toBe(false);
    expect(canEdit({ user: { username: "e", roles: ["viewer", "editor"] } })).toBe(true);
  });
});

describe("validation controller", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("validates the draft after changes and keeps only the latest answer", async () => {
    const store = loadedStore();
    const answers: ((v: { valid: boolean; problems: never[] | { code: string; message: string; severity: "error"; node_id: string }[] }) => void)[] = [];
    const validate = vi.fn<Api["validate"]>().mockImplementation(() => new Promise((r) => answers.push(r)));
    new ValidationController(store, { validate }, 400).start();
    store.getState().renameNode("a", "1");
    await vi.advanceTimersByTimeAsync(400);
    store.getState().renameNode("a", "12");
    await vi.advanceTimersByTimeAsync(400);
    expect(validate).toHaveBeenCalledTimes(2);
    answers[1]({ valid: false, problems: [{ code: "c", message: "new", severity: "error", node_id: "a" }] });
    answers[0]({ valid: true, problems: [] });
    await vi.advanceTimersByTimeAsync(0);
    expect(store.getState().problems.map((p) => p.message)).toEqual(["new"]);
    expect(store.getState().problemIndex.errorCount).toBe(1);
  });

  it("does not ask a read-only page's server to validate (validate is for editors)", async () => {
    const store = loadedStore();
    store.getState().setReadOnly(true);
    const validate = vi.fn<Api["validate"]>().mockResolvedValue({ valid: true, problems: [] });
    const controller = new ValidationController(store, { validate }, 400).start();
    controller.schedule(0);
    await vi.advanceTimersByTimeAsync(400);
    expect(validate).not.toHaveBeenCalled();
  });
});

class FakeSocket implements SocketLike {
  static last: FakeSocket;
  onopen: SocketLike["onopen"] = null;
  onmessage: SocketLike["onmessage"] = null;
  onclose: SocketLike["onclose"] = null;
  onerror: SocketLike["onerror"] = null;
  closed = false;
  constructor(readonly url: string) {
    FakeSocket.last = this;
  }
  send(msg: object) {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }
  close() {
    this.closed = true;
  }
}

describe("run controller", () => {
  it("follows a test run of the draft over the socket and colours nodes by status", async () => {
    vi.stubGlobal("window", { location: { protocol: "https:", host: "weft.example" } });
    const store = loadedStore();
    const run: RunDetail = {
      id: "run-1", workflow: "wf-1", version: null, mode: "test", status: "queued", trigger: "manual", created_at: "", started_at: null,
      finished_at: null, error: null, node_runs: [],
    };
    const api = {
      startTestRun: vi.fn<Api["startTestRun"]>().mockResolvedValue(run),
      getRunGraph: vi.fn<Api["getRunGraph"]>(),
      getRun: vi.fn<Api["getRun"]>().mockResolvedValue({
        ...run, status: "failed", node_runs: [
          { node_id: "start", status: "succeeded", attempt: 1, inputs: {}, outputs: { out: 1 }, error: null, started_at: null, finished_at: null },
          { node_id: "a", status: "failed", attempt: 2, inputs: { in: 1 }, outputs: null, error: { type: "Boom", message: "no" }, started_at: null, finished_at: null },
        ],
      }),
      getVersion: vi.fn<Api["getVersion"]>(),
    };
    const runs = new RunController(store, api, (url) => new FakeSocket(url));
    await runs.startTestRun({ input: { amount: 1 } });
    expect(api.startTestRun).toHaveBeenCalledWith("wf-1", { input: { amount: 1 } });
    expect(FakeSocket.last.url).toBe("wss://weft.example/ws/runs/run-1/");
    FakeSocket.last.send({ event: "snapshot", run: { ...run, status: "running", node_runs: [{ node_id: "start", status: "running", attempt: 1 }] } });
    expect(store.getState().run!.nodes.start.status).toBe("running");
    FakeSocket.last.send({ event: "node", run_id: "run-1", node_id: "start", status: "succeeded", attempt: 1 });
    FakeSocket.last.send({ event: "node", run_id: "other", node_id: "a", status: "running", attempt: 1 });
    expect(store.getState().run!.nodes.start.status).toBe("succeeded");
    expect(store.getState().run!.nodes.a).toBeUndefined();
    FakeSocket.last.send({ event: "run", run_id: "run-1", status: "failed" });
    await new Promise((r) => setTimeout(r, 0));
    const overlay = store.getState().run!;
    expect(overlay.status).toBe("failed");
    expect(overlay.nodes.a).toMatchObject({ status: "failed", attempt: 2 });
    expect(overlay.detail!.node_runs).toHaveLength(2);
    runs.close();
    expect(store.getState().run).toBeNull();
    vi.unstubAllGlobals();
  });

  it("drops events older than its snapshot, so the canvas never goes backwards", async () => {
    vi.stubGlobal("window", { location: { protocol: "https:", host: "weft.example" } });
    const store = loadedStore();
    const run: RunDetail = {
      id: "run-2", workflow: "wf-1", version: null, mode: "test", status: "running", trigger: "manual", created_at: "", started_at: null,
      finished_at: null, error: null, node_runs: [],
    };
    const api = {
      startTestRun: vi.fn<Api["startTestRun"]>().mockResolvedValue(run),
      getRunGraph: vi.fn<Api["getRunGraph"]>(),
      getRun: vi.fn<Api["getRun"]>().mockResolvedValue(run),
      getVersion: vi.fn<Api["getVersion"]>(),
    };
    const runs = new RunController(store, api, (url) => new FakeSocket(url));
    await runs.startTestRun({});
    // The snapshot already shows "a" succeeded (its events 3 and 4)...
    FakeSocket.last.send({ event: "snapshot", seq: 4, run: { ...run, node_runs: [{ node_id: "a", status: "succeeded", attempt: 1 }] } });
    // ...and those events, published before it was read, arrive after it.
    FakeSocket.last.send({ event: "node", run_id: "run-2", node_id: "a", status: "running", attempt: 1, seq: 3 });
    FakeSocket.last.send({ event: "node", run_id: "run-2", node_id: "a", status: "succeeded", attempt: 1, seq: 4 });
    expect(store.getState().run!.nodes.a.status).toBe("succeeded");
    // Newer events apply; one that overtook an older one is not undone by it.
    FakeSocket.last.send({ event: "node", run_id: "run-2", node_id: "b", status: "succeeded", attempt: 1, seq: 6 });
    FakeSocket.last.send({ event: "node", run_id: "run-2", node_id: "b", status: "running", attempt: 1, seq: 5 });
    expect(store.getState().run!.nodes.b.status).toBe("succeeded");
    // Events without a number (an older server) still apply.
    FakeSocket.last.send({ event: "node", run_id: "run-2", node_id: "c", status: "running", attempt: 1 });
    expect(store.getState().run!.nodes.c.status).toBe("running");
    // A reconnect's snapshot is the new base.
    FakeSocket.last.send({ event: "snapshot", seq: 9, run: { ...run, node_runs: [{ node_id: "c", status: "failed", attempt: 1 }] } });
    FakeSocket.last.send({ event: "node", run_id: "run-2", node_id: "c", status: "running", attempt: 1, seq: 8 });
    expect(store.getState().run!.nodes.c.status).toBe("failed");
    runs.close();
    vi.unstubAllGlobals();
  });

  it("opens a past run on the graph of the version it ran, read-only", async () => {
    const store = loadedStore();
    const versionGraph = { nodes: [sampleGraph().nodes[0]], edges: [], notes: [] };
    const done: RunDetail = {
      id: "run-0", workflow: "wf-1", version: 1, status: "succeeded", trigger: "api", created_at: "", started_at: null,
      finished_at: null, error: null,
      node_runs: [{ node_id: "start", status: "succeeded", attempt: 1, inputs: {}, outputs: {}, error: null, started_at: null, finished_at: null }],
    };
    const api = {
      startTestRun: vi.fn<Api["startTestRun"]>(),
      getRunGraph: vi.fn<Api["getRunGraph"]>(),
      getRun: vi.fn<Api["getRun"]>().mockResolvedValue(done),
      getVersion: vi.fn<Api["getVersion"]>().mockResolvedValue({ number: 1, note: "", created_by: null, created_at: "", graph: versionGraph }),
    };
    const factory = vi.fn((url: string) => new FakeSocket(url));
    const runs = new RunController(store, api, factory);
    await runs.openRun("run-0");
    expect(store.getState().viewing).toMatchObject({ kind: "run", runId: "run-0", graph: versionGraph });
    expect(store.getState().run!.nodes.start.status).toBe("succeeded");
    expect(factory).not.toHaveBeenCalled(); // a finished run needs no socket
    store.getState().addNodeOfType("core.noop", 1);
    expect(store.getState().graph.nodes).toHaveLength(4); // read-only while viewing
    runs.close();
    expect(store.getState().viewing).toBeNull();
  });

  it("opens a past test run on the test snapshot it ran", async () => {
    const store = loadedStore();
    const snapshot = { nodes: [sampleGraph().nodes[0], sampleGraph().nodes[1]], edges: [], notes: [] };
    const done: RunDetail = {
      id: "run-t", workflow: "wf-1", version: null, mode: "test", status: "succeeded", trigger: "manual", created_at: "", started_at: null,
      finished_at: null, error: null, node_runs: [],
    };
    const api = {
      startTestRun: vi.fn<Api["startTestRun"]>(),
      getRun: vi.fn<Api["getRun"]>().mockResolvedValue(done),
      getVersion: vi.fn<Api["getVersion"]>(),
      getRunGraph: vi.fn<Api["getRunGraph"]>().mockResolvedValue({ mode: "test", version: null, graph: snapshot, pinned: [] }),
    };
    const runs = new RunController(store, api, (url) => new FakeSocket(url));
    await runs.openRun("run-t");
    expect(api.getVersion).not.toHaveBeenCalled();
    expect(store.getState().viewing).toMatchObject({ kind: "run", runId: "run-t", version: null, graph: snapshot });
  });
});
