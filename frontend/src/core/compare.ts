/**
 * Comparing two versions of a workflow (or a version and the draft): which nodes and
 * edges were added, removed or changed, each changed node's settings field by field,
 * and the graph to draw (the newer graph plus what was removed, so both show).
 */
import { diffGraphs, jsonEqual } from "./diff";
import type { Graph, GraphNode } from "./types";

export type Change = "added" | "removed" | "changed";

export interface FieldChange {
  /** A dotted path into the node: "name", "config.url", "config.fields[0].value". */
  path: string;
  before: unknown;
  after: unknown;
}

export interface NodeComparison {
  id: string;
  name: string;
  change: Change;
  fields: FieldChange[];
}

export interface Comparison {
  nodes: NodeComparison[];
  /** Edge id -> what happened to it. */
  edges: Record<string, Change>;
  /** Node id -> what happened to it (for the canvas). */
  byNode: Record<string, Change>;
  /** The newer graph with the removed nodes and edges added back, to draw both. */
  graph: Graph;
  identical: boolean;
}

function flatten(value: unknown, path: string, out: Map<string, unknown>) {
  if (Array.isArray(value)) {
    if (value.length === 0) out.set(path, []);
    value.forEach((v, i) => flatten(v, `${path}[${i}]`, out));
  } else if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    if (entries.length === 0) out.set(path, {});
    for (const [k, v] of entries) flatten(v, path ? `${path}.${k}` : k, out);
  } else {
    out.set(path, value);
  }
}

/** What differs between two nodes of the same id, leaf by leaf (position left out). */
export function nodeFieldChanges(before: GraphNode, after: GraphNode): FieldChange[] {
  const a = new Map<string, unknown>();
  const b = new Map<string, unknown>();
  flatten({ name: before.name, type: `${before.type} v${before.version}`, config: before.config }, "", a);
  flatten({ name: after.name, type: `${after.type} v${after.version}`, config: after.config }, "", b);
  const paths = [...new Set([...a.keys(), ...b.keys()])].sort();
  return paths
    .filter((p) => !jsonEqual(a.get(p), b.get(p)))
    .map((p) => ({ path: p, before: a.get(p), after: b.get(p) }));
}

const NODE_W = 240;
const NODE_H = 110;

/** A removed node drawn where a node of the newer graph stands is moved down until it
 *  covers none, so that both show. */
function clearOf(node: GraphNode, others: GraphNode[]): GraphNode {
  let { x, y } = node.position;
  const covers = () => others.some((o) => Math.abs(o.position.x - x) < NODE_W && Math.abs(o.position.y - y) < NODE_H);
  let moved = false;
  for (let i = 0; i < 50 && covers(); i++) {
    y += NODE_H + 30;
    moved = true;
  }
  return moved ? { ...node, position: { x, y } } : node;
}

/** `older` -> `newer`: what the newer one added, removed and changed. */
export function compareGraphs(older: Graph, newer: Graph): Comparison {
  const diff = diffGraphs(older, newer);
  const olderNodes = new Map(older.nodes.map((n) => [n.id, n]));
  const newerNodes = new Map(newer.nodes.map((n) => [n.id, n]));
  const nodes: NodeComparison[] = [];
  for (const n of diff.nodes.onlyMine) nodes.push({ id: n.id, name: n.name, change: "added", fields: [] });
  for (const n of diff.nodes.onlyTheirs) nodes.push({ id: n.id, name: n.name, change: "removed", fields: [] });
  for (const c of diff.nodes.changed) {
    const fields = nodeFieldChanges(olderNodes.get(c.id)!, newerNodes.get(c.id)!);
    if (fields.length) nodes.push({ id: c.id, name: c.name, change: "changed", fields }); // moved only: not a change
  }
  const edges: Record<string, Change> = {};
  for (const e of diff.edges.onlyMine) edges[e.id] = "added";
  for (const e of diff.edges.onlyTheirs) edges[e.id] = "removed";
  for (const id of diff.edges.changed) edges[id] = "changed";
  const byNode: Record<string, Change> = {};
  for (const n of nodes) byNode[n.id] = n.change;
  const graph: Graph = {
    nodes: [...newer.nodes, ...diff.nodes.onlyTheirs.map((n) => clearOf(n, newer.nodes))],
    edges: [...newer.edges, ...diff.edges.onlyTheirs],
    notes: newer.notes ?? [],
  };
  return { nodes, edges, byNode, graph, identical: nodes.length === 0 && Object.keys(edges).length === 0 };
}
