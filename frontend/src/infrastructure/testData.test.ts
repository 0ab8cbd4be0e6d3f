import { describe, expect, it, vi } from "vitest";
import { loadedStore } from "../test/fixtures";
import type { DebugStart, RunDetail } from "./api";
import { TestDataController } from "./testData";

function started(workflow: string): DebugStart {
  const run = { id: "run-2", workflow, version: null, status: "succeeded", trigger: "manual", mode: "test",
    created_at: "", started_at: null, finished_at: null, error: null, node_runs: [] } as unknown as RunDetail;
  return { run, editor_url: `/editor/${workflow}/?run=run-2`, pinned: ["a"], not_pinned: {} };
}

function controller(store: ReturnType<typeof loadedStore>, answer: DebugStart) {
  const order: string[] = [];
  const api = {
    listPins: vi.fn(async () => { order.push("pins"); return []; }),
    testData: vi.fn(), setPin: vi.fn(), deletePin: vi.fn(), getVersion: vi.fn(),
    debugRun: vi.fn(async () => { order.push("debug"); return answer; }),
  };
  const autosave = { flush: vi.fn(async () => { order.push("save"); }) };
  const runs = { startTestRun: vi.fn(), watch: vi.fn(async () => { order.push("watch"); }) };
  return { order, api, runs, testData: new TestDataController(store, api as never, autosave, runs as never) };
}

describe("Debug in editor", () => {
  it("saves the draft, starts the debug run, reloads pins, then follows the test run", async () => {
    const store = loadedStore();
    const { order, api, runs, testData } = controller(store, started("wf-1"));
    await testData.debugRun("run-1", true);
    expect(api.debugRun).toHaveBeenCalledWith("run-1", true);
    expect(runs.watch).toHaveBeenCalledWith("run-2");
    expect(order).toEqual(["save", "debug", "pins", "watch"]);
  });

  it("does not start anything when the draft could not be saved", async () => {
    const store = loadedStore();
    store.setState({ saveStatus: "error" } as never);
    const { api, testData } = controller(store, started("wf-1"));
    await expect(testData.debugRun("run-1", false)).rejects.toThrow("could not be saved");
    expect(api.debugRun).not.toHaveBeenCalled();
  });
});
