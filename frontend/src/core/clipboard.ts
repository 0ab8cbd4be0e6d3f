/**
 * Copy and paste as JSON: the clipboard holds plain graph elements, so a selection can
 * be pasted into another workflow (or another browser tab). Pasting gives every element
 * a fresh id and rewires the copied edges to the new ids.
 */
import { allIds, boundingBox, normalizeGraph } from "./graph";
import { newId } from "./ids";
import type { Graph, GraphEdge, GraphNode, GraphNote, Position, Selection } from "./types";

export const CLIPBOARD_MARK = "weft_clipboard";

export interface ClipboardPayload {
  weft_clipboard: 1;
  nodes: GraphNode[];
  edges: GraphEdge[];
  notes: GraphNote[];
}

/** The selected nodes and notes, plus the edges whose both ends are selected. */
export function copySelection(graph: Graph, selection: Selection): ClipboardPayload {
  const nodeSet = new Set(selection.nodes);
  const noteSet = new Set(selection.notes);
  const nodes = graph.nodes.filter((n) => nodeSet.has(n.id));
  const edges = graph.edges.filter((e) => nodeSet.has(e.source) && nodeSet.has(e.target));
  const notes = graph.notes.filter((n) => noteSet.has(n.id));
  return structuredClone({ weft_clipboard: 1 as const, nodes, edges, notes });
}

export function serializeClipboard(payload: ClipboardPayload): string {
  return JSON.stringify(payload);
}

/**
 * Reads clipboard text: our own payload, a bare graph document, or a Weft export
 * (`{"weft_export": 1, "graph": ...}`). Anything else gives null.
 */
export function parseClipboard(text: string): ClipboardPayload | null {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return null;
  }
  if (!doc || typeof doc !== "object") return null;
  const obj = doc as Record<string, unknown>;
  const source = obj.weft_export === 1 && obj.graph ? obj.graph : obj;
  const s = source as Record<string, unknown>;
  if (!Array.isArray(s.nodes) && !Array.isArray(s.notes)) return null;
  const graph = normalizeGraph(source);
  return { weft_clipboard: 1, ...graph };
}

export interface PasteResult {
  graph: Graph;
  selection: Selection;
  /** old id -> new id */
  idMap: Map<string, string>;
}

export interface PasteOptions {
  /** Put the pasted elements' top-left corner here; otherwise shift them by `offset`. */
  at?: Position;
  offset?: number;
}

export function pasteClipboard(graph: Graph, payload: ClipboardPayload, options: PasteOptions = {}): PasteResult {
  const taken = allIds(graph);
  const idMap = new Map<string, string>();
  const fresh = (oldId: string, prefix: string) => {
    const id = newId(prefix, taken);
    taken.add(id);
    idMap.set(oldId, id);
    return id;
  };
  const corner = boundingBox([...payload.nodes.map((n) => n.position), ...payload.notes.map((n) => n.position)]);
  const offset = options.offset ?? 40;
  const dx = options.at && corner ? options.at.x - corner.x : offset;
  const dy = options.at && corner ? options.at.y - corner.y : offset;
  const shift = (p: Position): Position => ({ x: Math.round(p.x + dx), y: Math.round(p.y + dy) });

  const nodes = payload.nodes.map((n) => ({ ...structuredClone(n), id: fresh(n.id, n.type), position: shift(n.position) }));
  const notes = payload.notes.map((n) => ({ ...structuredClone(n), id: fresh(n.id, "note"), position: shift(n.position) }));
  const edges: GraphEdge[] = [];
  for (const e of payload.edges) {
    const source = idMap.get(e.source);
    const target = idMap.get(e.target);
    if (!source || !target) continue; // an edge to something that was not copied
    const id = newId("edge", taken);
    taken.add(id);
    edges.push({ id, source, source_port: e.source_port, target, target_port: e.target_port });
  }
  return {
    graph: { nodes: [...graph.nodes, ...nodes], edges: [...graph.edges, ...edges], notes: [...graph.notes, ...notes] },
    selection: { nodes: nodes.map((n) => n.id), edges: edges.map((e) => e.id), notes: notes.map((n) => n.id) },
    idMap,
  };
}

export function duplicateSelection(graph: Graph, selection: Selection): PasteResult {
  return pasteClipboard(graph, copySelection(graph, selection), { offset: 40 });
}
