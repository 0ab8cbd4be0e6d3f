/**
 * The editor's store: one zustand store combined from slices by concern, as n8n splits
 * its stores (slices/): the graph being edited with its undo history and selection,
 * saving, validation problems, what the canvas views (a version, a run), transient UI
 * state, the catalogue of node types and credentials, and the test data of the draft
 * (pins, what each node last gave in a test run).
 *
 * Side effects (saving, validating, live runs) live in controllers that watch this
 * store (autosave.ts, validation.ts, runs.ts), so the slices stay plain and testable.
 */
import { createHistory } from "../core/history";
import { emptyGraph } from "../core/types";
import { createStore, type StoreApi } from "zustand/vanilla";
import { createCatalogueSlice } from "./slices/catalogueSlice";
import { createGraphSlice } from "./slices/graphSlice";
import { createProblemsSlice } from "./slices/problemsSlice";
import { createSavingSlice } from "./slices/savingSlice";
import { createTestDataSlice } from "./slices/testDataSlice";
import type { EditorState, EditorStoreState } from "./slices/types";
import { createUiSlice } from "./slices/uiSlice";
import { createViewSlice } from "./slices/viewSlice";

export type { CatalogueActions, CatalogueState } from "./slices/catalogueSlice";
export type { GraphActions, GraphState } from "./slices/graphSlice";
export { indexProblems, type ProblemIndex, type ProblemsActions, type ProblemsState } from "./slices/problemsSlice";
export { changesSincePublished, hasUnsavedChanges, type Conflict, type SaveStatus, type SavingActions, type SavingState } from "./slices/savingSlice";
export { displayedGraph, isEditable, type EditorActions, type EditorState } from "./slices/types";
export { outputsOf, type TestDataActions, type TestDataState } from "./slices/testDataSlice";
export type { Toast, UiActions, UiState } from "./slices/uiSlice";
export { nodeStatesFrom, type NodeRunState, type RunOverlay, type Viewing, type ViewActions, type ViewState } from "./slices/viewSlice";

export type EditorStore = StoreApi<EditorStoreState>;

export function createEditorStore(initial: Partial<EditorState> = {}): EditorStore {
  const graph = initial.graph ?? emptyGraph();
  return createStore<EditorStoreState>()((...a) => ({
    ...createGraphSlice(...a),
    ...createSavingSlice(...a),
    ...createProblemsSlice(...a),
    ...createViewSlice(...a),
    ...createUiSlice(...a),
    ...createCatalogueSlice(...a),
    ...createTestDataSlice(...a),
    history: createHistory(graph),
    graph,
    savedGraph: graph,
    ...initial,
  }));
}
