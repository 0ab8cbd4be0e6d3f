/** A small picture of a graph (the template gallery's thumbnails): each node a box at
 * its position, each edge a curve from the right side of its source to the left side
 * of its target, all scaled into a viewBox. Pure: no DOM, no React. */
import type { Graph } from "./types";

export const PICTURE_NODE = { width: 180, height: 56 };

export interface PictureBox {
  id: string;
  label: string;
  type: string;
  x: number;
  y: number;
}

export interface GraphPicture {
  viewBox: string;
  boxes: PictureBox[];
  /** SVG path data, one per edge whose ends both exist. */
  links: string[];
}

const MARGIN = 20;

export function graphPicture(graph: Pick<Graph, "nodes" | "edges">): GraphPicture {
  const boxes: PictureBox[] = graph.nodes.map((n) => ({ id: n.id, label: n.name || n.type, type: n.type, x: n.position.x, y: n.position.y }));
  if (boxes.length === 0) return { viewBox: "0 0 100 40", boxes, links: [] };
  const minX = Math.min(...boxes.map((b) => b.x)) - MARGIN;
  const minY = Math.min(...boxes.map((b) => b.y)) - MARGIN;
  const maxX = Math.max(...boxes.map((b) => b.x)) + PICTURE_NODE.width + MARGIN;
  const maxY = Math.max(...boxes.map((b) => b.y)) + PICTURE_NODE.height + MARGIN;
  const byId = new Map(boxes.map((b) => [b.id, b]));
  const links: string[] = [];
  for (const edge of graph.edges) {
    const from = byId.get(edge.source);
    const to = byId.get(edge.target);
    if (!from || !to) continue;
    const x1 = from.x + PICTURE_NODE.width;
    const y1 = from.y + PICTURE_NODE.height / 2;
    const x2 = to.x;
    const y2 = to.y + PICTURE_NODE.height / 2;
    const bend = Math.max(40, Math.abs(x2 - x1) / 2);
    links.push(`M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`);
  }
  return { viewBox: `${minX} ${minY} ${maxX - minX} ${maxY - minY}`, boxes, links };
}
