/**
 * Where a node added from the palette (by click or keyboard) goes: to the right of the
 * selected node, or at the view's centre, moved down (then further right) until it
 * covers no other node.
 */
import { DEFAULT_NODE_SIZE, type Size } from "./layout";
import type { GraphNode, Position } from "./types";

export const PLACEMENT_GAP = 60;
const MARGIN = 16;

interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

const overlaps = (a: Rect, b: Rect) =>
  a.x < b.x + b.width + MARGIN && b.x < a.x + a.width + MARGIN && a.y < b.y + b.height + MARGIN && b.y < a.y + a.height + MARGIN;

export interface PlacementInput {
  nodes: GraphNode[];
  /** The one selected node, if any: the new node goes to its right. */
  anchor?: GraphNode | null;
  /** The centre of the visible canvas, in flow coordinates. */
  centre: Position;
  /** The new node's size and the sizes of those on the canvas (drawn or estimated). */
  size?: Size;
  sizeOf?: (node: GraphNode) => Size;
}

export function placeNewNode({ nodes, anchor, centre, size = DEFAULT_NODE_SIZE, sizeOf = () => DEFAULT_NODE_SIZE }: PlacementInput): Position {
  const rects: Rect[] = nodes.map((n) => ({ ...n.position, ...sizeOf(n) }));
  const start = anchor
    ? { x: anchor.position.x + sizeOf(anchor).width + PLACEMENT_GAP, y: anchor.position.y }
    : { x: centre.x - size.width / 2, y: centre.y - size.height / 2 };
  const free = (p: Position) => !rects.some((r) => overlaps({ ...p, ...size }, r));
  // Columns to the right, and in each one slots alternating below and above the start.
  for (let column = 0; column < 20; column++) {
    const x = start.x + column * (size.width + PLACEMENT_GAP);
    for (let step = 0; step < 30; step++) {
      const k = Math.ceil(step / 2) * (step % 2 === 1 ? 1 : -1);
      const candidate = { x: Math.round(x), y: Math.round(start.y + k * (size.height + MARGIN * 2)) };
      if (free(candidate)) return candidate;
    }
  }
  return { x: Math.round(start.x), y: Math.round(start.y) };
}

/** A node's drawn size from its port count, where the browser has not measured it. */
export function estimatedSize(inputs: number, outputs: number): Size {
  const rows = Math.max(1, inputs, outputs);
  return { width: DEFAULT_NODE_SIZE.width, height: Math.max(DEFAULT_NODE_SIZE.height, 52 + rows * 20) };
}
