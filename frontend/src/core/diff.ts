/**
 * What differs between two graphs, for the "someone else saved this workflow" dialog:
 * `base` is the server's current graph ("theirs"), `mine` is the unsaved local one.
 */
import type { Graph, GraphEdge, GraphNode, GraphNote } from "./types";

export interface NodeChange {
  id: string;
  name: string;
  /** Which parts differ: "name", "config", "position", "type". */
  fields: string[];
}

export interface GraphDiff {
  nodes: { onlyMine: GraphNode[]; onlyTheirs: GraphNode[]; changed: NodeChange[] };
  edges: { onlyMine: GraphEdge[]; onlyTheirs: GraphEdge[]; changed: string[] };
  notes: { onlyMine: GraphNote[]; onlyTheirs: GraphNote[]; changed: string[] };
  identical: boolean;
}

/** Structural equality for JSON values, ignoring key order. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => jsonEqual(v, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
  return ak.length === bk.length && ak.every((k) => jsonEqual(ao[k], bo[k]));
}

function split<T extends { id: string }>(base: T[], mine: T[]) {
  const baseMap = new Map(base.map((x) => [x.id, x]));
  const mineMap = new Map(mine.map((x) => [x.id, x]));
  return {
    onlyMine: mine.filter((x) => !baseMap.has(x.id)),
    onlyTheirs: base.filter((x) => !mineMap.has(x.id)),
    both: mine.filter((x) => baseMap.has(x.id)).map((x) => [baseMap.get(x.id)!, x] as const),
  };
}

export function diffGraphs(base: Graph, mine: Graph): GraphDiff {
  const n = split(base.nodes, mine.nodes);
  const changedNodes: NodeChange[] = [];
  for (const [theirs, ours] of n.both) {
    const fields: string[] = [];
    if (theirs.name !== ours.name) fields.push("name");
    if (theirs.type !== ours.type || theirs.version !== ours.version) fields.push("type");
    if (!jsonEqual(theirs.config, ours.config)) fields.push("config");
    if (theirs.position.x !== ours.position.x || theirs.position.y !== ours.position.y) fields.push("position");
    if (fields.length) changedNodes.push({ id: ours.id, name: ours.name || theirs.name, fields });
  }
  const e = split(base.edges, mine.edges);
  const changedEdges = e.both.filter(([a, b]) => !jsonEqual(a, b)).map(([, b]) => b.id);
  const t = split(base.notes ?? [], mine.notes ?? []);
  const changedNotes = t.both.filter(([a, b]) => !jsonEqual(a, b)).map(([, b]) => b.id);
  const diff: GraphDiff = {
    nodes: { onlyMine: n.onlyMine, onlyTheirs: n.onlyTheirs, changed: changedNodes },
    edges: { onlyMine: e.onlyMine, onlyTheirs: e.onlyTheirs, changed: changedEdges },
    notes: { onlyMine: t.onlyMine, onlyTheirs: t.onlyTheirs, changed: changedNotes },
    identical: false,
  };
  diff.identical =
    [diff.nodes, diff.edges, diff.notes].every((d) => d.onlyMine.length === 0 && d.onlyTheirs.length === 0 && d.changed.length === 0);
  return diff;
}
