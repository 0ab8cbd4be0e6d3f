import { describe, expect, it } from "vitest";
import { sampleGraph } from "../test/fixtures";
import { copySelection, duplicateSelection, parseClipboard, pasteClipboard, serializeClipboard } from "./clipboard";

describe("copy and paste", () => {
  it("copies the selected nodes, notes and only the edges inside the selection", () => {
    const payload = copySelection(sampleGraph(), { nodes: ["a", "b"], edges: [], notes: ["n1"] });
    expect(payload.nodes.map((n) => n.id)).toEqual(["a", "b"]);
    expect(payload.edges.map((e) => e.id)).toEqual(["e2"]);
    expect(payload.notes.map((n) => n.id)).toEqual(["n1"]);
  });

  it("pastes with fresh ids and rewires the copied edges to them", () => {
    const g = sampleGraph();
    const payload = copySelection(g, { nodes: ["a", "b"], edges: [], notes: ["n1"] });
    const { graph, selection, idMap } = pasteClipboard(g, payload, { offset: 40 });
    expect(graph.nodes).toHaveLength(6);
    const newA = idMap.get("a")!;
    const newB = idMap.get("b")!;
    expect(newA).not.toBe("a");
    expect(newB).not.toBe("b");
    expect(selection.nodes).toEqual([newA, newB]);
    const pastedEdge = graph.edges.find((e) => selection.edges.includes(e.id))!;
    expect(pastedEdge).toMatchObject({ source: newA, source_port: "out", target: newB, target_port: "in" });
    expect(pastedEdge.id).not.toBe("e2");
    const ids = [...graph.nodes, ...graph.edges, ...graph.notes].map((x) => x.id);
    expect(new Set(ids).size).toBe(ids.length);
    const pastedA = graph.nodes.find((n) => n.id === newA)!;
    expect(pastedA.position).toEqual({ x: 240, y: 40 });
    expect(pastedA.config).not.toBe(g.nodes[1].config); // a deep copy
  });

  it("places pasted elements at a given point", () => {
    const g = sampleGraph();
    const payload = copySelection(g, { nodes: ["a", "b"], edges: [], notes: [] });
    const { graph, selection } = pasteClipboard(g, payload, { at: { x: 1000, y: 500 } });
    const pasted = graph.nodes.filter((n) => selection.nodes.includes(n.id));
    expect(pasted.map((n) => n.position)).toEqual([{ x: 1000, y: 500 }, { x: 1200, y: 500 }]);
  });

  it("round-trips through clipboard text, also into another workflow", () => {
    const text = serializeClipboard(copySelection(sampleGraph(), { nodes: ["start", "a"], edges: [], notes: [] }));
    const payload = parseClipboard(text)!;
    const other = { nodes: [], edges: [], notes: [] };
    const { graph } = pasteClipboard(other, payload);
    expect(graph.nodes).toHaveLength(2);
    expect(graph.edges).toHaveLength(1);
    expect(graph.edges[0].source).toBe(graph.nodes[0].id);
  });

  it("accepts exports and bare graphs, and rejects anything else", () => {
    expect(parseClipboard("not json")).toBeNull();
    expect(parseClipboard('"text"')).toBeNull();
    expect(parseClipboard('{"a": 1}')).toBeNull();
    const exported = JSON.stringify({ weft_export: 1, name: "x", graph: sampleGraph() });
    expect(parseClipboard(exported)!.nodes).toHaveLength(4);
  });

  it("drops edges whose ends were not copied", () => {
    const payload = copySelection(sampleGraph(), { nodes: ["a"], edges: ["e1"], notes: [] });
    payload.edges.push({ id: "dangling", source: "start", source_port: "out", target: "a", target_port: "in" });
    const { graph, selection } = pasteClipboard(sampleGraph(), payload);
    expect(selection.edges).toEqual([]);
    expect(graph.edges).toHaveLength(2);
  });

  it("duplicates the selection", () => {
    const g = sampleGraph();
    const { graph, selection } = duplicateSelection(g, { nodes: ["a", "b"], edges: [], notes: [] });
    expect(graph.nodes).toHaveLength(6);
    expect(graph.edges).toHaveLength(3);
    expect(selection.nodes).toHaveLength(2);
  });
});
