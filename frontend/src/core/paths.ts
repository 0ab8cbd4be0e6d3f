/**
 * Paths an expression can reach, from the data the nodes before a node last produced
 * (or their pins, or the trigger's sample input): `input.amount`, `nodes.fetch.output.id`,
 * `run.input.customer`, `vars.x`. Framework-free; the inspector offers them as
 * autocomplete and the input panel lets the builder drag them into a field.
 */
import type { Graph } from "./types";

export type ValueKind = "string" | "int" | "double" | "bool" | "null" | "list" | "map";

export interface DataPath {
  path: string;
  kind: ValueKind;
  /** A short rendering of the value, for the list. */
  preview: string;
}

export function kindOf(value: unknown): ValueKind {
  if (value === null || value === undefined) return "null";
  if (Array.isArray(value)) return "list";
  if (typeof value === "object") return "map";
  if (typeof value === "boolean") return "bool";
  if (typeof value === "number") return Number.isInteger(value) ? "int" : "double";
  return "string";
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** How CEL reaches `key` under `base`: `base.key`, or `base["key"]` when not an identifier. */
export function member(base: string, key: string): string {
  return IDENT.test(key) ? `${base}.${key}` : `${base}[${JSON.stringify(key)}]`;
}

function preview(value: unknown): string {
  const kind = kindOf(value);
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  if (kind === "map") return `{${plural(Object.keys(value as object).length, "field")}}`;
  if (kind === "list") return `[${plural((value as unknown[]).length, "item")}]`;
  const text = JSON.stringify(value) ?? "null";
  return text.length > 40 ? `${text.slice(0, 39)}…` : text;
}

/** Every path into `value` under `base` (the value itself first), a few levels deep;
 * a list is entered through its first item (`base[0]`). */
export function pathsOf(value: unknown, base: string, depth = 4, out: DataPath[] = []): DataPath[] {
  out.push({ path: base, kind: kindOf(value), preview: preview(value) });
  if (depth <= 0 || out.length > 500) return out;
  if (Array.isArray(value)) {
    if (value.length) pathsOf(value[0], `${base}[0]`, depth - 1, out);
  } else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) pathsOf(v, member(base, k), depth - 1, out);
  }
  return out;
}

/** What an expression in node `nodeId` sees, as the run would give it, from what each
 * node last produced (`outputs`: node id -> its outputs by port, the first port first). */
export interface Scope {
  input: unknown;
  nodes: Record<string, { output: unknown; outputs: Record<string, unknown> }>;
  run: { input: unknown };
  vars: Record<string, unknown>;
}

export function scopeFor(
  graph: Graph,
  nodeId: string,
  outputs: Record<string, Record<string, unknown> | undefined>,
  runInput: unknown,
  firstPort: (nodeId: string) => string | undefined,
): Scope {
  const sources = new Map<string, { source: string; port: string; targetPort: string }[]>();
  for (const e of graph.edges) {
    const list = sources.get(e.target) ?? [];
    list.push({ source: e.source, port: e.source_port, targetPort: e.target_port });
    sources.set(e.target, list);
  }
  const before = new Set<string>();
  const todo = [nodeId];
  while (todo.length) {
    for (const s of sources.get(todo.pop()!) ?? []) {
      if (!before.has(s.source)) {
        before.add(s.source);
        todo.push(s.source);
      }
    }
  }
  const nodes: Scope["nodes"] = {};
  for (const id of before) {
    const out = outputs[id];
    if (!out) continue;
    const first = firstPort(id);
    nodes[id] = { output: first !== undefined ? out[first] : Object.values(out)[0], outputs: out };
  }
  const incoming = sources.get(nodeId) ?? [];
  const ports = [...new Set(incoming.map((s) => s.targetPort))];
  const valueOn = (port: string) => {
    for (const s of incoming) if (s.targetPort === port && outputs[s.source]?.[s.port] !== undefined) return outputs[s.source]![s.port];
    return undefined;
  };
  const input = ports.length <= 1 ? (ports[0] ? valueOn(ports[0]) : undefined) : Object.fromEntries(ports.map((p) => [p, valueOn(p)]));
  return { input, nodes, run: { input: runInput }, vars: {} };
}

/** Every path an expression in the node can use, `input.` first. */
export function scopePaths(scope: Scope): DataPath[] {
  const out: DataPath[] = [];
  if (scope.input !== undefined) pathsOf(scope.input, "input", 4, out);
  for (const [id, n] of Object.entries(scope.nodes)) pathsOf(n.output, `${member("nodes", id)}.output`, 3, out);
  pathsOf(scope.run.input, "run.input", 3, out);
  return out;
}

/** The word being typed at `caret` in an expression (a dotted path), to complete. */
export function pathAt(text: string, caret: number): { start: number; prefix: string } {
  let start = caret;
  while (start > 0 && /[A-Za-z0-9_.\[\]"]/.test(text[start - 1])) start--;
  return { start, prefix: text.slice(start, caret) };
}

/** Paths that complete `prefix` (case-insensitive prefix match, then contains). */
export function completions(paths: DataPath[], prefix: string, limit = 12): DataPath[] {
  const p = prefix.toLowerCase();
  if (!p) return paths.slice(0, limit);
  const starts = paths.filter((x) => x.path.toLowerCase().startsWith(p) && x.path.length > p.length);
  const contains = paths.filter((x) => !x.path.toLowerCase().startsWith(p) && x.path.toLowerCase().includes(p));
  return [...starts, ...contains].slice(0, limit);
}
