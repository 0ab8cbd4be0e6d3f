/**
 * Which connections the editor allows while a wire is being dragged. The server's
 * validator is the authority; this refuses the obvious mistakes before they are made.
 */
import { portsOf } from "./portRules";
import type { Graph, GraphNode, NodeTypeSpec } from "./types";

export interface ConnectionRequest {
  source: string;
  sourcePort: string;
  target: string;
  targetPort: string;
}

export type TypeLookup = (node: GraphNode) => NodeTypeSpec | undefined;

export type ConnectionCheck = { ok: true } | { ok: false; reason: string };

/** True when `to` can already be reached from `from` by following edges forward. */
export function reaches(graph: Graph, from: string, to: string): boolean {
  if (from === to) return true;
  const next = new Map<string, string[]>();
  for (const e of graph.edges) {
    const list = next.get(e.source);
    if (list) list.push(e.target);
    else next.set(e.source, [e.target]);
  }
  const seen = new Set<string>([from]);
  const stack = [from];
  while (stack.length) {
    const id = stack.pop()!;
    for (const t of next.get(id) ?? []) {
      if (t === to) return true;
      if (!seen.has(t)) {
        seen.add(t);
        stack.push(t);
      }
    }
  }
  return false;
}

export function checkConnection(graph: Graph, c: ConnectionRequest, lookup: TypeLookup): ConnectionCheck {
  if (!c.source || !c.target || !c.sourcePort || !c.targetPort) return { ok: false, reason: "Connect an output port to an input port." };
  if (c.source === c.target) return { ok: false, reason: "A node cannot connect to itself." };
  const source = graph.nodes.find((n) => n.id === c.source);
  const target = graph.nodes.find((n) => n.id === c.target);
  if (!source || !target) return { ok: false, reason: "Both ends must be nodes of this workflow." };
  const sourceType = lookup(source);
  const targetType = lookup(target);
  if (!sourceType || !targetType) return { ok: false, reason: "Unknown node type." };
  if (!portsOf(sourceType, source.config).outputs.some((p) => p.name === c.sourcePort)) {
    return { ok: false, reason: `"${source.name}" has no output "${c.sourcePort}".` };
  }
  const inPort = portsOf(targetType, target.config).inputs.find((p) => p.name === c.targetPort);
  if (!inPort) return { ok: false, reason: `"${target.name}" has no input "${c.targetPort}".` };
  const into = graph.edges.filter((e) => e.target === c.target && e.target_port === c.targetPort);
  if (into.some((e) => e.source === c.source && e.source_port === c.sourcePort)) {
    return { ok: false, reason: "These ports are already connected." };
  }
  if (!inPort.multiple && into.length > 0) {
    return { ok: false, reason: `Input "${inPort.label || inPort.name}" of "${target.name}" takes one connection.` };
  }
  if (reaches(graph, c.target, c.source)) return { ok: false, reason: "This connection would make a cycle." };
  return { ok: true };
}
