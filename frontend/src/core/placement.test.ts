import { describe, expect, it } from "vitest";
import { node } from "../test/fixtures";
import { DEFAULT_NODE_SIZE } from "./layout";
import { estimatedSize, PLACEMENT_GAP, placeNewNode } from "./placement";
import type { GraphNode } from "./types";

const at = (id: string, x: number, y: number): GraphNode => ({ ...node(id), position: { x, y } });
const W = DEFAULT_NODE_SIZE.width;
const H = DEFAULT_NODE_SIZE.height;
const overlap = (a: { x: number; y: number }, b: { x: number; y: number }) => a.x < b.x + W && b.x < a.x + W && a.y < b.y + H && b.y < a.y + H;

describe("placing a node from the palette", () => {
  it("goes at the view's centre on an empty canvas", () => {
    expect(placeNewNode({ nodes: [], centre: { x: 500, y: 300 } })).toEqual({ x: 500 - W / 2, y: 300 - H / 2 });
  });

  it("goes to the right of the selected node", () => {
    const a = at("a", 100, 100);
    expect(placeNewNode({ nodes: [a], anchor: a, centre: { x: 0, y: 0 } })).toEqual({ x: 100 + W + PLACEMENT_GAP, y: 100 });
  });

  it("never covers another node, however crowded the spot", () => {
    const a = at("a", 0, 0);
    const taken = [a, at("b", W + PLACEMENT_GAP, 0), at("c", W + PLACEMENT_GAP, H + 20), at("d", W + PLACEMENT_GAP, -H - 20)];
    const p = placeNewNode({ nodes: taken, anchor: a, centre: { x: 0, y: 0 } });
    for (const n of taken) expect(overlap(p, n.position)).toBe(false);
    expect(p.x).toBe(W + PLACEMENT_GAP); // same column, a free slot above or below
    // Ten clicks in a row at the centre give ten places, none on another.
    let nodes: GraphNode[] = [];
    for (let i = 0; i < 10; i++) {
      const q = placeNewNode({ nodes, centre: { x: 0, y: 0 } });
      for (const n of nodes) expect(overlap(q, n.position)).toBe(false);
      nodes = [...nodes, at(`n${i}`, q.x, q.y)];
    }
  });

  it("accounts for tall nodes (a Switch with many cases)", () => {
    const tall = at("s", 0, 0);
    const size = estimatedSize(1, 11);
    expect(size.height).toBeGreaterThan(200);
    const p = placeNewNode({ nodes: [tall], centre: { x: W / 2, y: 150 }, sizeOf: () => size, size: DEFAULT_NODE_SIZE });
    expect(p.y >= size.height || p.y + H <= 0 || p.x >= W).toBe(true);
  });
});
