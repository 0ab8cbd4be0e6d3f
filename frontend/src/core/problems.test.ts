import { describe, expect, it } from "vitest";
import { dedupeProblems, problemFieldId, problemMessage, problemWhere, sortProblems } from "./problems";
import type { Problem } from "./types";

const p = (over: Partial<Problem>): Problem => ({ code: "invalid_config", message: "m", severity: "error", ...over });

describe("problems as the editor shows them", () => {
  it("shows each problem once", () => {
    const a = p({ node_id: "if_hs1h5ykr", message: "Node 'Check urgency': bad" });
    const list = [a, { ...a }, p({ node_id: "if_hs1h5ykr", message: "other" }), { ...a, severity: "warning" as const }];
    expect(dedupeProblems(list)).toEqual([a, list[2], list[3]]);
    const unique = [a];
    expect(dedupeProblems(unique)).toBe(unique);
  });

  it("names the node once: beside the message, not again inside it", () => {
    const names = { route: "Route ticket" };
    expect(problemMessage(p({ node_id: "route", message: "Node 'Route ticket', field 'cases.0.condition': Field required." }), names)).toBe(
      "Field 'cases.0.condition': Field required.",
    );
    expect(problemMessage(p({ node_id: "route", message: "Node 'route': unknown function" }), names)).toBe("Unknown function");
    // A sentence about the node keeps its subject; other nodes' names stay.
    expect(problemMessage(p({ node_id: "route", message: "Node 'Route ticket' cannot be reached from the trigger 'Start'." }), names)).toBe(
      "Node 'Route ticket' cannot be reached from the trigger 'Start'.",
    );
    expect(problemMessage(p({ node_id: "other", message: "Node 'Route ticket': x" }), names)).toBe("Node 'Route ticket': x");
    expect(problemMessage(p({ message: "Node 'Route ticket': x" }), names)).toBe("Node 'Route ticket': x");
  });

  it("puts errors before warnings", () => {
    const w = p({ severity: "warning", message: "w" });
    const e = p({ message: "e" });
    expect(sortProblems([w, e]).map((x) => x.message)).toEqual(["e", "w"]);
  });

  it("names the node by its name and keeps the id for hovering", () => {
    expect(problemWhere(p({ node_id: "if_hs1h5ykr" }), { if_hs1h5ykr: "Check urgency" })).toEqual({ label: "Check urgency", hover: "Node id: if_hs1h5ykr" });
    expect(problemWhere(p({ node_id: "x1" }), { x1: "  " }).label).toBe("x1");
    expect(problemWhere(p({ edge_id: "e1" }), {}).label).toBe("Connection");
    expect(problemWhere(p({}), {}).label).toBe("Workflow");
  });

  it("points at the form field a problem names", () => {
    expect(problemFieldId("sw", "config.cases.0.condition")).toBe("cfg-sw_cases_0_condition");
    expect(problemFieldId("sw", "config")).toBe("cfg-sw");
    expect(problemFieldId("sw", "name")).toBe("inspector-name");
    expect(problemFieldId("sw", "source_port")).toBeNull();
    expect(problemFieldId("sw", undefined)).toBeNull();
  });
});
