import { describe, expect, it } from "vitest";
import { graphPicture, PICTURE_NODE } from "./graphPicture";

const node = (id: string, x: number, y: number) => ({ id, type: "core.noop", version: 1, name: id.toUpperCase(), config: {}, position: { x, y } });

describe("graphPicture", () => {
  it("frames every node and draws each edge between its boxes", () => {
    const picture = graphPicture({
      nodes: [node("a", 0, 0), node("b", 260, 80)],
      edges: [
        { id: "e1", source: "a", source_port: "out", target: "b", target_port: "in" },
        { id: "e2", source: "a", source_port: "out", target: "gone", target_port: "in" },
      ],
    });
    expect(picture.viewBox).toBe(`-20 -20 ${260 + PICTURE_NODE.width + 40} ${80 + PICTURE_NODE.height + 40}`);
    expect(picture.boxes.map((b) => b.label)).toEqual(["A", "B"]);
    expect(picture.links).toHaveLength(1);
    expect(picture.links[0]).toMatch(/^M180,28 C.* 260,108$/);
  });

  it("draws an empty graph as an empty frame", () => {
    expect(graphPicture({ nodes: [], edges: [] })).toEqual({ viewBox: "0 0 100 40", boxes: [], links: [] });
  });
});
