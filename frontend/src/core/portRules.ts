/**
 * Ports that follow a node's configuration. The server serves each node type's rule
 * (`ports` in GET /api/node-types/); this evaluates it on every edit, so a form change
 * redraws the ports at once. The same rule is evaluated by apps/nodes/ports.py, and
 * both run over portRules.cases.json so they agree.
 *
 * An entry is a port (`{name, label, required, multiple}`, drawn only `when` a config
 * field equals a value) or a repeat over a list field (`{from: "cases", name: "case{n}",
 * label: "{label}", fallback_label: "Case {n}", max: 10}`). The first port of a name wins.
 */
import type { GraphEdge, NodeTypeSpec, PortSpec } from "./types";

export interface PortRuleEntry {
  name: string;
  label?: string;
  required?: boolean;
  multiple?: boolean;
  when?: { field: string; equals: unknown; default?: unknown };
  from?: string;
  fallback_label?: string;
  max?: number;
}

export interface PortRules {
  inputs: PortRuleEntry[];
  outputs: PortRuleEntry[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === "object" && !Array.isArray(v);

function read(config: unknown, path: string, fallback: unknown): unknown {
  let value: unknown = config;
  for (const part of path.split(".")) {
    if (!isObj(value) || !(part in value)) return fallback;
    value = value[part];
  }
  return value === null || value === undefined ? fallback : value;
}

function fill(template: string, n: number, item: unknown): string {
  return template
    .replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, key: string) => {
      if (key === "n") return String(n);
      const value = isObj(item) ? item[key] : undefined;
      return value === null || value === undefined ? "" : String(value);
    })
    .trim();
}

function port(name: string, entry: PortRuleEntry, label: string): PortSpec {
  return { name, label: label || name, required: entry.required ?? true, multiple: entry.multiple ?? false };
}

/** The ports a config gives under `rule`, in drawing order. */
export function evaluatePortRule(rule: PortRuleEntry[], config: unknown): PortSpec[] {
  const cfg = isObj(config) ? config : {};
  const out: PortSpec[] = [];
  const seen = new Set<string>();
  const add = (p: PortSpec) => {
    if (p.name && !seen.has(p.name)) {
      seen.add(p.name);
      out.push(p);
    }
  };
  for (const entry of rule) {
    if (entry.when && read(cfg, entry.when.field, entry.when.default) !== entry.when.equals) continue;
    if (entry.from === undefined) {
      add(port(entry.name, entry, entry.label ?? ""));
      continue;
    }
    const found = read(cfg, entry.from, []);
    const items = Array.isArray(found) ? found : [];
    const limited = entry.max !== undefined ? items.slice(0, entry.max) : items;
    limited.forEach((item, i) => {
      const n = i + 1;
      const label = fill(entry.label ?? "", n, item) || fill(entry.fallback_label ?? entry.name, n, item);
      add(port(fill(entry.name, n, item), entry, label));
    });
  }
  return out;
}

export interface NodePorts {
  inputs: PortSpec[];
  outputs: PortSpec[];
  /** Ports an existing edge uses that this config does not give: drawn, marked stale. */
  stale: Set<string>;
}

const cache = new WeakMap<NodeTypeSpec, WeakMap<object, { inputs: PortSpec[]; outputs: PortSpec[] }>>();

/** A node's ports for its current config (the static ones when the type serves no rule). */
export function portsOf(spec: NodeTypeSpec, config: Record<string, unknown>): { inputs: PortSpec[]; outputs: PortSpec[] } {
  let byConfig = cache.get(spec);
  if (!byConfig) cache.set(spec, (byConfig = new WeakMap()));
  let hit = byConfig.get(config);
  if (!hit) {
    hit = spec.ports
      ? { inputs: evaluatePortRule(spec.ports.inputs, config), outputs: evaluatePortRule(spec.ports.outputs, config) }
      : { inputs: spec.inputs, outputs: spec.outputs };
    byConfig.set(config, hit);
  }
  return hit;
}

/**
 * What the canvas draws for a node: its config's ports, plus any port an edge still
 * uses (`usedOutputs`/`usedInputs`: the port names the node's edges name) that the
 * config no longer gives (a removed Switch case, an `error` port the policy no longer
 * feeds), so that edge stays visible next to the warning about it.
 */
export function drawnPorts(spec: NodeTypeSpec, config: Record<string, unknown>, usedOutputs: readonly string[] = [], usedInputs: readonly string[] = []): NodePorts {
  const { inputs, outputs } = portsOf(spec, config);
  const stale = new Set<string>();
  const extra = (ports: PortSpec[], used: readonly string[], side: string) => {
    const more: PortSpec[] = [];
    for (const name of used) {
      if (ports.some((p) => p.name === name) || stale.has(`${side}:${name}`)) continue;
      stale.add(`${side}:${name}`);
      more.push({ name, label: name, required: false, multiple: false });
    }
    return more.length ? [...ports, ...more] : ports;
  };
  const drawnOut = extra(outputs, usedOutputs, "out");
  const drawnIn = extra(inputs, usedInputs, "in");
  return { inputs: drawnIn, outputs: drawnOut, stale };
}

/** Per node id, the port names its edges use ("out" side and "in" side). */
export function usedPorts(edges: GraphEdge[]): Map<string, { out: string[]; in: string[] }> {
  const map = new Map<string, { out: string[]; in: string[] }>();
  const entry = (id: string) => {
    let e = map.get(id);
    if (!e) map.set(id, (e = { out: [], in: [] }));
    return e;
  };
  for (const e of edges) {
    const s = entry(e.source);
    if (!s.out.includes(e.source_port)) s.out.push(e.source_port);
    const t = entry(e.target);
    if (!t.in.includes(e.target_port)) t.in.push(e.target_port);
  }
  return map;
}
