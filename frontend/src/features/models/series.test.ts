import { describe, expect, it } from "vitest";
import { confidenceBinLabels, hourLabel, labelShares, shares, type HourPoint } from "./series";

describe("model page series", () => {
  it("turns label counts into shares per hour", () => {
    const hours: HourPoint[] = [
      { hour: "2026-11-29T10:00:00+00:00", calls: 4, errors: 0, p50_ms: 1, p95_ms: 2, p99_ms: 3, labels: { ok: 3, risky: 1 } },
      { hour: "2026-11-29T11:00:00+00:00", calls: 2, errors: 1, p50_ms: 1, p95_ms: 2, p99_ms: 3, labels: { risky: 1 } },
    ];
    const { labels, series } = labelShares(hours);
    expect(labels).toEqual(["ok", "risky"]);
    expect(series.ok).toEqual([0.75, 0]);
    expect(series.risky).toEqual([0.25, 1]);
  });

  it("compares windows of different sizes as shares", () => {
    expect(shares([1, 3])).toEqual([0.25, 0.75]);
    expect(shares([0, 0])).toEqual([0, 0]);
  });

  it("names bins and hours", () => {
    expect(confidenceBinLabels(2)).toEqual(["0.0–0.5", "0.5–1.0"]);
    expect(hourLabel("2026-11-29T14:00:00+00:00")).toBe("11-29 14:00");
  });
});
