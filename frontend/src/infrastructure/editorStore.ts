/**
 * The editor's state: the graph (with undo history), the selection, node types, save
 * state, validation problems, the version or run being viewed, and toasts.
 *
 * Graph edits go through `applyGraph`, which records history; side effects (saving,
 * validating, live runs) live in controllers that watch this store (autosave.ts,
 * validation.ts, runs.ts), so this file stays plain and testable.
 */
import type { Comparison } from "../core/compare";
import { createStore, type StoreApi } from "zustand/vanilla";
import { copySelection, duplicateSelection, pasteClipboard, type ClipboardPayload } from "../core/clipboard";
import {
  addEdge,
  addNode,
  addNote,
  createNode,
  moveElements,
  newEdge,
  removeElements,
  updateNode,
  updateNote,
} from "../core/graph";
import { canRedo, canUndo, commit, createHistory, redo, replace, undo, type History } from "../core/history";
import { autoLayout, type Size } from "../core/layout";
import { checkConnection, type ConnectionCheck, type ConnectionRequest } from "../core/ports";
import { estimatedSize, placeNewNode } from "../core/placement";
import { portsOf } from "../core/portRules";
import { dedupeProblems } from "../core/problems";
import {
  EMPTY_SELECTION,
  emptyGraph,
  typeKey,
  type Graph,
  type GraphNode,
  type GraphNote,
  type NodeRunStatus,
  type NodeTypeSpec,
  type Position,
  type Problem,
  type RunStatus,
  type Selection,
} from "../core/types";
import type { Credential, NodeRunRecord, RunDetail, WorkflowDetail } from "./api";

export type SaveStatus = "saved" | "saving" | "dirty" | "offline" | "error" | "conflict";

export interface Conflict {
  theirs: Graph;
  currentRevision: number;
  updatedBy: string;
}

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

export interface Toast {
  id: number;
  kind: "info" | "success" | "error";
  text: string;
}

export interface ProblemIndex {
  byNode: Record<string, Problem[]>;
  byEdge: Record<string, Problem[]>;
  errorCount: number;
  warningCount: number;
}

export interface EditorState {
  workflowId: string | null;
  name: string;
  description: string;
  latestVersion: number | null;
  /** The user may not change this workflow (viewer role). */
  readOnly: boolean;
  loaded: boolean;

  nodeTypes: NodeTypeSpec[];
  typeIndex: Record<string, NodeTypeSpec>;

  history: History<Graph>;
  graph: Graph;
  selection: Selection;

  revision: number;
  /** The graph the server holds at `revision`. */
  savedGraph: Graph;
  saveStatus: SaveStatus;
  saveError: string | null;
  conflict: Conflict | null;

  problems: Problem[];
  problemIndex: ProblemIndex;
  validating: boolean;

  viewing: Viewing | null;
  run: RunOverlay | null;

  credentials: Credential[] | null;
  /** A drag is in progress: saving and validating wait for it to end. */
  dragging: boolean;
  /** A node to bring into view and select; `field`: the inspector input to focus. */
  focus: { id: string; seq: number; field?: string } | null;
  /** Where a node added from the palette by keyboard or click goes (the view's centre). */
  placement: Position;
  toasts: Toast[];
}

export interface EditorActions {
  setNodeTypes(types: NodeTypeSpec[]): void;
  loadWorkflow(detail: WorkflowDetail): void;
  setReadOnly(readOnly: boolean): void;
  lookupType(node: Pick<GraphNode, "type" | "version">): NodeTypeSpec | undefined;

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

  markSaving(): void;
  markSaved(graph: Graph, revision: number): void;
  markSaveFailed(status: "offline" | "error", message: string): void;
  setConflict(conflict: Conflict | null): void;
  acceptTheirs(): void;

  setProblems(problems: Problem[]): void;
  setValidating(v: boolean): void;
  focusNode(id: string, field?: string): void;

  view(viewing: Viewing | null): void;
  setRun(run: RunOverlay | null): void;
  updateRun(fn: (run: RunOverlay) => RunOverlay): void;
  setCredentials(c: Credential[]): void;
  setPlacement(p: Position): void;
  setMeta(meta: { name?: string; description?: string; latestVersion?: number | null }): void;
  toast(kind: Toast["kind"], text: string): void;
  dismissToast(id: number): void;
}

export type EditorStore = StoreApi<EditorState & EditorActions>;

/**
 * Keeps the previous per-node arrays when a node's problems did not change, so each
 * validation answer re-renders only the nodes whose problems changed.
 */
export function indexProblems(problems: Problem[], previous?: ProblemIndex): ProblemIndex {
  const next = buildProblemIndex(problems);
  if (!previous) return next;
  const keep = (cur: Record<string, Problem[]>, old: Record<string, Problem[]>) => {
    for (const [id, list] of Object.entries(cur)) {
      const before = old[id];
      if (before && before.length === list.length && before.every((p, i) => sameProblem(p, list[i]))) cur[id] = before;
    }
  };
  keep(next.byNode, previous.byNode);
  keep(next.byEdge, previous.byEdge);
  return next;
}

function sameProblem(a: Problem, b: Problem): boolean {
  return a.code === b.code && a.message === b.message && a.severity === b.severity && a.node_id === b.node_id && a.edge_id === b.edge_id && a.field === b.field;
}

function buildProblemIndex(problems: Problem[]): ProblemIndex {
  const byNode: Record<string, Problem[]> = {};
  const byEdge: Record<string, Problem[]> = {};
  let errorCount = 0;
  let warningCount = 0;
  for (const p of problems) {
    if (p.severity === "error") errorCount++;
    else warningCount++;
    if (p.node_id) (byNode[p.node_id] ??= []).push(p);
    if (p.edge_id) (byEdge[p.edge_id] ??= []).push(p);
  }
  return { byNode, byEdge, errorCount, warningCount };
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

/** The graph on the canvas: a version or past run being viewed, else the draft. */
export function displayedGraph(s: EditorState): Graph {
  return s.viewing ? s.viewing.graph : s.graph;
}

export function isEditable(s: EditorState): boolean {
  return !s.readOnly && s.viewing === null && s.loaded && s.conflict === null;
}

export function hasUnsavedChanges(s: EditorState): boolean {
  return s.graph !== s.savedGraph || s.saveStatus === "saving" || s.saveStatus === "conflict";
}

let toastSeq = 0;

export function createEditorStore(initial: Partial<EditorState> = {}): EditorStore {
  const graph = initial.graph ?? emptyGraph();
  // The graph as it was when the current drag started, so the whole drag is one undo step.
  let dragOrigin: Graph | null = null;
  let pasteCount = 0;

  return createStore<EditorState & EditorActions>()((set, get) => {
    const editable = () => isEditable(get());

    const apply = (next: Graph, options: { coalesce?: string; selection?: Selection } = {}) => {
      const s = get();
      if (next === s.graph && !options.selection) return;
      const history = commit(s.history, next, { coalesce: options.coalesce });
      set({ history, graph: history.present, selection: pruneSelection(history.present, options.selection ?? s.selection) });
    };

    return {
      workflowId: null,
      name: "",
      description: "",
      latestVersion: null,
      readOnly: false,
      loaded: false,
      nodeTypes: [],
      typeIndex: {},
      history: createHistory(graph),
      graph,
      selection: EMPTY_SELECTION,
      revision: 0,
      savedGraph: graph,
      saveStatus: "saved",
      saveError: null,
      conflict: null,
      problems: [],
      problemIndex: indexProblems([]),
      validating: false,
      viewing: null,
      run: null,
      credentials: null,
      dragging: false,
      focus: null,
      placement: { x: 0, y: 0 },
      toasts: [],
      ...initial,

      setNodeTypes(types) {
        const typeIndex: Record<string, NodeTypeSpec> = {};
        for (const t of types) typeIndex[typeKey(t.type, t.version)] = t;
        set({ nodeTypes: types, typeIndex });
      },

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

      lookupType(node) {
        return get().typeIndex[typeKey(node.type, node.version)];
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

      setProblems(problems) {
        const unique = dedupeProblems(problems);
        set({ problems: unique, problemIndex: indexProblems(unique, get().problemIndex) });
      },

      setValidating(validating) {
        if (get().validating !== validating) set({ validating });
      },

      focusNode(id, field) {
        const seq = (get().focus?.seq ?? 0) + 1;
        set({ focus: { id, seq, ...(field ? { field } : {}) }, selection: { nodes: [id], edges: [], notes: [] } });
      },

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

      setCredentials(credentials) {
        set({ credentials });
      },

      setPlacement(placement) {
        set({ placement });
      },

      setMeta(meta) {
        const patch: Partial<EditorState> = {};
        if (meta.name !== undefined) patch.name = meta.name;
        if (meta.description !== undefined) patch.description = meta.description;
        if (meta.latestVersion !== undefined) patch.latestVersion = meta.latestVersion;
        set(patch);
      },

      toast(kind, text) {
        const id = ++toastSeq;
        set({ toasts: [...get().toasts.slice(-4), { id, kind, text }] });
        if (typeof window !== "undefined") setTimeout(() => get().dismissToast(id), kind === "error" ? 8000 : 4000);
      },

      dismissToast(id) {
        set({ toasts: get().toasts.filter((t) => t.id !== id) });
      },
    };
  });
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
