/** Every validation problem of the draft; clicking one focuses the node or edge it is about. */
import { useActions, useEditor } from "../../infrastructure/context";
import { Icon } from "../../ui/Icon";

export function ProblemsPanel({ onClose }: { onClose?: () => void }) {
  const problems = useEditor((s) => s.problems);
  const validating = useEditor((s) => s.validating);
  const graph = useEditor((s) => s.graph);
  const actions = useActions();
  const nameOf = (id?: string) => (id ? graph.nodes.find((n) => n.id === id)?.name ?? id : "");
  const sorted = [...problems].sort((a, b) => (a.severity === b.severity ? 0 : a.severity === "error" ? -1 : 1));
  return (
    <section className="problems-panel" aria-label="Problems">
      <header className="panel-header">
        <h2>
          Problems {validating ? <span className="muted small">checking…</span> : null}
        </h2>
        {onClose ? (
          <button type="button" className="icon-button" aria-label="Hide problems" onClick={onClose}>
            ×
          </button>
        ) : null}
      </header>
      {sorted.length === 0 ? (
        <p className="muted problems-empty">
          <Icon name="check" size={14} /> No problems found.
        </p>
      ) : (
        <ul className="problems-list">
          {sorted.map((p, i) => {
            const target = p.node_id ?? (p.edge_id ? graph.edges.find((e) => e.id === p.edge_id)?.target : undefined);
            return (
              <li key={`${p.code}-${p.node_id ?? ""}-${p.edge_id ?? ""}-${i}`}>
                <button
                  type="button"
                  className={`problem-item problem-${p.severity}`}
                  onClick={() => {
                    if (p.edge_id) actions.setSelection({ nodes: [], edges: [p.edge_id], notes: [] });
                    if (target) actions.focusNode(target);
                  }}
                  disabled={!target}
                  aria-label={`${p.severity}: ${p.message}`}
                >
                  <Icon name={p.severity === "error" ? "alert" : "info"} size={14} />
                  <span className="problem-where">{p.node_id ? nameOf(p.node_id) : p.edge_id ? "Connection" : "Workflow"}</span>
                  <span className="problem-message">{p.message}</span>
                </button>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
