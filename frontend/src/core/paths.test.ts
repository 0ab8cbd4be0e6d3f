import { describe, expect, it } from "vitest";
import { sampleGraph } from "../test/fixtures";
import { completions, member, pathAt, pathsOf, scopeFor, scopePaths } from "./paths";

describe("expression paths from sample data", () => {
  it("lists every field with its kind, lists through their first item", () => {
    const paths = pathsOf({ amount: 3, price: 9.5, tags: ["a"], "first name": "Ada", ok: true }, "input");
    expect(paths.map((p) => [p.path, p.kind])).toEqual([
      ["input", "map"],
      ["input.amount", "int"],
      ["input.price", "double"],
      ["input.tags", "list"],
      ["input.tags[0]", "string"],
      ['input["first name"]', "string"],
      ["input.ok", "bool"],
    ]);
    expect(member("nodes", "if_1")).toBe("nodes.if_1");
    expect(member("nodes", "my-node")).toBe('nodes["my-node"]');
  });

  it("gives a node the data of the nodes before it, not after it", () => {
    const graph = sampleGraph(); // start -> a -> b
    const outputs = { start: { out: { amount: 3 } }, a: { out: { amount: 3, total: 6 } }, b: { true: { late: 1 } } };
    const scope = scopeFor(graph, "b", outputs, { amount: 3 }, () => "out");
    expect(scope.input).toEqual({ amount: 3, total: 6 });
    expect(Object.keys(scope.nodes).sort()).toEqual(["a", "start"]);
    const paths = scopePaths(scope).map((p) => p.path);
    expect(paths).toContain("input.total");
    expect(paths).toContain("nodes.a.output.total");
    expect(paths).toContain("run.input.amount");
    expect(paths.some((p) => p.includes("late"))).toBe(false);
    // The trigger sees no input; a node with nothing upstream has an empty scope but run.input.
    expect(scopeFor(graph, "start", outputs, {}, () => "out").input).toBeUndefined();
  });

  it("completes the path being typed", () => {
    const paths = pathsOf({ amount: 3, address: { city: "Oslo" } }, "input");
    const at = pathAt("double(input.a", 14);
    expect(at).toEqual({ start: 7, prefix: "input.a" });
    expect(completions(paths, at.prefix).map((p) => p.path)).toEqual(["input.amount", "input.address", "input.address.city"]);
    expect(completions(paths, "city").map((p) => p.path)).toEqual(["input.address.city"]);
  });
});
