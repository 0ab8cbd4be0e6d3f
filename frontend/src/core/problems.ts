/**
 * Problems as the editor shows them: once each, about a node by its name, and pointing
 * at the form field they concern.
 */
import type { Problem } from "./types";

const keyOf = (p: Problem) => [p.severity, p.code, p.node_id ?? "", p.edge_id ?? "", p.field ?? "", p.message].join("\u0000");

/** The same problem reported twice (two checks reaching it, two answers merged) shows once. */
export function dedupeProblems(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  const out: Problem[] = [];
  for (const p of problems) {
    const key = keyOf(p);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(p);
  }
  return out.length === problems.length ? problems : out;
}

/** Errors first, then warnings, each in the order the server gave. */
export function sortProblems(problems: Problem[]): Problem[] {
  return [...problems].sort((a, b) => (a.severity === b.severity ? 0 : a.severity === "error" ? -1 : 1));
}

/**
 * Where a problem is, for the list: the node's name (the id only on hover, `hover`),
 * "Connection" for an edge, "Workflow" otherwise.
 */
export function problemWhere(p: Problem, names: Record<string, string>): { label: string; hover?: string } {
  if (p.node_id) {
    const name = names[p.node_id];
    return { label: name?.trim() ? name : p.node_id, hover: `Node id: ${p.node_id}` };
  }
  if (p.edge_id) return { label: "Connection", hover: `Connection id: ${p.edge_id}` };
  return { label: "Workflow" };
}

/**
 * A problem's message without the node it names at its start ("Node 'Route ticket',
 * field 'x': ..." -> "Field 'x': ..."), for where the node's name is shown beside it:
 * the name once per line. Other messages are left as they are.
 */
export function problemMessage(p: Problem, names: Record<string, string>): string {
  if (!p.node_id) return p.message;
  for (const who of [names[p.node_id]?.trim(), p.node_id]) {
    if (!who) continue;
    for (const quoted of [`'${who}'`, `"${who}"`]) {
      const prefix = `Node ${quoted}`;
      if (!p.message.startsWith(prefix)) continue;
      const rest = p.message.slice(prefix.length).replace(/^(, |: )/, "");
      if (rest === p.message.slice(prefix.length)) return p.message; // "Node 'x' has ..." reads as a sentence
      return rest.charAt(0).toUpperCase() + rest.slice(1);
    }
  }
  return p.message;
}

/**
 * The DOM id of the inspector input a problem's `field` names, for a node whose form
 * uses `cfg-<nodeId>` as rjsf's id prefix: "config.cases.0.condition" gives
 * "cfg-<id>_cases_0_condition"; "name" the name box; "config" the form's first field.
 */
export function problemFieldId(nodeId: string, field: string | undefined): string | null {
  if (!field) return null;
  if (field === "name") return "inspector-name";
  if (field === "config") return `cfg-${nodeId}`;
  if (!field.startsWith("config.")) return null;
  return `cfg-${nodeId}_${field.slice("config.".length).split(".").join("_")}`;
}
