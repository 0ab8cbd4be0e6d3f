/** The draft as the server holds it: revision, save status, an edit conflict. */
import { draftChanges, type DraftChange } from "../../core/diff";
import { createHistory } from "../../core/history";
import { EMPTY_SELECTION, emptyGraph, type Graph } from "../../core/types";
import type { Slice } from "./types";

export type SaveStatus = "saved" | "saving" | "dirty" | "offline" | "error" | "conflict";

export interface Conflict {
  theirs: Graph;
  currentRevision: number;
  updatedBy: string;
}

export interface SavingState {
  revision: number;
  /** The graph the server holds at `revision`. */
  savedGraph: Graph;
  saveStatus: SaveStatus;
  saveError: string | null;
  conflict: Conflict | null;
  /** The latest published version's graph (null: never published, or not read yet). */
  publishedGraph: Graph | null;
}

export interface SavingActions {
  markSaving(): void;
  markSaved(graph: Graph, revision: number): void;
  markSaveFailed(status: "offline" | "error", message: string): void;
  setConflict(conflict: Conflict | null): void;
  acceptTheirs(): void;
  setPublishedGraph(graph: Graph | null): void;
}

export function hasUnsavedChanges(s: SavingState & { graph: Graph }): boolean {
  return s.graph !== s.savedGraph || s.saveStatus === "saving" || s.saveStatus === "conflict";
}

export const createSavingSlice: Slice<SavingState & SavingActions> = (set, get) => ({
  revision: 0,
  savedGraph: emptyGraph(),
  saveStatus: "saved",
  saveError: null,
  conflict: null,
  publishedGraph: null,

  markSaving() {
    set({ saveStatus: "saving", saveError: null });
  },

  markSaved(savedGraph, revision) {
    const s = get();
    set({ savedGraph, revision, saveStatus: s.graph === savedGraph ? "saved" : "dirty", saveError: null });
  },

  markSaveFailed(status, message) {
    set({ saveStatus: status, saveError: message });
  },

  setConflict(conflict) {
    set(conflict ? { conflict, saveStatus: "conflict" } : { conflict: null, saveStatus: get().graph === get().savedGraph ? "saved" : "dirty" });
  },

  acceptTheirs() {
    const c = get().conflict;
    if (!c) return;
    const graph: Graph = { nodes: c.theirs.nodes ?? [], edges: c.theirs.edges ?? [], notes: c.theirs.notes ?? [] };
    set({
      history: createHistory(graph),
      graph,
      savedGraph: graph,
      revision: c.currentRevision,
      conflict: null,
      saveStatus: "saved",
      saveError: null,
      selection: EMPTY_SELECTION,
    });
  },

  setPublishedGraph(publishedGraph) {
    set({ publishedGraph });
  },
});

const NO_CHANGES: DraftChange[] = [];
// Graphs are immutable: the answer for a (draft, published) pair never changes, and
// selectors ask on every store update.
const changesMemo = new WeakMap<Graph, { published: Graph; changes: DraftChange[] }>();

/** What the draft changes since the latest published version (empty when never published). */
export function changesSincePublished(s: SavingState & { graph: Graph }): DraftChange[] {
  if (!s.publishedGraph) return NO_CHANGES;
  const hit = changesMemo.get(s.graph);
  if (hit && hit.published === s.publishedGraph) return hit.changes;
  const changes = draftChanges(s.publishedGraph, s.graph);
  changesMemo.set(s.graph, { published: s.publishedGraph, changes });
  return changes;
}
