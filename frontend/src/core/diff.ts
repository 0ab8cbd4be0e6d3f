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

/** One difference between the latest published version and the draft, in words. */
export interface DraftChange {
  kind: "added" | "removed" | "changed" | "connected" | "disconnected" | "layout";
  text: string;
  nodeId?: string;
}

/**
 * What the draft changes since the published version, one entry per thing a builder
 * did: a node added, removed, renamed or reconfigured, a connection made or undone.
 * Moving nodes and editing notes count as one "layout" change together.
 */
export function draftChanges(published: Graph, draft: Graph): DraftChange[] {
  const d = diffGraphs(published, draft);
  const name = (g: Graph, id: string) => {
    const n = g.nodes.find((x) => x.id === id);
    return `“${n?.name || id}”`;
  };
  const changes: DraftChange[] = [];
  for (const n of d.nodes.onlyMine) changes.push({ kind: "added", text: `Added ${name(draft, n.id)}`, nodeId: n.id });
  for (const n of d.nodes.onlyTheirs) changes.push({ kind: "removed", text: `Removed ${name(published, n.id)}` });
  let layout = d.notes.onlyMine.length + d.notes.onlyTheirs.length + d.notes.changed.length > 0;
  for (const c of d.nodes.changed) {
    const what: string[] = [];
    if (c.fields.includes("name")) what.push(`renamed ${name(published, c.id)} to ${name(draft, c.id)}`);
    if (c.fields.includes("type")) what.push(`changed the type of ${name(draft, c.id)}`);
    if (c.fields.includes("config")) what.push(`changed the settings of ${name(draft, c.id)}`);
    if (c.fields.includes("position")) layout = true;
    if (what.length) {
      const text = what.join(", ");
      changes.push({ kind: "changed", text: text[0].toUpperCase() + text.slice(1), nodeId: c.id });
    }
  }
  const link = (g: Graph, e: GraphEdge) => `${name(g, e.source)} → ${name(g, e.target)}`;
  const changedEdges = new Set(d.edges.changed);
  for (const e of [...d.edges.onlyMine, ...draft.edges.filter((x) => changedEdges.has(x.id))]) changes.push({ kind: "connected", text: `Connected ${link(draft, e)}` });
  for (const e of [...d.edges.onlyTheirs, ...published.edges.filter((x) => changedEdges.has(x.id))]) changes.push({ kind: "disconnected", text: `Disconnected ${link(published, e)}` });
  if (layout) changes.push({ kind: "layout", text: "Moved nodes or edited notes" });
  return changes;
}
