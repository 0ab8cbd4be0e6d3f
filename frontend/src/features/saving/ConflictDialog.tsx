/**
 * Someone saved this workflow since we loaded it. Shows what differs and lets the user
 * take their version or keep theirs as a copy; an edit is never dropped silently.
 */
import { useMemo, useState } from "react";
import { diffGraphs } from "../../core/diff";
import { errorMessage } from "../../infrastructure/api";
import { useActions, useEditor, useServices } from "../../infrastructure/context";
import { Dialog } from "../../ui/Dialog";

export function ConflictDialog({ onOpenWorkflow }: { onOpenWorkflow: (id: string) => void }) {
  const conflict = useEditor((s) => s.conflict);
  const mine = useEditor((s) => s.graph);
  const name = useEditor((s) => s.name);
  const description = useEditor((s) => s.description);
  const { api, store } = useServices();
  const actions = useActions();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const diff = useMemo(() => (conflict ? diffGraphs(conflict.theirs, mine) : null), [conflict, mine]);
  if (!conflict || !diff) return null;

  const theirNames = new Map(conflict.theirs.nodes.map((n) => [n.id, n.name]));
  const myNames = new Map(mine.nodes.map((n) => [n.id, n.name]));
  const edgeText = (e: { source: string; target: string; source_port: string; target_port: string }) =>
    `${myNames.get(e.source) ?? theirNames.get(e.source) ?? e.source} → ${myNames.get(e.target) ?? theirNames.get(e.target) ?? e.target}`;

  const keepMine = async () => {
    setBusy(true);
    setError(null);
    try {
      const copy = await api.createWorkflow({ name: `${name} (copy)`, description, graph: mine });
      // My edits now live in the copy: nothing is left unsaved here.
      store.setState({ savedGraph: store.getState().graph, conflict: null, saveStatus: "saved" });
      onOpenWorkflow(copy.id);
    } catch (err) {
      setError(errorMessage(err));
      setBusy(false);
    }
  };

  const rows: [string, string[]][] = [
    ["Nodes only in your version", diff.nodes.onlyMine.map((n) => n.name || n.id)],
    ["Nodes only in theirs", diff.nodes.onlyTheirs.map((n) => n.name || n.id)],
    ["Nodes changed", diff.nodes.changed.map((c) => `${c.name} (${c.fields.join(", ")})`)],
    ["Connections only in your version", diff.edges.onlyMine.map(edgeText)],
    ["Connections only in theirs", diff.edges.onlyTheirs.map(edgeText)],
    ["Notes added, removed or changed", [...diff.notes.onlyMine, ...diff.notes.onlyTheirs].map((n) => n.text.slice(0, 40) || "(empty note)").concat(diff.notes.changed.map(() => "edited note"))],
  ];

  return (
    <Dialog
      title="This workflow was changed by someone else"
      wide
      footer={
        <>
          <button type="button" className="btn btn-default" disabled={busy} onClick={() => actions.acceptTheirs()}>
            Reload theirs
          </button>
          <button type="button" className="btn btn-primary" disabled={busy} onClick={keepMine}>
            {busy ? "Creating copy…" : "Keep mine as a copy"}
          </button>
        </>
      }
    >
      <p>
        <strong>{conflict.updatedBy}</strong> saved revision {conflict.currentRevision} while you were editing. Your changes
        are not saved yet. Choose what to keep:
      </p>
      <ul className="muted small">
        <li>
          <strong>Reload theirs</strong> shows their version and drops your unsaved changes.
        </li>
        <li>
          <strong>Keep mine as a copy</strong> saves your version as a new workflow “{name} (copy)” and opens it.
        </li>
      </ul>
      <div className="diff-table" aria-label="Differences">
        {rows
          .filter(([, items]) => items.length)
          .map(([title, items]) => (
            <div key={title} className="diff-row">
              <div className="diff-title">
                {title} <span className="muted">({items.length})</span>
              </div>
              <div className="diff-items">{items.slice(0, 12).join(", ") + (items.length > 12 ? `, and ${items.length - 12} more` : "")}</div>
            </div>
          ))}
        {diff.identical ? <p className="muted">The graphs are the same; only the revision differs.</p> : null}
      </div>
      {error ? <p className="problem-error">{error}</p> : null}
    </Dialog>
  );
}
