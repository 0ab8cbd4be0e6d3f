/** The strip above the canvas while a run is shown: its status, and a way back to editing. */
import { useEffect, useState } from "react";
import { errorMessage } from "../../infrastructure/api";
import { useEditor, useServices } from "../../infrastructure/context";

const ACTIVE = ["queued", "running", "waiting", "paused"];

/** "Debug in editor": confirmed in a small form that asks whether to pin the run's node
 *  outputs too; then a test run of the draft with this run's input takes the canvas. */
function DebugAction({ runId }: { runId: string }) {
  const { testData, store } = useServices();
  const [open, setOpen] = useState(false);
  const [pin, setPin] = useState(false);
  const [busy, setBusy] = useState(false);
  if (!open) {
    return (
      <button type="button" className="btn btn-default btn-small" onClick={() => setOpen(true)}>
        Debug in editor
      </button>
    );
  }
  const start = async () => {
    setBusy(true);
    try {
      const started = await testData.debugRun(runId, pin);
      const skipped = Object.keys(started.not_pinned).length;
      const pinned = pin ? ` ${started.pinned.length} node output(s) pinned${skipped ? `, ${skipped} not (${Object.entries(started.not_pinned).map(([n, why]) => `${n}: ${why}`).join("; ")})` : ""}.` : "";
      store.getState().toast("success", `Test run of the draft started with run ${runId.slice(0, 8)}'s input.${pinned}`);
      setOpen(false);
    } catch (err) {
      store.getState().toast("error", `Not debugged: ${errorMessage(err)}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <span className="run-bar-debug" role="group" aria-label="Debug in editor">
      <span className="small">Test the current draft with this run's input?</span>
      <label className="small">
        <input type="checkbox" checked={pin} onChange={(e) => setPin(e.target.checked)} /> also pin each node's output from this run
      </label>
      <button type="button" className="btn btn-primary btn-small" disabled={busy} onClick={() => void start()}>
        Start test run
      </button>
      <button type="button" className="btn btn-default btn-small" disabled={busy} onClick={() => setOpen(false)}>
        Cancel
      </button>
    </span>
  );
}

/** Retry (a failed run, from its failed node) and Cancel (an active run), each confirmed;
 *  a refusal (role, the run's state) is said in a toast. */
function RunActions({ runId, status }: { runId: string; status: string }) {
  const { api, runs, store } = useServices();
  const readOnly = useEditor((s) => s.readOnly);
  const [busy, setBusy] = useState(false);
  if (readOnly) return null;
  const act = async (kind: "retry" | "cancel") => {
    const question =
      kind === "retry" ? "Retry this run from its failed node? What succeeded is kept." : "Cancel this run? Its open steps stop and nothing new starts.";
    if (!window.confirm(question)) return;
    setBusy(true);
    try {
      await (kind === "retry" ? api.retryRun(runId) : api.cancelRun(runId));
      await runs.openRun(runId);
      store.getState().toast("success", kind === "retry" ? "Retrying from the failed node." : "Run cancelled.");
    } catch (err) {
      store.getState().toast("error", errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      {status === "failed" ? (
        <button type="button" className="btn btn-primary btn-small" disabled={busy} onClick={() => act("retry")}>
          Retry from the failed node
        </button>
      ) : null}
      {ACTIVE.includes(status) ? (
        <button type="button" className="btn btn-danger btn-small" disabled={busy} onClick={() => act("cancel")}>
          Cancel run
        </button>
      ) : null}
      <DebugAction runId={runId} />
    </>
  );
}

/** A test run's task goes to the builder who started it: decided here, without the inbox. */
function TestTaskActions({ taskId, title }: { taskId: string; title: string }) {
  const { api, runs, store } = useServices();
  const [busy, setBusy] = useState(false);
  const decide = async (decision: "approved" | "rejected") => {
    let comment = "";
    if (decision === "rejected") {
      const given = window.prompt(`Why do you reject “${title}”?`, "Rejected in a test run");
      if (given === null) return;
      comment = given.trim() || "Rejected in a test run";
    }
    setBusy(true);
    try {
      await api.decideTask(taskId, { decision, comment });
      store.getState().toast("success", decision === "approved" ? `Approved “${title}”.` : `Rejected “${title}”.`);
      await runs.refresh();
    } catch (err) {
      store.getState().toast("error", errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button type="button" className="btn btn-primary btn-small" disabled={busy} onClick={() => void decide("approved")} aria-label={`Approve ${title}`}>
        Approve
      </button>
      <button type="button" className="btn btn-default btn-small" disabled={busy} onClick={() => void decide("rejected")} aria-label={`Reject ${title}`}>
        Reject
      </button>
    </>
  );
}

export function RunBar() {
  const { runs } = useServices();
  const run = useEditor((s) => s.run);
  const viewing = useEditor((s) => s.viewing);
  const readOnly = useEditor((s) => s.readOnly);
  const waiting = run ? Object.values(run.nodes).filter((n) => n.status === "waiting").length : 0;
  // A node that waits on a person has a task: read the run to learn which (not on the socket).
  useEffect(() => {
    if (waiting) void runs.refresh().catch(() => undefined);
  }, [runs, waiting]);
  if (!run) return null;
  const counts: Record<string, number> = {};
  for (const n of Object.values(run.nodes)) counts[n.status] = (counts[n.status] ?? 0) + 1;
  const isTest = run.detail?.mode === "test" || (!run.version && run.live);
  const tasks = (run.detail?.node_runs ?? []).filter((n) => n.task_id && n.status === "waiting" && run.nodes[n.node_id]?.status === "waiting");
  const err = run.error && typeof run.error === "object" ? (run.error as { message?: string }).message : typeof run.error === "string" ? run.error : null;
  return (
    <div className={`run-bar run-bar-${run.status}`} role="status" aria-live="polite">
      <span className={`pill run-pill-${run.status}`}>{run.status}</span>
      <span>
        {isTest ? "Test run" : "Run"} <code>{run.runId.slice(0, 8)}</code>
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
          {isTest && !readOnly ? <TestTaskActions taskId={n.task_id!} title={n.task_title ?? "the task"} /> : null}
          <a href={`/inbox/${n.task_id}/`} target="_blank" rel="noopener noreferrer">
            Open in inbox
          </a>
        </span>
      ))}
      <span className="spacer" />
      <span className="muted small">Click a node to see its inputs and outputs.</span>
      <RunActions runId={run.runId} status={run.status} />
      <a className="btn btn-default btn-small" href={`/runs/${run.runId}/`}>
        Details
      </a>
      <button type="button" className="btn btn-default btn-small" onClick={() => runs.close()}>
        {viewing?.kind === "run" ? "Back to editing" : "Clear run"}
      </button>
    </div>
  );
}
