/**
 * Pure graph operations. Every function returns a new Graph and keeps the identity of
 * nodes, edges and notes it did not change, so the canvas can skip re-rendering them.
 */
import { newId } from "./ids";
import { defaultsFromSchema } from "./schema";
import type { Graph, GraphEdge, GraphNode, GraphNote, NodeTypeSpec, Position, Selection } from "./types";

export function nodeIds(graph: Graph): Set<string> {
  return new Set(graph.nodes.map((n) => n.id));
}

export function allIds(graph: Graph): Set<string> {
  const ids = new Set<string>();
  for (const n of graph.nodes) ids.add(n.id);
  for (const e of graph.edges) ids.add(e.id);
  for (const n of graph.notes) ids.add(n.id);
  return ids;
}

export function findNode(graph: Graph, id: string): GraphNode | undefined {
  return graph.nodes.find((n) => n.id === id);
}

/** A name not yet used in the graph: "HTTP request", then "HTTP request 2", ... */
export function uniqueName(graph: Graph, base: string): string {
  const names = new Set(graph.nodes.map((n) => n.name));
  if (!names.has(base)) return base;
  for (let i = 2; ; i++) {
    const candidate = `${base} ${i}`;
    if (!names.has(candidate)) return candidate;
  }
}

/** A fresh node of the given type, with its schema's defaults as config. */
export function createNode(graph: Graph, spec: NodeTypeSpec, position: Position): GraphNode {
  return {
    id: newId(spec.type, allIds(graph)),
    type: spec.type,
    version: spec.version,
    name: uniqueName(graph, spec.label || spec.type),
    config: defaultsFromSchema(spec.config_schema),
    position: { x: Math.round(position.x), y: Math.round(position.y) },
  };
}

export function addNode(graph: Graph, node: GraphNode): Graph {
  return { ...graph, nodes: [...graph.nodes, node] };
}

export function addEdge(graph: Graph, edge: GraphEdge): Graph {
  return { ...graph, edges: [...graph.edges, edge] };
}

export function newEdge(graph: Graph, source: string, sourcePort: string, target: string, targetPort: string): GraphEdge {
  return { id: newId("edge", allIds(graph)), source, source_port: sourcePort, target, target_port: targetPort };
}

export function updateNode(graph: Graph, id: string, patch: Partial<Omit<GraphNode, "id">>): Graph {
  let changed = false;
  const nodes = graph.nodes.map((n) => {
    if (n.id !== id) return n;
    changed = true;
    return { ...n, ...patch };
  });
  return changed ? { ...graph, nodes } : graph;
}

/** Moves nodes and notes; `positions` maps an id to its new top-left corner. */
export function moveElements(graph: Graph, positions: ReadonlyMap<string, Position>): Graph {
  if (positions.size === 0) return graph;
  const same = (a: Position, b: Position) => a.x === b.x && a.y === b.y;
  let changed = false;
  const nodes = graph.nodes.map((n) => {
    const p = positions.get(n.id);
    if (!p || same(p, n.position)) return n;
    changed = true;
    return { ...n, position: { x: p.x, y: p.y } };
  });
  const notes = graph.notes.map((n) => {
    const p = positions.get(n.id);
    if (!p || same(p, n.position)) return n;
    changed = true;
    return { ...n, position: { x: p.x, y: p.y } };
  });
  return changed ? { ...graph, nodes, notes } : graph;
}

/** Removes the selected nodes, edges and notes, and every edge touching a removed node. */
export function removeElements(graph: Graph, selection: Partial<Selection>): Graph {
  const nodes = new Set(selection.nodes ?? []);
  const edges = new Set(selection.edges ?? []);
  const notes = new Set(selection.notes ?? []);
  if (nodes.size + edges.size + notes.size === 0) return graph;
  const keptEdges = graph.edges.filter((e) => !edges.has(e.id) && !nodes.has(e.source) && !nodes.has(e.target));
  const keptNodes = graph.nodes.filter((n) => !nodes.has(n.id));
  const keptNotes = graph.notes.filter((n) => !notes.has(n.id));
  const sameEdges = keptEdges.length === graph.edges.length;
  const sameNodes = keptNodes.length === graph.nodes.length;
  const sameNotes = keptNotes.length === graph.notes.length;
  if (sameEdges && sameNodes && sameNotes) return graph;
  return {
    nodes: sameNodes ? graph.nodes : keptNodes,
    edges: sameEdges ? graph.edges : keptEdges,
    notes: sameNotes ? graph.notes : keptNotes,
  };
}

export function addNote(graph: Graph, position: Position, text = ""): { graph: Graph; note: GraphNote } {
  const note: GraphNote = {
    id: newId("note", allIds(graph)),
    text,
    position: { x: Math.round(position.x), y: Math.round(position.y) },
    size: { width: 220, height: 140 },
    color: "yellow",
  };
  return { graph: { ...graph, notes: [...graph.notes, note] }, note };
}

export function updateNote(graph: Graph, id: string, patch: Partial<Omit<GraphNote, "id">>): Graph {
  let changed = false;
  const notes = graph.notes.map((n) => {
    if (n.id !== id) return n;
    changed = true;
    return { ...n, ...patch };
  });
  return changed ? { ...graph, notes } : graph;
}

/**
 * Keeps only the keys the server accepts, so a document from an import, the clipboard
 * or an older client never makes a save fail with "unknown field".
 */
export function normalizeGraph(input: unknown): Graph {
  const doc = (input && typeof input === "object" ? input : {}) as Record<string, unknown>;
  const list = (v: unknown): Record<string, unknown>[] =>
    Array.isArray(v) ? v.filter((x): x is Record<string, unknown> => !!x && typeof x === "object") : [];
  const pos = (v: unknown): Position => {
    const p = (v && typeof v === "object" ? v : {}) as Record<string, unknown>;
    return { x: Number(p.x) || 0, y: Number(p.y) || 0 };
  };
  const nodes: GraphNode[] = list(doc.nodes).map((n) => ({
    id: String(n.id ?? ""),
    type: String(n.type ?? ""),
    version: typeof n.version === "number" ? n.version : 1,
    name: typeof n.name === "string" ? n.name : "",
    config: n.config && typeof n.config === "object" && !Array.isArray(n.config) ? (n.config as Record<string, unknown>) : {},
    position: pos(n.position),
  }));
  const edges: GraphEdge[] = list(doc.edges).map((e) => ({
    id: String(e.id ?? ""),
    source: String(e.source ?? ""),
    source_port: String(e.source_port ?? ""),
    target: String(e.target ?? ""),
    target_port: String(e.target_port ?? ""),
  }));
  const notes: GraphNote[] = list(doc.notes).map((n) => {
    const note: GraphNote = { id: String(n.id ?? ""), text: typeof n.text === "string" ? n.text : "", position: pos(n.position) };
    const size = n.size as Record<string, unknown> | undefined;
    if (size && typeof size === "object" && Number(size.width) > 0 && Number(size.height) > 0) {
      note.size = { width: Number(size.width), height: Number(size.height) };
    }
    if (typeof n.color === "string") note.color = n.color;
    return note;
  });
  return { nodes, edges, notes };
}

/** Bounding box of some nodes and notes (used to place pasted elements). */
export function boundingBox(positions: Position[]): { x: number; y: number } | null {
  if (positions.length === 0) return null;
  let x = Infinity;
  let y = Infinity;
  for (const p of positions) {
    x = Math.min(x, p.x);
    y = Math.min(y, p.y);
  }
  return { x, y };
}
