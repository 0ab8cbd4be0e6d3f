/**
 * The workflow canvas: xyflow bound to the editor store. Every edit goes through a store
 * action (one undo step each); xyflow only reports what the user did.
 */
import {
  Background,
  BackgroundVariant,
  Controls,
  MiniMap,
  Panel,
  ReactFlow,
  ReactFlowProvider,
  useReactFlow,
  type Connection,
  type Edge,
  type EdgeChange,
  type IsValidConnection,
  type NodeChange,
  type OnDelete,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { useCallback, useEffect, useMemo, useRef, useState, type DragEvent } from "react";
import type { Position as XY, Selection } from "../../core/types";
import { useActions, useEditor, useServices } from "../../infrastructure/context";
import { displayedGraph, isEditable } from "../../infrastructure/editorStore";
import { Icon } from "../../ui/Icon";
import { edgeTypes, nodeTypes } from "./nodeTypes";
import { FlowAdapter, isNoteFlowId, noteIdOf, type FlowNode } from "./toFlow";
import "./canvas.css";

export const NODE_TYPE_MIME = "application/x-weft-node-type";

const MINIMAP_COLORS: Record<string, string> = {
  succeeded: "#16a34a",
  failed: "#dc2626",
  running: "#2563eb",
  queued: "#94a3b8",
  waiting: "#d97706",
};

function CanvasInner() {
  const { store } = useServices();
  const actions = useActions();
  const flow = useReactFlow();
  const graph = useEditor(displayedGraph);
  const selection = useEditor((s) => s.selection);
  const editable = useEditor(isEditable);
  const problemsByEdge = useEditor((s) => (s.viewing ? null : s.problemIndex.byEdge));
  const focus = useEditor((s) => s.focus);
  const viewingKey = useEditor((s) => (s.viewing ? `${s.viewing.kind}:${s.viewing.kind === "version" ? `${s.viewing.number}${s.viewing.compare ? `/${s.viewing.compare.label}` : ""}` : s.viewing.runId}` : "draft"));
  const adapter = useRef(new FlowAdapter()).current;
  const [measuredVersion, setMeasuredVersion] = useState(0);
  const wrapper = useRef<HTMLDivElement>(null);
  // Fit the view to what the page opened with; on an empty canvas xyflow would otherwise
  // fit (and zoom) to the first node dropped, moving it away from where it was dropped.
  const [fitOnOpen] = useState(() => graph.nodes.length + graph.notes.length > 0);

  // measuredVersion is a dependency on purpose: new sizes must reach the node objects.
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const nodes = useMemo(() => adapter.nodes(graph, selection, editable), [adapter, graph, selection, editable, measuredVersion]);
  const edgeChanges = useEditor((s) => (s.viewing?.kind === "version" ? s.viewing.compare?.result.edges : undefined));
  const edges = useMemo(() => {
    const drawn = adapter.edges(graph, selection, problemsByEdge);
    if (!edgeChanges) return drawn;
    // Comparing versions: added, removed and changed edges in their colour.
    return drawn.map((e) => (edgeChanges[e.id] ? { ...e, className: `${e.className ?? ""} diff-${edgeChanges[e.id]}`.trim() } : e));
  }, [adapter, graph, selection, problemsByEdge, edgeChanges]);

  const onNodesChange = useCallback(
    (changes: NodeChange<FlowNode>[]) => {
      const live = new Map<string, XY>();
      const done = new Map<string, XY>();
      let selectionChanged = false;
      const sel = store.getState().selection;
      const nodeSel = new Set(sel.nodes);
      const noteSel = new Set(sel.notes);
      let sizesChanged = false;
      for (const c of changes) {
        if (c.type === "position" && c.position) {
          const id = isNoteFlowId(c.id) ? noteIdOf(c.id) : c.id;
          const p = { x: Math.round(c.position.x), y: Math.round(c.position.y) };
          if (c.dragging) live.set(id, p);
          else done.set(id, p);
        } else if (c.type === "dimensions" && c.dimensions) {
          if (isNoteFlowId(c.id)) {
            if (c.resizing !== undefined || c.setAttributes) {
              const size = { width: Math.round(c.dimensions.width), height: Math.round(c.dimensions.height) };
              actions.updateNote(noteIdOf(c.id), { size });
            }
          } else {
            const prev = adapter.measured.get(c.id);
            if (!prev || prev.width !== c.dimensions.width || prev.height !== c.dimensions.height) {
              adapter.measured.set(c.id, { width: c.dimensions.width, height: c.dimensions.height });
              sizesChanged = true;
            }
          }
        } else if (c.type === "select") {
          selectionChanged = true;
          const target = isNoteFlowId(c.id) ? noteSel : nodeSel;
          const id = isNoteFlowId(c.id) ? noteIdOf(c.id) : c.id;
          if (c.selected) target.add(id);
          else target.delete(id);
        }
      }
      if (live.size) actions.moveLive(live);
      if (done.size) actions.moveEnd(done);
      if (selectionChanged) actions.setSelection({ ...store.getState().selection, nodes: [...nodeSel], notes: [...noteSel] });
      if (sizesChanged) setMeasuredVersion((v) => v + 1);
    },
    [actions, adapter, store],
  );

  const onEdgesChange = useCallback(
    (changes: EdgeChange<Edge>[]) => {
      const sel = store.getState().selection;
      const edgeSel = new Set(sel.edges);
      let changed = false;
      for (const c of changes) {
        if (c.type === "select") {
          changed = true;
          if (c.selected) edgeSel.add(c.id);
          else edgeSel.delete(c.id);
        }
      }
      if (changed) actions.setSelection({ ...store.getState().selection, edges: [...edgeSel] });
    },
    [actions, store],
  );

  const onDelete: OnDelete<FlowNode, Edge> = useCallback(
    ({ nodes: gone, edges: goneEdges }) => {
      const removal: Selection = { nodes: [], edges: goneEdges.map((e) => e.id), notes: [] };
      for (const n of gone) {
        if (isNoteFlowId(n.id)) removal.notes.push(noteIdOf(n.id));
        else removal.nodes.push(n.id);
      }
      actions.remove(removal);
    },
    [actions],
  );

  const isValidConnection: IsValidConnection<Edge> = useCallback(
    (c) =>
      actions.checkConnection({ source: c.source, sourcePort: c.sourceHandle ?? "", target: c.target, targetPort: c.targetHandle ?? "" }).ok,
    [actions],
  );

  const onConnect = useCallback(
    (c: Connection) => {
      const result = actions.connect({ source: c.source, sourcePort: c.sourceHandle ?? "", target: c.target, targetPort: c.targetHandle ?? "" });
      if (!result.ok) actions.toast("error", result.reason);
    },
    [actions],
  );

  const onDragOver = useCallback((e: DragEvent) => {
    if (e.dataTransfer.types.includes(NODE_TYPE_MIME)) {
      e.preventDefault();
      e.dataTransfer.dropEffect = "copy";
    }
  }, []);

  const onDrop = useCallback(
    (e: DragEvent) => {
      const raw = e.dataTransfer.getData(NODE_TYPE_MIME);
      if (!raw) return;
      e.preventDefault();
      try {
        const { type, version } = JSON.parse(raw) as { type: string; version: number };
        const p = flow.screenToFlowPosition({ x: e.clientX, y: e.clientY });
        actions.addNodeOfType(type, version, { x: p.x - 110, y: p.y - 24 });
      } catch {
        /* not ours */
      }
    },
    [actions, flow],
  );

  const rememberCentre = useCallback(() => {
    const rect = wrapper.current?.getBoundingClientRect();
    if (!rect) return;
    const p = flow.screenToFlowPosition({ x: rect.left + rect.width / 2, y: rect.top + rect.height / 2 });
    actions.setPlacement({ x: Math.round(p.x), y: Math.round(p.y) });
  }, [actions, flow]);

  // Focus requests from the problems list and elsewhere.
  useEffect(() => {
    if (!focus) return;
    const node = flow.getNode(focus.id);
    if (!node) return;
    void flow.fitView({ nodes: [{ id: focus.id }], duration: 300, maxZoom: 1.2, padding: 0.6 });
  }, [focus, flow]);

  // Switching between the draft, a version and a past run: show the whole graph, once per
  // switch (`flow` changes identity when the viewport initialises; that is no switch).
  const fittedKey = useRef<string | null>(null);
  useEffect(() => {
    if (fittedKey.current === viewingKey) return;
    const t = setTimeout(() => {
      fittedKey.current = viewingKey;
      // On an empty canvas xyflow would queue the fit until the first node appears and
      // then move that node away from where it was dropped.
      if (flow.getNodes().length) void flow.fitView({ padding: 0.2, maxZoom: 1.2, duration: 200 });
      rememberCentre();
    }, 50);
    return () => clearTimeout(t);
  }, [viewingKey, flow, rememberCentre]);

  const layout = useCallback(() => {
    actions.layout(adapter.measured);
    setTimeout(() => void flow.fitView({ padding: 0.2, maxZoom: 1.2, duration: 300 }), 30);
  }, [actions, adapter, flow]);

  // Past a few hundred nodes, skip mounting the ones outside the view.
  const many = nodes.length > 300;
  const empty = graph.nodes.length === 0 && graph.notes.length === 0;

  return (
    <div className="canvas" ref={wrapper} onDragOver={onDragOver} onDrop={onDrop}>
      <ReactFlow<FlowNode, Edge>
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        edgeTypes={edgeTypes}
        onNodesChange={onNodesChange}
        onEdgesChange={onEdgesChange}
        onDelete={onDelete}
        onConnect={onConnect}
        isValidConnection={isValidConnection}
        onMoveEnd={rememberCentre}
        onInit={rememberCentre}
        nodesDraggable={editable}
        nodesConnectable={editable}
        edgesReconnectable={false}
        elementsSelectable
        deleteKeyCode={editable ? ["Delete", "Backspace"] : null}
        multiSelectionKeyCode={["Meta", "Control"]}
        onlyRenderVisibleElements={many}
        minZoom={0.1}
        maxZoom={2}
        fitView={fitOnOpen}
        fitViewOptions={{ padding: 0.2, maxZoom: 1.2 }}
        defaultEdgeOptions={{ type: "weft" }}
        proOptions={{ hideAttribution: true }}
        snapToGrid
        snapGrid={[8, 8]}
      >
        {editable ? (
          <Panel position="top-left" className="canvas-tools">
            <button type="button" className="btn btn-default" onClick={layout} aria-label="Arrange nodes automatically" title="Arrange nodes automatically">
              <Icon name="layout" /> <span>Auto layout</span>
            </button>
            <button type="button" className="btn btn-default" onClick={() => actions.addNote()} aria-label="Add a sticky note" title="Add a sticky note">
              <Icon name="note" /> <span>Note</span>
            </button>
          </Panel>
        ) : null}
        <Background variant={BackgroundVariant.Dots} gap={16} size={1} />
        <Controls showInteractive={false} aria-label="Zoom controls" />
        <MiniMap
          pannable
          zoomable
          ariaLabel="Minimap"
          nodeColor={(n) => {
            const status = store.getState().run?.nodes[n.id]?.status;
            if (status && MINIMAP_COLORS[status]) return MINIMAP_COLORS[status];
            return n.type === "note" ? "#fde68a" : "#cbd5e1";
          }}
        />
      </ReactFlow>
      {empty ? (
        <div className="canvas-empty" role="note">
          <strong>{editable ? "Drag a trigger from the palette to start" : "This workflow is empty"}</strong>
          {editable ? <span>Then connect its output to the next step. Press Ctrl+Z to undo anything.</span> : null}
        </div>
      ) : null}
    </div>
  );
}

export function Canvas() {
  return (
    <ReactFlowProvider>
      <CanvasInner />
    </ReactFlowProvider>
  );
}
