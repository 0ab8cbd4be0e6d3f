import { describe, expect, it } from "vitest";
import { updateNode } from "../../core/graph";
import { EMPTY_SELECTION } from "../../core/types";
import { sampleGraph } from "../../test/fixtures";
import { FlowAdapter, noteFlowId } from "./toFlow";

describe("graph to xyflow", () => {
  it("maps ports to handles and notes to note nodes", () => {
    const a = new FlowAdapter();
    const nodes = a.nodes(sampleGraph(), EMPTY_SELECTION, true);
    expect(nodes[0]).toMatchObject({ id: noteFlowId("n1"), type: "note" });
    expect(nodes[1]).toMatchObject({ id: "start", type: "weft", data: { name: "start", nodeType: "trigger.manual", version: 1 } });
    const edges = a.edges(sampleGraph(), EMPTY_SELECTION, null);
    expect(edges[0]).toMatchObject({ id: "e1", source: "start", sourceHandle: "out", target: "a", targetHandle: "in" });
    // Node data is plain JSON: no callbacks.
    expect(JSON.parse(JSON.stringify(nodes[1].data))).toEqual(nodes[1].data);
  });

  it("reuses the objects of unchanged nodes so only the edited one re-renders", () => {
    const a = new FlowAdapter();
    const g = sampleGraph();
    const first = a.nodes(g, EMPTY_SELECTION, true);
    const g2 = updateNode(g, "b", { name: "B!" });
    const second = a.nodes(g2, { nodes: ["a"], edges: [], notes: [] }, true);
    expect(second[1]).toBe(first[1]); // start: unchanged
    expect(second[2]).not.toBe(first[2]); // a: now selected
    expect(second[2].selected).toBe(true);
    expect(second[3]).not.toBe(first[3]); // b: renamed
    expect(second[4]).toBe(first[4]);
    expect(second[2].data).toBe(first[2].data); // same data object when only selection changed
  });

  it("marks edges with problems", () => {
    const a = new FlowAdapter();
    const edges = a.edges(sampleGraph(), EMPTY_SELECTION, { e2: [{ code: "x", message: "Bad edge", severity: "error", edge_id: "e2" }] });
    expect(edges[1].className).toBe("edge-problem");
    expect(edges[1].data).toEqual({ problem: "Bad edge" });
    expect(edges[0].className).toBeUndefined();
  });
});
