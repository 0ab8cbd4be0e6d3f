import { describe, expect, it } from "vitest";
import { compareGraphs } from "./compare";
import type { Graph, GraphNode } from "./types";

const node = (id: string, config: Record<string, unknown> = {}, extra: Partial<GraphNode> = {}): GraphNode => ({
  id,
  type: "data.set",
  version: 1,
  name: id,
  config,
  position: { x: 0, y: 0 },
  ...extra,
});
const edge = (source: string, target: string) => ({ id: `${source}-${target}`, source, source_port: "out", target, target_port: "in" });

describe("comparing versions", () => {
  const older: Graph = {
    nodes: [node("start"), node("call", { url: "https://a.example.com", headers: { x: "1" } }), node("gone")],
    edges: [edge("start", "call"), edge("call", "gone")],
    notes: [],
  };
  const newer: Graph = {
    nodes: [node("start", {}, { position: { x: 50, y: 9 } }), node("call", { url: "https://b.example.com", headers: { x: "1" } }, { name: "Call CRM" }), node("new")],
    edges: [edge("start", "call"), edge("call", "new")],
    notes: [],
  };

  it("names added, removed and changed nodes and edges, moves are not changes", () => {
    const c = compareGraphs(older, newer);
    expect(c.byNode).toEqual({ new: "added", gone: "removed", call: "changed" });
    expect(c.edges).toEqual({ "call-new": "added", "call-gone": "removed" });
    expect(c.identical).toBe(false);
  });

  it("lists a changed node's settings field by field", () => {
    const call = compareGraphs(older, newer).nodes.find((n) => n.id === "call")!;
    expect(call.fields).toEqual([
      { path: "config.url", before: "https://a.example.com", after: "https://b.example.com" },
      { path: "name", before: "call", after: "Call CRM" },
    ]);
  });

  it("draws the newer graph with what was removed put back", () => {
    const c = compareGraphs(older, newer);
    expect(c.graph.nodes.map((n) => n.id)).toEqual(["start", "call", "new", "gone"]);
    expect(c.graph.edges.map((e) => e.id)).toEqual(["start-call", "call-new", "call-gone"]);
  });

  it("moves a removed node that stands where a newer node is, so both show", () => {
    const c = compareGraphs(older, newer);
    const gone = c.graph.nodes.find((n) => n.id === "gone")!;
    expect(gone.position.y).toBeGreaterThanOrEqual(110);
  });

  it("finds nothing between a graph and itself", () => {
    expect(compareGraphs(older, older).identical).toBe(true);
  });
});
