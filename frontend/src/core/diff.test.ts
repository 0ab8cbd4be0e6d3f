import { describe, expect, it } from "vitest";
import { sampleGraph } from "../test/fixtures";
import { diffGraphs, draftChanges, jsonEqual } from "./diff";
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

describe("draft changes since the published version", () => {
  it("names each change once, and moves together as one layout change", () => {
    const published = sampleGraph();
    const draft = sampleGraph();
    draft.nodes[1] = { ...draft.nodes[1], config: { x: 1 }, position: { x: 5, y: 5 } };
    draft.nodes[2] = { ...draft.nodes[2], position: { x: 9, y: 9 } };
    draft.nodes.splice(3, 1); // m removed
    draft.edges[1] = { ...draft.edges[1], source_port: "other" };
    expect(draftChanges(published, draft).map((c) => c.kind + ": " + c.text)).toEqual([
      "removed: Removed “m”",
      "changed: Changed the settings of “a”",
      "connected: Connected “a” → “b”",
      "disconnected: Disconnected “a” → “b”",
      "layout: Moved nodes or edited notes",
    ]);
    expect(draftChanges(published, sampleGraph())).toEqual([]);
  });
});
