/** Published versions: view one read-only on the canvas, or restore it into the draft. */
import { useCallback, useEffect, useState } from "react";
import { errorMessage, type VersionSummary } from "../../infrastructure/api";
import { useEditor, useServices } from "../../infrastructure/context";
import { hasUnsavedChanges } from "../../infrastructure/editorStore";
import { formatTime, userName } from "../../ui/format";
import { Icon } from "../../ui/Icon";
import { ComparePanel } from "./ComparePanel";

export function VersionsPanel() {
  const { api, store, autosave } = useServices();
  const workflowId = useEditor((s) => s.workflowId);
  const latest = useEditor((s) => s.latestVersion);
  const viewing = useEditor((s) => s.viewing);
  const readOnly = useEditor((s) => s.readOnly);
  const [versions, setVersions] = useState<VersionSummary[] | null>(null);
  const [next, setNext] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<number | null>(null);

  const load = useCallback(
    async (page = 1) => {
      if (!workflowId) return;
      try {
        const data = await api.listVersions(workflowId, page);
        setVersions((prev) => (page === 1 ? data.results : [...(prev ?? []), ...data.results]));
        setNext(data.next ? page + 1 : null);
        setError(null);
      } catch (err) {
        setError(errorMessage(err));
      }
    },
    [api, workflowId],
  );

  useEffect(() => {
    void load(1);
  }, [load, latest]);

  const view = async (n: number) => {
    if (!workflowId) return;
    setBusy(n);
    try {
      const v = await api.getVersion(workflowId, n);
      store.getState().view({ kind: "version", number: v.number, note: v.note, graph: v.graph });
    } catch (err) {
      store.getState().toast("error", errorMessage(err));
    } finally {
      setBusy(null);
    }
  };

  const restore = async (n: number) => {
    if (!workflowId) return;
    const s = store.getState();
    if (hasUnsavedChanges(s) || s.graph.nodes.length) {
      if (!window.confirm(`Replace the draft with version ${n}? You can undo this with Ctrl+Z.`)) return;
    }
    setBusy(n);
    try {
      await autosave.flush();
      const detail = await api.restoreVersion(workflowId, n);
      const before = store.getState().graph;
      store.getState().view(null);
      // Keep the old draft one undo step away, and mark the restored graph as saved.
      store.getState().applyGraph(detail.graph);
      const restored = store.getState().graph;
      store.getState().markSaved(restored, detail.revision);
      if (restored === before) store.getState().loadWorkflow(detail);
      store.getState().toast("success", `Version ${n} restored into the draft.`);
    } catch (err) {
      store.getState().toast("error", errorMessage(err));
    } finally {
      setBusy(null);
    }
  };

  return (
    <section className="side-panel" aria-label="Versions">
      <header className="panel-header">
        <h2>Versions</h2>
      </header>
      {error ? <p className="problem-error">{error}</p> : null}
      {versions === null && !error ? <p className="muted">Loading…</p> : null}
      {versions && versions.length === 0 ? <p className="muted">Nothing published yet. Publish the draft to create version 1.</p> : null}
      {versions && versions.length ? <ComparePanel versions={versions} onRestore={restore} /> : null}
      <ul className="item-list">
        {viewing?.kind === "version" && !viewing.compare ? (
          <li className="item-banner">
            Viewing version {viewing.number}.{" "}
            <button type="button" className="link-button" onClick={() => store.getState().view(null)}>
              Back to the draft
            </button>
          </li>
        ) : null}
        {(versions ?? []).map((v) => (
          <li key={v.number} className={`item${viewing?.kind === "version" && viewing.number === v.number ? " is-active" : ""}`}>
            <div className="item-main">
              <div className="item-title">
                Version {v.number} {v.number === latest ? <span className="pill pill-green">latest</span> : null}
              </div>
              <div className="item-meta">
                {formatTime(v.created_at)} · {userName(v.created_by)}
              </div>
              {v.note ? <div className="item-note">{v.note}</div> : null}
            </div>
            <div className="item-actions">
              <button type="button" className="btn btn-default btn-small" disabled={busy !== null} onClick={() => view(v.number)} aria-label={`View version ${v.number}`}>
                <Icon name="eye" size={14} /> <span>View</span>
              </button>
              {!readOnly ? (
                <button type="button" className="btn btn-default btn-small" disabled={busy !== null} onClick={() => restore(v.number)} aria-label={`Restore version ${v.number} into the draft`}>
                  <Icon name="history" size={14} /> <span>Restore</span>
                </button>
              ) : null}
            </div>
          </li>
        ))}
      </ul>
      {next ? (
        <button type="button" className="btn btn-default" onClick={() => load(next)}>
          Show older versions
        </button>
      ) : null}
    </section>
  );
}
