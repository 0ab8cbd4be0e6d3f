/** Automatic left-to-right layout with dagre. */
import dagre from "@dagrejs/dagre";
import { moveElements } from "./graph";
import type { Graph, Position } from "./types";

export interface Size {
  width: number;
  height: number;
}

export const DEFAULT_NODE_SIZE: Size = { width: 220, height: 72 };

export function autoLayout(graph: Graph, sizes: ReadonlyMap<string, Size> = new Map()): Graph {
  if (graph.nodes.length === 0) return graph;
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "LR", nodesep: 40, ranksep: 90, marginx: 20, marginy: 20 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of graph.nodes) {
    const size = sizes.get(n.id) ?? DEFAULT_NODE_SIZE;
    g.setNode(n.id, { width: size.width, height: size.height });
  }
  for (const e of graph.edges) {
    if (g.hasNode(e.source) && g.hasNode(e.target)) g.setEdge(e.source, e.target);
  }
  dagre.layout(g);
  // Keep the layout where the graph already was, so the view does not jump far away.
  const minX = Math.min(...graph.nodes.map((n) => n.position.x));
  const minY = Math.min(...graph.nodes.map((n) => n.position.y));
  const placed = new Map<string, Position>();
  let laidMinX = Infinity;
  let laidMinY = Infinity;
  for (const n of graph.nodes) {
    const p = g.node(n.id);
    const size = sizes.get(n.id) ?? DEFAULT_NODE_SIZE;
    const pos = { x: p.x - size.width / 2, y: p.y - size.height / 2 };
    laidMinX = Math.min(laidMinX, pos.x);
    laidMinY = Math.min(laidMinY, pos.y);
    placed.set(n.id, pos);
  }
  for (const [id, p] of placed) {
    placed.set(id, { x: Math.round(p.x - laidMinX + minX), y: Math.round(p.y - laidMinY + minY) });
  }
  return moveElements(graph, placed);
}
