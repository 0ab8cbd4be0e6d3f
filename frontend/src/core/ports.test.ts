import { describe, expect, it } from "vitest";
import { lookup, node, sampleGraph } from "../test/fixtures";
import { checkConnection, reaches } from "./ports";

const conn = (source: string, sourcePort: string, target: string, targetPort: string) => ({ source, sourcePort, target, targetPort });

describe("connection rules", () => {
  it("allows an output to an input", () => {
    expect(checkConnection(sampleGraph(), conn("b", "true", "m", "in"), lookup)).toEqual({ ok: true });
  });

  it("refuses self loops", () => {
    const r = checkConnection(sampleGraph(), conn("a", "out", "a", "in"), lookup);
    expect(r.ok).toBe(false);
  });

  it("refuses ports the types do not declare (input to input, output to output)", () => {
    const g = sampleGraph();
    expect(checkConnection(g, conn("a", "in", "m", "in"), lookup).ok).toBe(false);
    expect(checkConnection(g, conn("b", "true", "m", "out"), lookup).ok).toBe(false);
    expect(checkConnection(g, conn("b", "maybe", "m", "in"), lookup).ok).toBe(false);
  });

  it("lets a single input take only one edge, and a multiple input take several", () => {
    const g = sampleGraph();
    // a.in is already fed by start
    const r = checkConnection({ ...g, nodes: [...g.nodes, node("c")] }, conn("c", "out", "a", "in"), lookup);
    expect(r).toMatchObject({ ok: false });
    expect((r as { reason: string }).reason).toMatch(/takes one connection/);
    const g2 = { ...g, edges: [...g.edges, { id: "e3", source: "b", source_port: "true", target: "m", target_port: "in" }] };
    expect(checkConnection(g2, conn("b", "false", "m", "in"), lookup).ok).toBe(true);
    // ...but not the same two ports twice
    expect(checkConnection(g2, conn("b", "true", "m", "in"), lookup).ok).toBe(false);
  });

  it("refuses connections that would close a cycle", () => {
    const g = sampleGraph();
    const g2 = { ...g, edges: [...g.edges, { id: "e3", source: "b", source_port: "true", target: "m", target_port: "in" }] };
    expect(reaches(g2, "start", "m")).toBe(true);
    expect(reaches(g2, "m", "start")).toBe(false);
    const r = checkConnection(g2, conn("m", "out", "a", "in"), lookup);
    expect(r.ok).toBe(false);
    // a node that feeds nothing back may connect
    const g3 = { ...g2, nodes: [...g2.nodes, node("z")] };
    const r2 = checkConnection(g3, conn("m", "out", "z", "in"), lookup);
    expect(r2.ok).toBe(true);
    const g4 = { ...g3, edges: [...g3.edges, { id: "e4", source: "m", source_port: "out", target: "z", target_port: "in" }] };
    expect(checkConnection(g4, conn("z", "out", "b", "in"), lookup).ok).toBe(false);
  });

  it("refuses unknown nodes and unknown types", () => {
    const g = sampleGraph();
    expect(checkConnection(g, conn("ghost", "out", "m", "in"), lookup).ok).toBe(false);
    const g2 = { ...g, nodes: [...g.nodes, node("u", "vendor.unknown")] };
    expect(checkConnection(g2, conn("u", "out", "m", "in"), lookup).ok).toBe(false);
  });

  it("stays fast on a 500-node chain", () => {
    const nodes = Array.from({ length: 500 }, (_, i) => node(`n${i}`));
    const edges = nodes.slice(1).map((n, i) => ({ id: `e${i}`, source: `n${i}`, source_port: "out", target: n.id, target_port: "in" }));
    const g = { nodes: [...nodes, node("m", "control.merge")], edges, notes: [] };
    const t = performance.now();
    for (let i = 0; i < 100; i++) checkConnection(g, conn("n499", "out", "m", "in"), lookup);
    expect(checkConnection(g, conn("n499", "out", "n0", "in"), lookup).ok).toBe(false);
    expect(performance.now() - t).toBeLessThan(2000);
  });
});
