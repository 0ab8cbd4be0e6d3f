/**
 * The workflow being edited: its identity, the draft graph with undo history, and the
 * selection. Every graph edit goes through `apply`, which records history and prunes
 * the selection; edits are refused unless the draft is editable (`isEditable`).
 */
import { copySelection, duplicateSelection, pasteClipboard, type ClipboardPayload } from "../../core/clipboard";
import { addEdge, addNode, addNote, createNode, moveElements, newEdge, removeElements, updateNode, updateNote } from "../../core/graph";
import { canRedo, canUndo, commit, createHistory, redo, replace, undo, type History } from "../../core/history";
import { autoLayout, type Size } from "../../core/layout";
import { estimatedSize, placeNewNode } from "../../core/placement";
import { checkConnection, type ConnectionCheck, type ConnectionRequest } from "../../core/ports";
import { portsOf } from "../../core/portRules";
import { EMPTY_SELECTION, emptyGraph, typeKey, type Graph, type GraphNode, type GraphNote, type Position, type Selection } from "../../core/types";
import type { WorkflowDetail } from "../api";
import { displayedGraph, isEditable, type Slice } from "./types";

export interface GraphState {
  workflowId: string | null;
  name: string;
  description: string;
  latestVersion: number | null;
  /** The user may not change this workflow (viewer role). */
  readOnly: boolean;
  loaded: boolean;

  history: History<Graph>;
  graph: Graph;
  selection: Selection;
}

export interface GraphActions {
  loadWorkflow(detail: WorkflowDetail): void;
  setReadOnly(readOnly: boolean): void;
  setMeta(meta: { name?: string; description?: string; latestVersion?: number | null }): void;

  applyGraph(next: Graph, options?: { coalesce?: string; selection?: Selection }): void;
  undo(): void;
  redo(): void;
  canUndo(): boolean;
  canRedo(): boolean;

  setSelection(selection: Selection): void;
  selectAll(): void;
  addNodeOfType(type: string, version: number, position?: Position): GraphNode | null;
  checkConnection(c: ConnectionRequest): ConnectionCheck;
  connect(c: ConnectionRequest): ConnectionCheck;
  removeSelection(): void;
  remove(selection: Partial<Selection>): void;
  moveLive(positions: Map<string, Position>): void;
  moveEnd(positions: Map<string, Position>): void;
  renameNode(id: string, name: string): void;
  setNodeConfig(id: string, config: Record<string, unknown>): void;
  addNote(position?: Position): void;
  updateNote(id: string, patch: Partial<Omit<GraphNote, "id">>, coalesce?: boolean): void;
  copy(): ClipboardPayload | null;
  paste(payload: ClipboardPayload, at?: Position): void;
  duplicate(): void;
  layout(sizes?: ReadonlyMap<string, Size>): void;
}

/** Drops selected ids that are no longer in the graph. */
function pruneSelection(graph: Graph, s: Selection): Selection {
  if (s.nodes.length + s.edges.length + s.notes.length === 0) return s;
  const n = new Set(graph.nodes.map((x) => x.id));
  const e = new Set(graph.edges.map((x) => x.id));
  const t = new Set(graph.notes.map((x) => x.id));
  const next = { nodes: s.nodes.filter((id) => n.has(id)), edges: s.edges.filter((id) => e.has(id)), notes: s.notes.filter((id) => t.has(id)) };
  return next.nodes.length === s.nodes.length && next.edges.length === s.edges.length && next.notes.length === s.notes.length ? s : next;
}

export const createGraphSlice: Slice<GraphState & GraphActions> = (set, get) => {
  // The graph as it was when the current drag started, so the whole drag is one undo step.
  let dragOrigin: Graph | null = null;
  let pasteCount = 0;
  const editable = () => isEditable(get());

  const apply = (next: Graph, options: { coalesce?: string; selection?: Selection } = {}) => {
    const s = get();
    if (next === s.graph && !options.selection) return;
    const history = commit(s.history, next, { coalesce: options.coalesce });
    set({ history, graph: history.present, selection: pruneSelection(history.present, options.selection ?? s.selection) });
  };

  const graph = emptyGraph();
  return {
    workflowId: null,
    name: "",
    description: "",
    latestVersion: null,
    readOnly: false,
    loaded: false,
    history: createHistory(graph),
    graph,
    selection: EMPTY_SELECTION,

    loadWorkflow(detail) {
      const g = detail.graph ?? emptyGraph();
      const graph: Graph = { nodes: g.nodes ?? [], edges: g.edges ?? [], notes: g.notes ?? [] };
      dragOrigin = null;
      set({
        workflowId: detail.id,
        name: detail.name,
        description: detail.description ?? "",
        latestVersion: detail.latest_version ?? null,
        revision: detail.revision,
        history: createHistory(graph),
        graph,
        savedGraph: graph,
        selection: EMPTY_SELECTION,
        saveStatus: "saved",
        saveError: null,
        conflict: null,
        loaded: true,
      });
    },

    setReadOnly(readOnly) {
      set({ readOnly });
    },

    setMeta(meta) {
      const patch: Partial<GraphState> = {};
      if (meta.name !== undefined) patch.name = meta.name;
      if (meta.description !== undefined) patch.description = meta.description;
      if (meta.latestVersion !== undefined) patch.latestVersion = meta.latestVersion;
      set(patch);
    },

    applyGraph(next, options) {
      if (!editable()) return;
      apply(next, options);
    },

    undo() {
      if (!editable()) return;
      const history = undo(get().history);
      set({ history, graph: history.present, selection: pruneSelection(history.present, get().selection) });
    },

    redo() {
      if (!editable()) return;
      const history = redo(get().history);
      set({ history, graph: history.present, selection: pruneSelection(history.present, get().selection) });
    },

    canUndo: () => canUndo(get().history),
    canRedo: () => canRedo(get().history),

    setSelection(selection) {
      const cur = get().selection;
      const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
      if (same(cur.nodes, selection.nodes) && same(cur.edges, selection.edges) && same(cur.notes, selection.notes)) return;
      set({ selection });
    },

    selectAll() {
      const g = displayedGraph(get());
      set({ selection: { nodes: g.nodes.map((n) => n.id), edges: g.edges.map((e) => e.id), notes: g.notes.map((n) => n.id) } });
    },

    addNodeOfType(type, version, position) {
      if (!editable()) return null;
      const spec = get().typeIndex[typeKey(type, version)];
      if (!spec) return null;
      const s = get();
      // Without a drop position: next to the selected node, or at the view's centre,
      // wherever it covers no other node.
      const anchor = s.selection.nodes.length === 1 ? s.graph.nodes.find((n) => n.id === s.selection.nodes[0]) : null;
      const sizeOf = (n: GraphNode) => {
        const t = s.typeIndex[typeKey(n.type, n.version)];
        const ports = t ? portsOf(t, n.config) : null;
        return estimatedSize(ports?.inputs.length ?? 1, ports?.outputs.length ?? 1);
      };
      const own = portsOf(spec, {});
      const at = position ?? placeNewNode({ nodes: s.graph.nodes, anchor, centre: s.placement, sizeOf, size: estimatedSize(own.inputs.length, own.outputs.length) });
      const node = createNode(s.graph, spec, at);
      apply(addNode(s.graph, node), { selection: { nodes: [node.id], edges: [], notes: [] } });
      return node;
    },

    checkConnection(c) {
      const s = get();
      if (!isEditable(s)) return { ok: false, reason: "This workflow is read-only here." };
      return checkConnection(s.graph, c, (n) => s.typeIndex[typeKey(n.type, n.version)]);
    },

    connect(c) {
      const result = get().checkConnection(c);
      if (!result.ok) return result;
      const g = get().graph;
      apply(addEdge(g, newEdge(g, c.source, c.sourcePort, c.target, c.targetPort)));
      return result;
    },

    removeSelection() {
      get().remove(get().selection);
    },

    remove(selection) {
      if (!editable()) return;
      apply(removeElements(get().graph, selection));
    },

    moveLive(positions) {
      if (!editable()) return;
      const s = get();
      if (!dragOrigin) dragOrigin = s.graph;
      const history = replace(s.history, moveElements(s.graph, positions));
      set({ history, graph: history.present, dragging: true });
    },

    moveEnd(positions) {
      if (!editable()) return;
      const s = get();
      const moved = moveElements(s.graph, positions);
      const from = dragOrigin ?? s.graph;
      dragOrigin = null;
      const history = commit(s.history, moved, { from });
      set({ history, graph: history.present, dragging: false });
    },

    renameNode(id, name) {
      if (!editable()) return;
      apply(updateNode(get().graph, id, { name }), { coalesce: `name:${id}` });
    },

    setNodeConfig(id, config) {
      if (!editable()) return;
      apply(updateNode(get().graph, id, { config }), { coalesce: `config:${id}` });
    },

    addNote(position) {
      if (!editable()) return;
      const s = get();
      const at = position ?? { x: s.placement.x - 110, y: s.placement.y - 70 };
      const { graph: next, note } = addNote(s.graph, at);
      apply(next, { selection: { nodes: [], edges: [], notes: [note.id] } });
    },

    updateNote(id, patch, coalesce = true) {
      if (!editable()) return;
      apply(updateNote(get().graph, id, patch), coalesce ? { coalesce: `note:${id}` } : {});
    },

    copy() {
      const s = get();
      const sel = s.selection;
      if (sel.nodes.length + sel.notes.length === 0) return null;
      pasteCount = 0;
      return copySelection(displayedGraph(s), sel);
    },

    paste(payload, at) {
      if (!editable()) return;
      pasteCount += 1;
      const result = pasteClipboard(get().graph, payload, at ? { at } : { offset: 40 * pasteCount });
      apply(result.graph, { selection: result.selection });
    },

    duplicate() {
      if (!editable()) return;
      const s = get();
      if (s.selection.nodes.length + s.selection.notes.length === 0) return;
      const result = duplicateSelection(s.graph, s.selection);
      apply(result.graph, { selection: result.selection });
    },

    layout(sizes) {
      if (!editable()) return;
      apply(autoLayout(get().graph, sizes));
    },
  };
};
