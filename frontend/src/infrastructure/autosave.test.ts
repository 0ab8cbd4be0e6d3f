import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { TYPES, sampleGraph } from "../test/fixtures";
import { ApiError, type Api, type WorkflowDetail } from "./api";
import { Autosave } from "./autosave";
import { createEditorStore } from "./editorStore";

type Patch = Api["patchWorkflow"];

function setup(patch: Patch) {
  const store = createEditorStore();
  store.getState().setNodeTypes(TYPES);
  store.getState().loadWorkflow({
    id: "wf-1", name: "W", description: "", is_active: true, revision: 1, latest_version: null, owner: null,
    created_at: "", updated_at: "", graph: sampleGraph(),
  });
  const autosave = new Autosave(store, { patchWorkflow: patch }, 800).start();
  return { store, autosave };
}

const ok = (revision: number) => ({ revision }) as WorkflowDetail;

describe("autosave", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("saves once, 800 ms after the last change, with the revision it was based on", async () => {
    const patch = vi.fn<Patch>().mockResolvedValue(ok(2));
    const { store } = setup(patch);
    store.getState().renameNode("a", "x");
    expect(store.getState().saveStatus).toBe("dirty");
    await vi.advanceTimersByTimeAsync(500);
    store.getState().renameNode("a", "xy");
    await vi.advanceTimersByTimeAsync(700);
    expect(patch).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(200);
    expect(patch).toHaveBeenCalledTimes(1);
    expect(patch.mock.calls[0][1]).toMatchObject({ revision: 1 });
    expect(patch.mock.calls[0][1].graph!.nodes[1].name).toBe("xy");
    expect(store.getState().saveStatus).toBe("saved");
    expect(store.getState().revision).toBe(2);
  });

  it("saves changes made while a save was in flight afterwards, with the new revision", async () => {
    let resolve!: (d: WorkflowDetail) => void;
    const patch = vi.fn<Patch>().mockImplementationOnce(() => new Promise((r) => (resolve = r))).mockResolvedValue(ok(3));
    const { store } = setup(patch);
    store.getState().renameNode("a", "one");
    await vi.advanceTimersByTimeAsync(800);
    expect(store.getState().saveStatus).toBe("saving");
    store.getState().addNodeOfType("core.noop", 1);
    resolve(ok(2));
    await vi.advanceTimersByTimeAsync(0);
    expect(store.getState().saveStatus).toBe("dirty");
    await vi.advanceTimersByTimeAsync(800);
    expect(patch).toHaveBeenCalledTimes(2);
    expect(patch.mock.calls[1][1].revision).toBe(2);
    expect(store.getState().saveStatus).toBe("saved");
    expect(store.getState().revision).toBe(3);
  });

  it("opens a conflict on 409 and does not overwrite", async () => {
    const theirs = { ...sampleGraph(), nodes: sampleGraph().nodes.slice(0, 2) };
    const patch = vi.fn<Patch>().mockRejectedValue(
      new ApiError(409, { code: "stale_revision", detail: "Stale", current_revision: 5, graph: theirs, updated_by: "bob" }, ""),
    );
    const { store } = setup(patch);
    store.getState().renameNode("a", "mine");
    await vi.advanceTimersByTimeAsync(800);
    const s = store.getState();
    expect(s.saveStatus).toBe("conflict");
    expect(s.conflict).toEqual({ theirs, currentRevision: 5, updatedBy: "bob" });
    expect(s.graph.nodes[1].name).toBe("mine"); // my edit is kept
    await vi.advanceTimersByTimeAsync(10000);
    expect(patch).toHaveBeenCalledTimes(1); // no retry loop
  });

  it("treats a 409 whose graph equals mine as saved", async () => {
    const patch = vi.fn<Patch>();
    const { store } = setup(patch);
    store.getState().renameNode("a", "same");
    const mine = store.getState().graph;
    patch.mockRejectedValue(new ApiError(409, { code: "stale_revision", current_revision: 9, graph: structuredClone(mine), updated_by: "me" }, ""));
    await vi.advanceTimersByTimeAsync(800);
    expect(store.getState().saveStatus).toBe("saved");
    expect(store.getState().revision).toBe(9);
  });

  it("shows 'offline' and retries with backoff when the server is unreachable", async () => {
    const patch = vi
      .fn<Patch>()
      .mockRejectedValueOnce(new ApiError(0, {}, "down"))
      .mockRejectedValueOnce(new ApiError(503, {}, "down"))
      .mockResolvedValue(ok(2));
    const { store } = setup(patch);
    store.getState().renameNode("a", "x");
    await vi.advanceTimersByTimeAsync(800);
    expect(store.getState().saveStatus).toBe("offline");
    await vi.advanceTimersByTimeAsync(2000);
    expect(patch).toHaveBeenCalledTimes(2);
    expect(store.getState().saveStatus).toBe("offline");
    await vi.advanceTimersByTimeAsync(4000);
    expect(patch).toHaveBeenCalledTimes(3);
    expect(store.getState().saveStatus).toBe("saved");
  });

  it("reports other errors without retrying, and flush() saves at once", async () => {
    const patch = vi.fn<Patch>().mockRejectedValueOnce(new ApiError(400, { code: "invalid", detail: "Unknown field 'x'." }, "")).mockResolvedValue(ok(2));
    const { store, autosave } = setup(patch);
    store.getState().renameNode("a", "x");
    await autosave.flush();
    expect(store.getState().saveStatus).toBe("error");
    expect(store.getState().saveError).toContain("Unknown field");
    await autosave.flush();
    expect(store.getState().saveStatus).toBe("saved");
  });

  it("undoing back to the saved graph needs no save", async () => {
    const patch = vi.fn<Patch>().mockResolvedValue(ok(2));
    const { store } = setup(patch);
    store.getState().renameNode("a", "x");
    store.getState().undo();
    expect(store.getState().saveStatus).toBe("saved");
    await vi.advanceTimersByTimeAsync(2000);
    expect(patch).not.toHaveBeenCalled();
  });
});

describe("autosave during a drag", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("waits for the drag to end, then saves the final position once", async () => {
    const patch = vi.fn<Patch>().mockResolvedValue(ok(2));
    const { store } = setup(patch);
    for (let i = 1; i <= 20; i++) {
      store.getState().moveLive(new Map([["a", { x: 200 + i, y: 0 }]]));
      await vi.advanceTimersByTimeAsync(100);
    }
    expect(patch).not.toHaveBeenCalled();
    store.getState().moveEnd(new Map([["a", { x: 300, y: 0 }]]));
    await vi.advanceTimersByTimeAsync(800);
    expect(patch).toHaveBeenCalledTimes(1);
    expect(patch.mock.calls[0][1].graph!.nodes[1].position).toEqual({ x: 300, y: 0 });
  });
});
