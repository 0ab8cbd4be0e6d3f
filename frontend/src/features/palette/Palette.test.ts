import { describe, expect, it } from "vitest";
import { TYPES } from "../../test/fixtures";
import { groupTypes } from "./Palette";

describe("palette grouping", () => {
  it("groups by category in a fixed order, newest version only, and filters by search", () => {
    const types = [...TYPES, { ...TYPES[1], version: 2, label: "No operation" }];
    const groups = groupTypes(types, "");
    expect(groups.map(([c]) => c)).toEqual(["trigger", "data", "control"]);
    expect(groups[1][1]).toHaveLength(1);
    expect(groups[1][1][0].version).toBe(2);
    expect(groupTypes(types, "merge").map(([c, l]) => [c, l.map((t) => t.type)])).toEqual([["control", ["control.merge"]]]);
    expect(groupTypes(types, "zzz")).toEqual([]);
  });
});
