import { describe, expect, it } from "vitest";
import { HISTORY_LIMIT, canRedo, canUndo, commit, createHistory, redo, replace, undo } from "./history";

describe("undo/redo history", () => {
  it("undoes and redoes commits in order", () => {
    let h = createHistory("a");
    h = commit(h, "b", { now: 0 });
    h = commit(h, "c", { now: 5000 });
    expect(h.present).toBe("c");
    h = undo(h);
    expect(h.present).toBe("b");
    h = undo(h);
    expect(h.present).toBe("a");
    expect(canUndo(h)).toBe(false);
    expect(undo(h)).toBe(h);
    h = redo(h);
    expect(h.present).toBe("b");
    h = redo(h);
    expect(h.present).toBe("c");
    expect(canRedo(h)).toBe(false);
  });

  it("drops the redo stack on a new commit", () => {
    let h = commit(commit(createHistory(1), 2, { now: 0 }), 3, { now: 5000 });
    h = undo(h);
    h = commit(h, 4, { now: 10000 });
    expect(h.present).toBe(4);
    expect(canRedo(h)).toBe(false);
    expect(undo(h).present).toBe(2);
  });

  it("merges a burst of edits with the same key into one step", () => {
    let h = createHistory("");
    h = commit(h, "H", { coalesce: "name:x", now: 0 });
    h = commit(h, "He", { coalesce: "name:x", now: 300 });
    h = commit(h, "Hel", { coalesce: "name:x", now: 600 });
    expect(h.past).toEqual([""]);
    h = commit(h, "Hel!", { coalesce: "name:x", now: 5000 }); // a pause starts a new step
    expect(h.past).toEqual(["", "Hel"]);
    h = commit(h, "other", { coalesce: "config:x", now: 5100 });
    expect(undo(h).present).toBe("Hel!");
  });

  it("records a live drag as one step from where it started", () => {
    let h = createHistory({ x: 0 });
    const origin = h.present;
    h = replace(h, { x: 1 });
    h = replace(h, { x: 2 });
    expect(h.past).toHaveLength(0);
    h = commit(h, { x: 3 }, { from: origin });
    expect(h.present).toEqual({ x: 3 });
    expect(undo(h).present).toBe(origin);
  });

  it("ignores commits that change nothing and caps its size", () => {
    let h = createHistory(0);
    expect(commit(h, 0)).toBe(h);
    for (let i = 1; i <= HISTORY_LIMIT + 20; i++) h = commit(h, i, { now: i * 10000 });
    expect(h.past).toHaveLength(HISTORY_LIMIT);
    expect(h.present).toBe(HISTORY_LIMIT + 20);
  });
});
