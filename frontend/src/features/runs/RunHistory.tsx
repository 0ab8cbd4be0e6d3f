/** Past runs of this workflow; opening one shows it on the canvas with each node's status. */
import { useCallback, useEffect, useState } from "react";
import { errorMessage, type RunSummary } from "../../infrastructure/api";
import { useEditor, useServices } from "../../infrastructure/context";
import { formatDuration, formatTime } from "../../ui/format";

export function RunHistory() {
  const { api, runs, store } = useServices();
  const workflowId = useEditor((s) => s.workflowId);
  const current = useEditor((s) => s.run);
  const [list, setList] = useState<RunSummary[] | null>(null);
  const [next, setNext] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(
    async (page = 1) => {
      if (!workflowId) return;
      try {
        const data = await api.listRuns(workflowId, page);
        setList((prev) => (page === 1 ? data.results : [...(prev ?? []), ...data.results]));
        setNext(data.next ? page + 1 : null);
        setError(null);
      } catch (err) {
        setError(errorMessage(err));
      }
    },
    [api, workflowId],
  );

  // Reload when a run starts or finishes.
  const currentKey = current ? `${current.runId}:${current.status}` : "";
  useEffect(() => {
    void load(1);
  }, [load, currentKey]);

  const open = async (id: string) => {
    try {
      await runs.openRun(id);
    } catch (err) {
      store.getState().toast("error", errorMessage(err));
    }
  };

  return (
    <section className="side-panel" aria-label="Run history">
      <header className="panel-header">
        <h2>Runs</h2>
        <button type="button" className="btn btn-default btn-small" onClick={() => load(1)} aria-label="Refresh runs">
          Refresh
        </button>
      </header>
      {error ? <p className="problem-error">{error}</p> : null}
      {list === null && !error ? <p className="muted">Loading…</p> : null}
      {list && list.length === 0 ? <p className="muted">No runs yet. Use “Test run” to try the draft.</p> : null}
      <ul className="item-list">
        {(list ?? []).map((r) => (
          <li key={r.id} className={`item${current?.runId === r.id ? " is-active" : ""}`}>
            <button type="button" className="item-button" onClick={() => open(r.id)} aria-label={`Open run ${r.id} (${r.status})`}>
              <div className="item-title">
                <span className={`pill run-pill-${r.status}`}>{r.status}</span>{" "}
                {r.mode === "test" ? <span className="pill pill-test">test</span> : <span className="pill">production</span>} {formatTime(r.created_at)}
              </div>
              <div className="item-meta">
                {r.version ? `version ${r.version}` : "draft (test snapshot)"} · {r.trigger}
                {r.finished_at ? ` · ${formatDuration(r.started_at, r.finished_at)}` : ""}
              </div>
            </button>
          </li>
        ))}
      </ul>
      {next ? (
        <button type="button" className="btn btn-default" onClick={() => load(next)}>
          Show older runs
        </button>
      ) : null}
    </section>
  );
}
