import { describe, expect, it } from "vitest";
import { TYPES, sampleGraph } from "../test/fixtures";
import { addNote, createNode, moveElements, normalizeGraph, removeElements, uniqueName, updateNode } from "./graph";
import { autoLayout } from "./layout";

describe("graph operations", () => {
  it("creates a node with a fresh id, a unique name and the schema defaults", () => {
    const g = sampleGraph();
    const branch = TYPES[2];
    const a = createNode(g, branch, { x: 10.4, y: 20.6 });
    expect(a.type).toBe("control.branch");
    expect(a.version).toBe(1);
    expect(a.config).toEqual({ condition: "true", retries: 2 });
    expect(a.position).toEqual({ x: 10, y: 21 });
    expect(a.id).toMatch(/^branch_[a-z0-9]{8}$/);
    expect(g.nodes.some((n) => n.id === a.id)).toBe(false);
    const g2 = { ...g, nodes: [...g.nodes, { ...a, name: "Branch" }] };
    expect(uniqueName(g2, "Branch")).toBe("Branch 2");
  });

  it("removes nodes together with the edges that touch them", () => {
    const g = sampleGraph();
    const out = removeElements(g, { nodes: ["a"] });
    expect(out.nodes.map((n) => n.id)).toEqual(["start", "b", "m"]);
    expect(out.edges).toEqual([]);
    expect(out.notes).toBe(g.notes);
  });

  it("removes edges and notes by id, and returns the same graph when nothing matches", () => {
    const g = sampleGraph();
    const out = removeElements(g, { edges: ["e2"], notes: ["n1"] });
    expect(out.edges.map((e) => e.id)).toEqual(["e1"]);
    expect(out.notes).toEqual([]);
    expect(removeElements(g, { nodes: ["nope"] })).toBe(g);
  });

  it("keeps the identity of untouched nodes", () => {
    const g = sampleGraph();
    const out = updateNode(g, "a", { name: "Renamed" });
    expect(out.nodes[1].name).toBe("Renamed");
    expect(out.nodes[0]).toBe(g.nodes[0]);
    expect(out.nodes[2]).toBe(g.nodes[2]);
    expect(out.edges).toBe(g.edges);
  });

  it("moves nodes and notes, and ignores moves to the same place", () => {
    const g = sampleGraph();
    expect(moveElements(g, new Map([["a", { x: 200, y: 0 }]]))).toBe(g);
    const out = moveElements(g, new Map([["a", { x: 5, y: 6 }], ["n1", { x: 1, y: 2 }]]));
    expect(out.nodes[1].position).toEqual({ x: 5, y: 6 });
    expect(out.notes[0].position).toEqual({ x: 1, y: 2 });
    expect(out.nodes[0]).toBe(g.nodes[0]);
  });

  it("adds sticky notes with fresh ids", () => {
    const { graph, note } = addNote(sampleGraph(), { x: 3, y: 4 }, "todo");
    expect(graph.notes).toHaveLength(2);
    expect(note.text).toBe("todo");
    expect(note.id).not.toBe("n1");
  });

  it("normalises documents to the keys the server accepts", () => {
    const g = normalizeGraph({
      nodes: [{ id: "x", type: "core.noop", version: 1, name: "X", config: { a: 1 }, position: { x: 1, y: 2 }, selected: true, measured: {} }],
      edges: [{ id: "e", source: "x", source_port: "out", target: "y", target_port: "in", animated: true }],
      notes: [{ id: "n", text: "t", position: { x: 0, y: 0 }, size: { width: 10, height: 10 }, extra: 1 }],
      viewport: {},
    });
    expect(Object.keys(g.nodes[0]).sort()).toEqual(["config", "id", "name", "position", "type", "version"]);
    expect(Object.keys(g.edges[0]).sort()).toEqual(["id", "source", "source_port", "target", "target_port"]);
    expect(g.notes[0]).toEqual({ id: "n", text: "t", position: { x: 0, y: 0 }, size: { width: 10, height: 10 } });
    expect(normalizeGraph(null)).toEqual({ nodes: [], edges: [], notes: [] });
  });

  it("lays nodes out left to right following the edges", () => {
    const g = sampleGraph();
    const stacked = { ...g, nodes: g.nodes.map((n) => ({ ...n, position: { x: 0, y: 0 } })) };
    const out = autoLayout(stacked);
    const x = (id: string) => out.nodes.find((n) => n.id === id)!.position.x;
    expect(x("start")).toBeLessThan(x("a"));
    expect(x("a")).toBeLessThan(x("b"));
    const positions = new Set(out.nodes.map((n) => `${n.position.x},${n.position.y}`));
    expect(positions.size).toBe(out.nodes.length);
  });
});
