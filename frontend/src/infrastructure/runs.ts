/**
 * Test runs and past runs on the canvas: starts a run, follows it over the WebSocket
 * and keeps the per-node statuses in the store's run overlay.
 */
import { TERMINAL_RUN_STATUSES } from "../core/types";
import type { Api, RunDetail, TestRunRequest } from "./api";
import { nodeStatesFrom, type EditorStore, type RunOverlay } from "./editorStore";
import { isStale, RunSocket, type RunEvent, type SocketFactory } from "./ws";

export class RunController {
  private socket: RunSocket | null = null;
  /** The number of the last event the overlay shows (the snapshot's, then each event's). */
  private seq = 0;

  constructor(
    private readonly store: EditorStore,
    private readonly api: Pick<Api, "startTestRun" | "getRun" | "getVersion" | "getRunGraph">,
    private readonly socketFactory?: SocketFactory,
  ) {}

  /**
   * Starts a test run of the saved draft (all of it, or one node and the nodes before
   * it) and follows it on the canvas; the server's refusal (problems in the draft)
   * propagates. The caller saves the draft first.
   */
  async startTestRun(request: TestRunRequest = {}): Promise<RunDetail | null> {
    const s = this.store.getState();
    if (!s.workflowId) return null;
    const detail = await this.api.startTestRun(s.workflowId, request);
    // Back to the draft (a past run may be open); the selection stays when already there.
    if (this.store.getState().viewing) this.store.getState().view(null);
    this.follow(overlayFrom(detail, true));
    return detail;
  }

  /** Follows a test run of the draft that started elsewhere (a request to the test URL). */
  async watch(runId: string): Promise<void> {
    const detail = await this.api.getRun(runId);
    if (this.store.getState().viewing) this.store.getState().view(null);
    this.follow(overlayFrom(detail, true));
  }

  /** Opens a past run on the canvas, on the graph it ran (its version, or its test snapshot). */
  async openRun(runId: string): Promise<void> {
    const detail = await this.api.getRun(runId);
    const s = this.store.getState();
    if (detail.version !== null && detail.version !== undefined && s.workflowId) {
      const version = await this.api.getVersion(s.workflowId, detail.version);
      this.store.getState().view({ kind: "run", runId, version: detail.version, graph: version.graph });
    } else {
      const ran = await this.api.getRunGraph(runId);
      this.store.getState().view({ kind: "run", runId, version: null, graph: ran.graph });
    }
    this.follow(overlayFrom(detail, false));
  }

  private follow(overlay: RunOverlay) {
    this.socket?.close();
    this.socket = null;
    this.store.getState().setRun(overlay);
    this.seq = 0;
    if (TERMINAL_RUN_STATUSES.includes(overlay.status) && overlay.detail) return;
    this.socket = new RunSocket(overlay.runId, { onEvent: (e) => this.onEvent(e), factory: this.socketFactory });
  }

  onEvent(event: RunEvent) {
    const store = this.store.getState();
    const run = store.run;
    if (!run) return;
    if (event.event === "snapshot" ? event.run.id !== run.runId : event.run_id !== run.runId) return;
    // Older than the snapshot (or than an event applied already): shown, or outdated.
    if (isStale(event, this.seq)) return;
    if (typeof event.seq === "number") this.seq = event.seq;
    if (event.event === "snapshot") {
      store.setRun({ ...overlayFrom(event.run, run.live) });
    } else if (event.event === "node") {
      store.updateRun((r) => ({
        ...r,
        nodes: { ...r.nodes, [event.node_id]: { status: event.status, attempt: event.attempt, error: event.error ?? null } },
      }));
    } else if (event.event === "run") {
      store.updateRun((r) => ({ ...r, status: event.status, error: event.error ?? r.error }));
      if (TERMINAL_RUN_STATUSES.includes(event.status)) void this.refresh();
    }
  }

  /** Re-reads the run (inputs and outputs are not sent over the socket). */
  async refresh(): Promise<RunDetail | null> {
    const run = this.store.getState().run;
    if (!run) return null;
    const detail = await this.api.getRun(run.runId);
    const current = this.store.getState().run;
    if (current && current.runId === detail.id) {
      this.store.getState().setRun({ ...overlayFrom(detail, current.live) });
    }
    return detail;
  }

  close() {
    this.socket?.close();
    this.socket = null;
    const s = this.store.getState();
    s.setRun(null);
    if (s.viewing?.kind === "run") s.view(null);
  }
}

export function overlayFrom(detail: RunDetail, live: boolean): RunOverlay {
  return {
    runId: detail.id,
    status: detail.status,
    version: detail.version,
    error: detail.error,
    live,
    nodes: nodeStatesFrom(detail.node_runs ?? []),
    detail,
  };
}
