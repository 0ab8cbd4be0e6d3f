/** What the canvas shows besides the draft: a published version, a past or live run. */
import type { Comparison } from "../../core/compare";
import { EMPTY_SELECTION, type Graph, type NodeRunStatus, type RunStatus } from "../../core/types";
import type { NodeRunRecord, RunDetail } from "../api";
import type { Slice } from "./types";

/** Viewing a version read-only; with `compare`, the canvas colours what differs from
 *  another version or the draft (`graph` is then the comparison's union graph). */
export type Viewing =
  | { kind: "version"; number: number; note: string; graph: Graph; compare?: { label: string; result: Comparison } }
  | { kind: "run"; runId: string; version: number | null; graph: Graph };

export interface NodeRunState {
  status: NodeRunStatus;
  attempt: number;
  error?: { type: string; message: string } | null;
}

export interface RunOverlay {
  runId: string;
  status: RunStatus;
  error?: unknown;
  version: number | null;
  live: boolean;
  nodes: Record<string, NodeRunState>;
  detail: RunDetail | null;
}

export interface ViewState {
  viewing: Viewing | null;
  run: RunOverlay | null;
}

export interface ViewActions {
  view(viewing: Viewing | null): void;
  setRun(run: RunOverlay | null): void;
  updateRun(fn: (run: RunOverlay) => RunOverlay): void;
}

/** Node-run records from the API as the overlay's per-node state. */
export function nodeStatesFrom(records: NodeRunRecord[]): Record<string, NodeRunState> {
  const out: Record<string, NodeRunState> = {};
  for (const r of records) {
    const prev = out[r.node_id];
    if (!prev || r.attempt >= prev.attempt) out[r.node_id] = { status: r.status, attempt: r.attempt, error: r.error };
  }
  return out;
}

export const createViewSlice: Slice<ViewState & ViewActions> = (set, get) => ({
  viewing: null,
  run: null,

  view(viewing) {
    set({ viewing, selection: EMPTY_SELECTION });
  },

  setRun(run) {
    set({ run });
  },

  updateRun(fn) {
    const run = get().run;
    if (run) set({ run: fn(run) });
  },
});
