/**
 * This workflow's runs: the runs page's view filtered to it, live (a run that starts or
 * changes status appears without reload). Opening one shows it on the canvas.
 */
import { useCallback, useEffect, useRef, useState } from "react";
import { errorMessage, type RunRow } from "../../infrastructure/api";
import { useEditor, useServices } from "../../infrastructure/context";
import { RunFeed } from "../../infrastructure/runFeed";
import { formatTime } from "../../ui/format";

export function durationText(ms: number | null): string {
  if (ms === null || ms === undefined) return "";
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60000)} min ${Math.floor((ms % 60000) / 1000)} s`;
}

/** The first page merged over what was loaded: newer rows replace older copies. */
export function mergeRuns(first: RunRow[], loaded: RunRow[]): RunRow[] {
  const seen = new Set(first.map((r) => r.id));
  return [...first, ...loaded.filter((r) => !seen.has(r.id))];
}

export function RunHistory() {
  const { api, runs, store } = useServices();
  const workflowId = useEditor((s) => s.workflowId);
  const current = useEditor((s) => s.run);
  const [list, setList] = useState<RunRow[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const paged = useRef(false); // the older pages' cursor is kept across live re-reads

  const load = useCallback(
    async (cursor: string | null = null) => {
      if (!workflowId) return;
      try {
        const data = await api.listRuns(workflowId, cursor);
        setList((prev) => (cursor ? [...(prev ?? []), ...data.results] : mergeRuns(data.results, prev ?? [])));
        if (cursor || !paged.current) setNext(data.next_cursor);
        paged.current = true;
        setError(null);
      } catch (err) {
        setError(errorMessage(err));
      }
    },
    [api, workflowId],
  );

  useEffect(() => {
    void load(null);
    // Live: any run's change re-reads the first page (at most once a second).
    const feed = new RunFeed(() => {
      if (timer.current) return;
      timer.current = setTimeout(() => {
        timer.current = null;
        void load(null);
      }, 1000);
    });
    return () => {
      feed.close();
      if (timer.current) clearTimeout(timer.current);
    };
  }, [load]);

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
        {workflowId ? (
          <a className="btn btn-default btn-small" href={`/runs/?workflow=${encodeURIComponent(workflowId)}`}>
            All runs page
          </a>
        ) : null}
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
                {r.mode === "test" ? <span className="pill pill-test">test</span> : <span className="pill">production</span>}{" "}
                <code>{r.short_id}</code> {formatTime(r.created_at)}
              </div>
              <div className="item-meta">
                {r.version ? `v${r.version}` : "draft (test snapshot)"} · {r.trigger} · {r.started_by}
                {r.duration_ms !== null ? ` · ${durationText(r.duration_ms)}` : ""}
              </div>
              {r.error ? <div className="item-meta problem-error">{r.error.message}</div> : null}
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
