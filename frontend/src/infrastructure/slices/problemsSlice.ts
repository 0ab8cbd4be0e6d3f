/** Validation problems of the draft, indexed by node and edge for the canvas. */
import { dedupeProblems } from "../../core/problems";
import type { Problem } from "../../core/types";
import type { Slice } from "./types";

export interface ProblemIndex {
  byNode: Record<string, Problem[]>;
  byEdge: Record<string, Problem[]>;
  errorCount: number;
  warningCount: number;
}

export interface ProblemsState {
  problems: Problem[];
  problemIndex: ProblemIndex;
  validating: boolean;
}

export interface ProblemsActions {
  setProblems(problems: Problem[]): void;
  setValidating(v: boolean): void;
}

/**
 * Keeps the previous per-node arrays when a node's problems did not change, so each
 * validation answer re-renders only the nodes whose problems changed.
 */
export function indexProblems(problems: Problem[], previous?: ProblemIndex): ProblemIndex {
  const next = buildProblemIndex(problems);
  if (!previous) return next;
  const keep = (cur: Record<string, Problem[]>, old: Record<string, Problem[]>) => {
    for (const [id, list] of Object.entries(cur)) {
      const before = old[id];
      if (before && before.length === list.length && before.every((p, i) => sameProblem(p, list[i]))) cur[id] = before;
    }
  };
  keep(next.byNode, previous.byNode);
  keep(next.byEdge, previous.byEdge);
  return next;
}

function sameProblem(a: Problem, b: Problem): boolean {
  return a.code === b.code && a.message === b.message && a.severity === b.severity && a.node_id === b.node_id && a.edge_id === b.edge_id && a.field === b.field;
}

function buildProblemIndex(problems: Problem[]): ProblemIndex {
  const byNode: Record<string, Problem[]> = {};
  const byEdge: Record<string, Problem[]> = {};
  let errorCount = 0;
  let warningCount = 0;
  for (const p of problems) {
    if (p.severity === "error") errorCount++;
    else warningCount++;
    if (p.node_id) (byNode[p.node_id] ??= []).push(p);
    if (p.edge_id) (byEdge[p.edge_id] ??= []).push(p);
  }
  return { byNode, byEdge, errorCount, warningCount };
}

export const createProblemsSlice: Slice<ProblemsState & ProblemsActions> = (set, get) => ({
  problems: [],
  problemIndex: indexProblems([]),
  validating: false,

  setProblems(problems) {
    const unique = dedupeProblems(problems);
    set({ problems: unique, problemIndex: indexProblems(unique, get().problemIndex) });
  },

  setValidating(validating) {
    if (get().validating !== validating) set({ validating });
  },
});
