/** Transient interface state: a drag in progress, focus requests, placement, toasts. */
import type { Position } from "../../core/types";
import type { Slice } from "./types";

export interface Toast {
  id: number;
  kind: "info" | "success" | "error";
  text: string;
}

export interface UiState {
  /** A drag is in progress: saving and validating wait for it to end. */
  dragging: boolean;
  /** A node to bring into view and select; `field`: the inspector input to focus. */
  focus: { id: string; seq: number; field?: string } | null;
  /** Where a node added from the palette by keyboard or click goes (the view's centre). */
  placement: Position;
  toasts: Toast[];
}

export interface UiActions {
  focusNode(id: string, field?: string): void;
  setPlacement(p: Position): void;
  toast(kind: Toast["kind"], text: string): void;
  dismissToast(id: number): void;
}

let toastSeq = 0;

export const createUiSlice: Slice<UiState & UiActions> = (set, get) => ({
  dragging: false,
  focus: null,
  placement: { x: 0, y: 0 },
  toasts: [],

  focusNode(id, field) {
    const seq = (get().focus?.seq ?? 0) + 1;
    set({ focus: { id, seq, ...(field ? { field } : {}) }, selection: { nodes: [id], edges: [], notes: [] } });
  },

  setPlacement(placement) {
    set({ placement });
  },

  toast(kind, text) {
    const id = ++toastSeq;
    set({ toasts: [...get().toasts.slice(-4), { id, kind, text }] });
    if (typeof window !== "undefined") setTimeout(() => get().dismissToast(id), kind === "error" ? 8000 : 4000);
  },

  dismissToast(id) {
    set({ toasts: get().toasts.filter((t) => t.id !== id) });
  },
});
