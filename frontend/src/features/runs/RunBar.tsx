/** The strip above the canvas while a run is shown: its status, and a way back to editing. */
import { useEffect } from "react";
import { useEditor, useServices } from "../../infrastructure/context";

export function RunBar() {
  const { runs } = useServices();
  const run = useEditor((s) => s.run);
  const viewing = useEditor((s) => s.viewing);
  const waiting = run ? Object.values(run.nodes).filter((n) => n.status === "waiting").length : 0;
  // A node that waits on a person has a task: read the run to learn which (not on the socket).
  useEffect(() => {
    if (waiting) void runs.refresh().catch(() => undefined);
  }, [runs, waiting]);
  if (!run) return null;
  const counts: Record<string, number> = {};
  for (const n of Object.values(run.nodes)) counts[n.status] = (counts[n.status] ?? 0) + 1;
  const tasks = (run.detail?.node_runs ?? []).filter((n) => n.task_id && n.status === "waiting" && run.nodes[n.node_id]?.status === "waiting");
  const err = run.error && typeof run.error === "object" ? (run.error as { message?: string }).message : typeof run.error === "string" ? run.error : null;
  return (
    <div className={`run-bar run-bar-${run.status}`} role="status" aria-live="polite">
      <span className={`pill run-pill-${run.status}`}>{run.status}</span>
      <span>
        {run.detail?.mode === "test" || (!run.version && run.live) ? "Test run" : "Run"} <code>{run.runId.slice(0, 8)}</code>
        {run.version ? ` of version ${run.version}` : " of the draft"}
        {viewing?.kind === "run" ? " (read-only)" : ""}
      </span>
      <span className="muted small">
        {Object.entries(counts)
          .map(([k, v]) => `${v} ${k}`)
          .join(" · ")}
      </span>
      {err ? <span className="problem-error small">{err}</span> : null}
      {tasks.map((n) => (
        <span key={n.task_id} className="run-bar-task">
          Waits for <strong>{n.task_title}</strong>{" "}
          <a href={`/inbox/${n.task_id}/`} target="_blank" rel="noopener noreferrer">
            Open in inbox
          </a>
        </span>
      ))}
      <span className="spacer" />
      <span className="muted small">Click a node to see its inputs and outputs.</span>
      <button type="button" className="btn btn-default btn-small" onClick={() => runs.close()}>
        {viewing?.kind === "run" ? "Back to editing" : "Clear run"}
      </button>
    </div>
  );
}
