/**
 * Every validation problem of the draft, once each, naming nodes by their names (the id
 * on hover). Clicking one selects the node and focuses the field it is about.
 */
import { memo, useMemo } from "react";
import { problemMessage, problemWhere, sortProblems } from "../../core/problems";
import type { Problem } from "../../core/types";
import { useActions, useEditor } from "../../infrastructure/context";
import type { EditorActions } from "../../infrastructure/editorStore";
import { Icon } from "../../ui/Icon";

export function ProblemsPanel({ onClose }: { onClose?: () => void }) {
  const problems = useEditor((s) => s.problems);
  const validating = useEditor((s) => s.validating);
  // Names and edge targets change rarely; positions change on every drag frame. Select a
  // signature string so dragging a node does not re-render this list.
  const namesKey = useEditor((s) => problemNames(s.graph.nodes, s.graph.edges, s.problems));
  const actions = useActions();
  const names = useMemo(() => JSON.parse(namesKey) as Record<string, string>, [namesKey]);
  const sorted = useMemo(() => sortProblems(problems), [problems]);
  return (
    <section className="problems-panel" aria-label="Problems">
      <header className="panel-header">
        <h2>
          Problems {validating ? <span className="muted small">checking…</span> : null}
        </h2>
        {onClose ? (
          <button type="button" className="icon-button" aria-label="Collapse problems to a count" title="Collapse to a count" onClick={onClose}>
            <Icon name="x" size={14} />
          </button>
        ) : null}
      </header>
      {sorted.length === 0 ? (
        <p className="muted problems-empty">
          <Icon name="check" size={14} /> No problems found.
        </p>
      ) : (
        <ul className="problems-list">
          {sorted.map((p, i) => (
            <ProblemRow key={`${p.code}-${p.node_id ?? ""}-${p.edge_id ?? ""}-${i}`} problem={p} names={names} actions={actions} />
          ))}
        </ul>
      )}
    </section>
  );
}

/** Node names and edge targets the problems mention, as a stable JSON signature. */
function problemNames(nodes: { id: string; name: string }[], edges: { id: string; target: string }[], problems: Problem[]): string {
  if (problems.length === 0) return "{}";
  const wanted = new Set<string>();
  const edgeIds = new Set<string>();
  for (const p of problems) {
    if (p.node_id) wanted.add(p.node_id);
    if (p.edge_id) edgeIds.add(p.edge_id);
  }
  const out: Record<string, string> = {};
  for (const e of edges) if (edgeIds.has(e.id)) out[`edge:${e.id}`] = e.target;
  for (const n of nodes) if (wanted.has(n.id)) out[n.id] = n.name;
  return JSON.stringify(out);
}

const ProblemRow = memo(function ProblemRow({ problem: p, names, actions }: { problem: Problem; names: Record<string, string>; actions: EditorActions }) {
  const target = p.node_id ?? (p.edge_id ? names[`edge:${p.edge_id}`] : undefined);
  const where = problemWhere(p, names);
  return (
    <li>
      <button
        type="button"
        className={`problem-item problem-${p.severity}`}
        onClick={() => {
          if (p.edge_id) actions.setSelection({ nodes: [], edges: [p.edge_id], notes: [] });
          if (target) actions.focusNode(target, p.node_id ? p.field : undefined);
        }}
        disabled={!target}
        aria-label={`${p.severity}: ${p.message}`}
      >
        <Icon name={p.severity === "error" ? "alert" : "info"} size={14} />
        <span className="problem-where" title={where.hover}>
          {where.label}
        </span>
        <span className="problem-message">{problemMessage(p, names)}</span>
      </button>
    </li>
  );
});
