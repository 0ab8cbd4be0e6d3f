import { describe, expect, it } from "vitest";
import { sampleGraph } from "../test/fixtures";
import { diffGraphs, jsonEqual } from "./diff";
import { removeElements, updateNode } from "./graph";

describe("graph diff for the conflict dialog", () => {
  it("reports identical graphs", () => {
    expect(diffGraphs(sampleGraph(), sampleGraph()).identical).toBe(true);
  });

  it("lists nodes and edges only in mine, only in theirs, and changed", () => {
    const theirs = updateNode(sampleGraph(), "b", { config: { condition: "x > 1" } });
    let mine = removeElements(sampleGraph(), { nodes: ["m"] });
    mine = updateNode(mine, "a", { name: "Renamed", position: { x: 1, y: 1 } });
    mine = {
      ...mine,
      nodes: [...mine.nodes, { id: "new", type: "core.noop", version: 1, name: "New", config: {}, position: { x: 0, y: 0 } }],
      edges: [...mine.edges, { id: "e9", source: "b", source_port: "true", target: "new", target_port: "in" }],
    };
    const d = diffGraphs(theirs, mine);
    expect(d.identical).toBe(false);
    expect(d.nodes.onlyMine.map((n) => n.id)).toEqual(["new"]);
    expect(d.nodes.onlyTheirs.map((n) => n.id)).toEqual(["m"]);
    expect(d.nodes.changed).toEqual([
      { id: "a", name: "Renamed", fields: ["name", "position"] },
      { id: "b", name: "b", fields: ["config"] },
    ]);
    expect(d.edges.onlyMine.map((e) => e.id)).toEqual(["e9"]);
    expect(d.edges.onlyTheirs).toEqual([]);
  });

  it("sees a rewired edge with the same id as changed", () => {
    const theirs = sampleGraph();
    const mine = { ...theirs, edges: theirs.edges.map((e) => (e.id === "e2" ? { ...e, target: "m" } : e)) };
    expect(diffGraphs(theirs, mine).edges.changed).toEqual(["e2"]);
  });

  it("compares JSON ignoring key order", () => {
    expect(jsonEqual({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 })).toBe(true);
    expect(jsonEqual({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(jsonEqual([1, 2], [2, 1])).toBe(false);
    expect(jsonEqual(null, {})).toBe(false);
  });
});
