import { describe, expect, it } from "vitest";
import type { RunRow } from "../../infrastructure/api";
import { durationText, mergeRuns } from "./RunHistory";

const row = (id: string, status = "succeeded"): RunRow =>
  ({ id, short_id: id.slice(0, 8), status, workflow: "w", workflow_name: "W", version: 1, trigger: "manual", started_by: "ann", created_at: "", started_at: null, finished_at: null, duration_ms: null, error: null }) as RunRow;

describe("the Runs tab", () => {
  it("puts a re-read first page over the loaded rows, each run once", () => {
    const merged = mergeRuns([row("c"), row("b", "failed")], [row("b"), row("a")]);
    expect(merged.map((r) => [r.id, r.status])).toEqual([
      ["c", "succeeded"],
      ["b", "failed"],
      ["a", "succeeded"],
    ]);
  });

  it("says durations in a person's units", () => {
    expect(durationText(12)).toBe("12 ms");
    expect(durationText(1500)).toBe("1.5 s");
    expect(durationText(125000)).toBe("2 min 5 s");
    expect(durationText(null)).toBe("");
  });
});
