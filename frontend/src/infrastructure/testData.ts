/**
 * Keeps the store's test data of the draft current: pins, what each node last gave in
 * a test run (read again when a test run ends), and the latest published version's
 * graph (read again when a version is published), for "Draft · N changes since vN".
 * Starts "Run this node", "Run up to here" and "Debug in editor" after saving the draft.
 */
import { TERMINAL_RUN_STATUSES } from "../core/types";
import type { Api, DebugStart } from "./api";
import type { Autosave } from "./autosave";
import type { EditorStore } from "./editorStore";
import type { RunController } from "./runs";

type PinBody = Parameters<Api["setPin"]>[2];

export class TestDataController {
  private unsubscribe: (() => void) | null = null;

  constructor(
    private readonly store: EditorStore,
    private readonly api: Pick<Api, "listPins" | "testData" | "setPin" | "deletePin" | "getVersion" | "debugRun">,
    private readonly autosave: Pick<Autosave, "flush">,
    private readonly runs: Pick<RunController, "startTestRun" | "watch">,
  ) {}

  start() {
    this.unsubscribe?.();
    this.unsubscribe = this.store.subscribe((s, prev) => {
      if (s.latestVersion !== prev.latestVersion) void this.loadPublished();
      const ended = s.run && TERMINAL_RUN_STATUSES.includes(s.run.status) && (!prev.run || prev.run.runId !== s.run.runId || !TERMINAL_RUN_STATUSES.includes(prev.run.status));
      if (ended && s.run?.live) void this.loadData();
      // Whether data is stale is judged against the saved draft: read it again after a save.
      if (s.savedGraph !== prev.savedGraph && s.loaded) this.scheduleData();
    });
  }

  private timer: ReturnType<typeof setTimeout> | null = null;

  private scheduleData() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.loadData().catch(() => undefined);
    }, 300);
  }

  stop() {
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Everything, on opening the editor. Failures leave the panels empty (they say so). */
  async load(): Promise<void> {
    await Promise.all([this.loadPins(), this.loadData(), this.loadPublished()]);
  }

  async loadPins(): Promise<void> {
    const id = this.store.getState().workflowId;
    if (id) this.store.getState().setPins(await this.api.listPins(id));
  }

  async loadData(): Promise<void> {
    const id = this.store.getState().workflowId;
    if (id) this.store.getState().setNodeData((await this.api.testData(id)).nodes);
  }

  async loadPublished(): Promise<void> {
    const s = this.store.getState();
    if (!s.workflowId || !s.latestVersion) {
      s.setPublishedGraph(null);
      return;
    }
    const version = await this.api.getVersion(s.workflowId, s.latestVersion);
    const g = version.graph;
    this.store.getState().setPublishedGraph({ nodes: g.nodes ?? [], edges: g.edges ?? [], notes: g.notes ?? [] });
  }

  async pin(nodeId: string, body: PinBody): Promise<void> {
    const id = this.store.getState().workflowId;
    if (!id) return;
    this.store.getState().putPin(await this.api.setPin(id, nodeId, body));
  }

  async unpin(nodeId: string): Promise<void> {
    const id = this.store.getState().workflowId;
    if (!id) return;
    await this.api.deletePin(id, nodeId);
    this.store.getState().dropPin(nodeId);
  }

  /** "Run this node" (upstream data reused) or "Run up to here" (upstream run again). */
  async runNode(nodeId: string, rerunUpstream: boolean): Promise<void> {
    await this.autosave.flush();
    const s = this.store.getState();
    if (s.saveStatus !== "saved") throw new Error("The draft could not be saved, so it cannot be tested yet.");
    await this.runs.startTestRun({ node: nodeId, rerun_upstream: rerunUpstream });
  }

  /** "Debug in editor": a test run of the saved draft with a past run's input (its nodes'
   *  outputs pinned first when `pin`), followed on the canvas. A run of another workflow
   *  (a sub-workflow's) opens that workflow's editor instead. */
  async debugRun(runId: string, pin: boolean): Promise<DebugStart> {
    await this.autosave.flush();
    if (this.store.getState().saveStatus !== "saved") throw new Error("The draft could not be saved, so it cannot be tested yet.");
    const started = await this.api.debugRun(runId, pin);
    if (started.run.workflow !== this.store.getState().workflowId) {
      window.location.assign(started.editor_url);
      return started;
    }
    if (pin) await this.loadPins();
    await this.runs.watch(started.run.id);
    return started;
  }
}
