/**
 * Saves the draft graph a moment after each change (PATCH with the revision it was based
 * on). A stale revision (409) opens the conflict dialog instead of overwriting anyone;
 * network failures retry with backoff; nothing is dropped silently.
 */
import { jsonEqual } from "../core/diff";
import type { Graph } from "../core/types";
import { ApiError, errorMessage, type Api } from "./api";
import type { EditorStore } from "./editorStore";

export const AUTOSAVE_DELAY_MS = 800;
const RETRY_DELAYS_MS = [2000, 4000, 8000, 15000, 30000];

export class Autosave {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private inflight: Promise<void> | null = null;
  private failures = 0;
  private unsubscribe: (() => void) | null = null;

  constructor(
    private readonly store: EditorStore,
    private readonly api: Pick<Api, "patchWorkflow">,
    private readonly delay = AUTOSAVE_DELAY_MS,
  ) {}

  start(): this {
    this.unsubscribe = this.store.subscribe((s, prev) => {
      if ((s.graph !== prev.graph || prev.dragging) && !s.dragging) this.changed();
    });
    return this;
  }

  stop() {
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private changed() {
    const s = this.store.getState();
    if (s.readOnly || s.conflict || !s.workflowId) return;
    if (s.graph === s.savedGraph) {
      if (s.saveStatus === "dirty") this.store.setState({ saveStatus: "saved" });
    } else if (s.saveStatus === "saved" || s.saveStatus === "error") {
      this.store.setState({ saveStatus: "dirty" });
    }
    this.schedule(this.delay);
  }

  private schedule(ms: number) {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.save();
    }, ms);
  }

  /** Saves now (Ctrl+S, before publishing or leaving). Resolves when nothing is pending. */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.inflight) await this.inflight;
    await this.save();
  }

  private async save(): Promise<void> {
    if (this.inflight) {
      // A change arrived while saving; save again once this one is done.
      await this.inflight;
      return this.save();
    }
    const s = this.store.getState();
    if (!s.workflowId || s.readOnly || s.conflict) return;
    if (s.graph === s.savedGraph) {
      if (s.saveStatus !== "saved") this.store.setState({ saveStatus: "saved", saveError: null });
      return;
    }
    const graph = s.graph;
    this.store.getState().markSaving();
    this.inflight = this.send(s.workflowId, graph, s.revision);
    try {
      await this.inflight;
    } finally {
      this.inflight = null;
    }
  }

  private async send(workflowId: string, graph: Graph, revision: number): Promise<void> {
    const store = this.store.getState();
    try {
      const detail = await this.api.patchWorkflow(workflowId, { graph, revision });
      this.failures = 0;
      store.markSaved(graph, detail.revision);
      if (this.store.getState().graph !== graph) this.schedule(this.delay);
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) {
        const body = err.body as { graph?: Graph; current_revision?: number; updated_by?: string };
        const theirs = body.graph ?? { nodes: [], edges: [], notes: [] };
        const currentRevision = typeof body.current_revision === "number" ? body.current_revision : revision;
        if (jsonEqual(theirs, graph)) {
          // Someone saved exactly what we have: nothing to decide.
          store.markSaved(graph, currentRevision);
          return;
        }
        store.setConflict({ theirs, currentRevision, updatedBy: body.updated_by ?? "someone else" });
        return;
      }
      if (err instanceof ApiError && err.isNetwork) {
        const wait = RETRY_DELAYS_MS[Math.min(this.failures, RETRY_DELAYS_MS.length - 1)];
        this.failures += 1;
        store.markSaveFailed("offline", errorMessage(err));
        this.schedule(wait);
        return;
      }
      store.markSaveFailed("error", errorMessage(err));
    }
  }
}
