/**
 * What an expression in a node of the draft sees, from the store's test data: each
 * node's pin, else what it last gave in a test run; the trigger's sample input when it
 * has not run. Shared by the input panel and the expression fields' autocomplete.
 */
import { portsOf } from "../core/portRules";
import { scopeFor, type Scope } from "../core/paths";
import { typeKey } from "../core/types";
import { outputsOf, type EditorState } from "./editorStore";

export function draftOutputs(s: EditorState): Record<string, Record<string, unknown> | undefined> {
  const out: Record<string, Record<string, unknown> | undefined> = {};
  for (const n of s.graph.nodes) {
    const spec = s.typeIndex[typeKey(n.type, n.version)];
    out[n.id] = outputsOf(s, n.id);
    if (!out[n.id] && spec?.is_trigger && n.config && typeof n.config.sample_input === "object") {
      out[n.id] = { [portsOf(spec, n.config).outputs[0]?.name ?? "out"]: n.config.sample_input };
    }
  }
  return out;
}

export function firstPortOf(s: EditorState, nodeId: string): string | undefined {
  const n = s.graph.nodes.find((x) => x.id === nodeId);
  const spec = n ? s.typeIndex[typeKey(n.type, n.version)] : undefined;
  return spec && n ? portsOf(spec, n.config).outputs[0]?.name : undefined;
}

export function draftScope(s: EditorState, nodeId: string): Scope {
  const outputs = draftOutputs(s);
  const trigger = s.graph.nodes.find((n) => s.typeIndex[typeKey(n.type, n.version)]?.is_trigger);
  const runInput = trigger ? Object.values(outputs[trigger.id] ?? {})[0] : undefined;
  return scopeFor(s.graph, nodeId, outputs, runInput ?? {}, (id) => firstPortOf(s, id));
}

export interface Samples {
  input?: unknown;
  nodes?: Record<string, { output: unknown; outputs: Record<string, unknown> }>;
  run?: Record<string, unknown>;
}

/**
 * Sample data for typed checks and the live preview of an expression in `nodeId`:
 * only what is known. `nodes` only when every node before it has data (else a node
 * without data would read as unknown), `run` with every field the run gives.
 */
export function samplesFor(s: EditorState, nodeId: string): Samples | undefined {
  const scope = draftScope(s, nodeId);
  const before = ancestorCount(s, nodeId);
  const samples: Samples = {};
  if (scope.input !== undefined) samples.input = scope.input;
  if (before > 0 && Object.keys(scope.nodes).length === before) samples.nodes = scope.nodes;
  if (scope.run.input && typeof scope.run.input === "object" && Object.keys(scope.run.input).length) {
    samples.run = { id: "", input: scope.run.input, trigger: "manual", trace_id: "", workflow_id: "", workflow: { id: "", version: 0 } };
  }
  return Object.keys(samples).length ? samples : undefined;
}

function ancestorCount(s: EditorState, nodeId: string): number {
  const seen = new Set<string>();
  const todo = [nodeId];
  while (todo.length) {
    const id = todo.pop()!;
    for (const e of s.graph.edges) if (e.target === id && !seen.has(e.source)) {
      seen.add(e.source);
      todo.push(e.source);
    }
  }
  seen.delete(nodeId);
  return seen.size;
}
