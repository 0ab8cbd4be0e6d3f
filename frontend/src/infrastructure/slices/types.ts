/**
 * How the editor store is cut: one slice per concern (graph, saving, problems, view, UI,
 * catalogue, test data), each a `StateCreator` over the whole store so that an action may read or
 * write another slice's state when one user action spans two concerns (loading a
 * workflow sets both the graph and what was saved).
 */
import type { StateCreator } from "zustand/vanilla";
import type { CatalogueActions, CatalogueState } from "./catalogueSlice";
import type { GraphActions, GraphState } from "./graphSlice";
import type { ProblemsActions, ProblemsState } from "./problemsSlice";
import type { SavingActions, SavingState } from "./savingSlice";
import type { TestDataActions, TestDataState } from "./testDataSlice";
import type { UiActions, UiState } from "./uiSlice";
import type { ViewActions, ViewState } from "./viewSlice";

export type EditorState = GraphState & SavingState & ProblemsState & ViewState & UiState & CatalogueState & TestDataState;
export type EditorActions = GraphActions & SavingActions & ProblemsActions & ViewActions & UiActions & CatalogueActions & TestDataActions;
export type EditorStoreState = EditorState & EditorActions;

export type Slice<T> = StateCreator<EditorStoreState, [], [], T>;

/** The graph on the canvas: a version or past run being viewed, else the draft. */
export function displayedGraph(s: EditorState) {
  return s.viewing ? s.viewing.graph : s.graph;
}

export function isEditable(s: EditorState): boolean {
  return !s.readOnly && s.viewing === null && s.loaded && s.conflict === null;
}
