import { describe, expect, it } from "vitest";
import shared from "./portRules.cases.json";
import { drawnPorts, evaluatePortRule, portsOf, usedPorts, type PortRuleEntry } from "./portRules";
import type { NodeTypeSpec } from "./types";

interface SharedCase {
  name: string;
  type: string | null;
  rule: PortRuleEntry[];
  config: unknown;
  ports: unknown[];
}

describe("port rules (the cases tests/nodes/test_port_rules.py runs too)", () => {
  for (const c of (shared as { cases: SharedCase[] }).cases) {
    it(c.name, () => {
      expect(evaluatePortRule(c.rule, c.config)).toEqual(c.ports);
    });
  }
});

const switchRule = (shared as { cases: SharedCase[] }).cases.find((c) => c.type === "control.switch")!.rule;
const spec = {
  type: "control.switch",
  version: 1,
  category: "control",
  label: "Switch",
  description: "",
  icon: "split",
  is_trigger: false,
  inputs: [{ name: "in", label: "in", required: true, multiple: false }],
  outputs: [],
  ports: { inputs: [{ name: "in", label: "in", required: true, multiple: false }], outputs: switchRule },
  config_schema: {},
} as NodeTypeSpec;

describe("ports of a node", () => {
  it("follows the config and caches per config object", () => {
    const config = { cases: [{ label: "Big", condition: "true" }] };
    const a = portsOf(spec, config);
    expect(a.outputs.map((p) => p.name)).toEqual(["case1", "default"]);
    expect(portsOf(spec, config)).toBe(a);
    expect(portsOf(spec, { cases: [] }).outputs.map((p) => p.name)).toEqual(["default"]);
  });

  it("keeps a port an existing edge uses, marked stale, so the edge stays drawn", () => {
    const config = { cases: [{ condition: "true" }] };
    const edges = [
      { id: "e1", source: "s", source_port: "case1", target: "x", target_port: "in" },
      { id: "e2", source: "s", source_port: "case4", target: "y", target_port: "in" },
      { id: "e3", source: "s", source_port: "case4", target: "z", target_port: "in" },
    ];
    const used = usedPorts(edges).get("s")!;
    expect(used).toEqual({ out: ["case1", "case4"], in: [] });
    const drawn = drawnPorts(spec, config, used.out, used.in);
    expect(drawn.outputs.map((p) => p.name)).toEqual(["case1", "default", "case4"]);
    expect([...drawn.stale]).toEqual(["out:case4"]);
    expect(drawnPorts(spec, config, ["case1"]).stale.size).toBe(0);
  });
});
