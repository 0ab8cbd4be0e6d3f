/** One task: what to decide, the context, the form, who can decide, due time, history,
 * and the actions (claim, release, reassign, approve, reject). */
import { useEffect, useRef, useState } from "react";
import type { TaskDetail } from "../../infrastructure/inboxApi";
import { ContextView } from "./ContextView";
import { useInbox, useInboxServices } from "./context";
import { plainKey } from "./keys";
import { ReassignDialog } from "./ReassignDialog";
import { TaskForm } from "./TaskForm";
import { absoluteTime, relativeTime } from "./time";

const HISTORY_TEXT: Record<string, string> = {
  created: "created",
  claimed: "claimed",
  released: "released",
  reassigned: "reassigned",
  reminded: "reminder sent",
  escalated: "escalated",
  voted: "voted",
  decided: "decided",
  expired: "expired",
  cancelled: "cancelled",
};

function historyDetail(data: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const key of ["decision", "comment", "reason", "team", "users", "teams"]) {
    const v = data[key];
    if (v === undefined || v === null || v === "" || (Array.isArray(v) && !v.length)) continue;
    parts.push(`${key}: ${Array.isArray(v) ? v.join(", ") : String(v)}`);
  }
  return parts.join(" · ");
}

function Outcome({ task }: { task: TaskDetail }) {
  if (task.status === "open") return null;
  const by = task.decided_by?.username;
  return (
    <div className={`task-outcome status-${task.status}`} role="status">
      <strong>{task.status === "approved" ? "Approved" : task.status === "rejected" ? "Rejected" : task.status === "expired" ? "Expired" : "Cancelled"}</strong>
      {by ? ` by ${by}` : task.decided_at ? " by the rules" : ""}
      {task.decided_at ? ` at ${absoluteTime(task.decided_at)}` : ""}
      {task.comment ? <p className="task-comment">“{task.comment}”</p> : null}
    </div>
  );
}

export function TaskView({ task }: { task: TaskDetail }) {
  const { me } = useInboxServices();
  const busy = useInbox((s) => s.busy);
  const actionError = useInbox((s) => s.actionError);
  const claim = useInbox((s) => s.claim);
  const release = useInbox((s) => s.release);
  const decide = useInbox((s) => s.decide);
  const [form, setForm] = useState<Record<string, unknown>>(task.form_values ?? {});
  const [comment, setComment] = useState("");
  const fieldErrors = useInbox((s) => s.actionFieldErrors);
  const [reassigning, setReassigning] = useState(false);
  const [wantReject, setWantReject] = useState(false);
  const commentRef = useRef<HTMLTextAreaElement>(null);

  useEffect(() => {
    setForm(task.form_values ?? {});
    setComment("");
    setWantReject(false);
  }, [task.id]); // eslint-disable-line react-hooks/exhaustive-deps

  const canDecide = task.can.decide && !busy;
  const send = async (decision: "approved" | "rejected") => {
    if (!task.can.decide || busy) return;
    if (decision === "rejected" && !comment.trim()) {
      setWantReject(true);
      commentRef.current?.focus();
      return;
    }
    await decide(decision, comment, form);
  };

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (!plainKey(e) || reassigning) return;
      if (e.key === "c" && task.can.claim) {
        e.preventDefault();
        void claim();
      } else if (e.key === "a" && task.can.decide) {
        e.preventDefault();
        void send("approved");
      } else if (e.key === "r" && task.can.decide) {
        e.preventDefault();
        void send("rejected");
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  });

  const overdue = task.status === "open" && task.overdue;
  const others = [...task.assignees.users.map((u) => u.username), ...task.assignees.teams.map((t) => `${t.name} (team)`)];
  return (
    <article className="task-view" aria-label={task.title}>
      <header className="task-head">
        <h1>{task.title}</h1>
        <p className="task-meta small">
          <a href={task.run_url}>
            {task.workflow.name} · run {task.run_id.slice(0, 8)}
          </a>
          {task.is_test ? <span className="pill">test run</span> : null}
          <span className={`pill status-${task.status}`}>{task.status}</span>
        </p>
      </header>
      <Outcome task={task} />
      <dl className="task-facts">
        <div>
          <dt>Due</dt>
          <dd>
            {task.due_at ? (
              <time dateTime={task.due_at} className={overdue ? "overdue-text" : undefined}>
                {task.status !== "open" ? (
                  absoluteTime(task.due_at)
                ) : (
                  <>
                    {overdue ? "Overdue, " : ""}
                    {relativeTime(task.due_at)} <span className="muted">({absoluteTime(task.due_at)})</span>
                  </>
                )}
              </time>
            ) : (
              <span className="muted">no due time</span>
            )}
          </dd>
        </div>
        <div>
          <dt>Who can decide</dt>
          <dd>
            {others.join(", ") || "—"}
            {task.mode === "all" ? " (all of them)" : task.mode === "quorum" ? ` (${task.quorum_n} of them)` : " (any one)"}
          </dd>
        </div>
        <div>
          <dt>Claimed</dt>
          <dd>{task.claimed_by ? (task.claimed_by.id === me.id ? "by you" : `by ${task.claimed_by.username}`) : <span className="muted">not claimed</span>}</dd>
        </div>
        {task.votes.length ? (
          <div>
            <dt>Votes</dt>
            <dd>{task.votes.map((v) => `${v.user}: ${v.decision}`).join(", ")}</dd>
          </div>
        ) : null}
      </dl>
      {task.instructions ? <p className="task-instructions">{task.instructions}</p> : null}
      <ContextView items={task.context ?? []} />
      {task.form_schema ? (
        <section className="task-form-section" aria-label="Form">
          <h3>Values</h3>
          <TaskForm taskId={task.id} schema={task.form_schema} values={form} readOnly={!task.can.decide} errors={fieldErrors} onChange={setForm} />
        </section>
      ) : null}
      {task.status === "open" || actionError ? (
      <section className="task-actions" aria-label="Actions">
        {actionError ? (
          <p className="action-error" role="alert">
            {actionError}
          </p>
        ) : null}
        {task.status === "open" ? (
          <>
            <label className="control-label" htmlFor="task-comment">
              Comment {wantReject && !comment.trim() ? <span className="problem-error">(a rejection needs a comment)</span> : <span className="muted">(required to reject)</span>}
            </label>
            <textarea
              id="task-comment"
              ref={commentRef}
              className="form-control"
              rows={3}
              value={comment}
              disabled={!task.can.decide}
              onChange={(e) => setComment(e.target.value)}
            />
            <div className="task-buttons">
              <button type="button" className="btn btn-primary" disabled={!canDecide} onClick={() => void send("approved")}>
                Approve
              </button>
              <button
                type="button"
                className="btn btn-danger"
                disabled={!canDecide || !comment.trim()}
                title={comment.trim() ? undefined : "Write a comment to reject"}
                onClick={() => void send("rejected")}
              >
                Reject
              </button>
              <span className="spacer" />
              {task.can.claim ? (
                <button type="button" className="btn" disabled={busy} onClick={() => void claim()}>
                  Claim
                </button>
              ) : null}
              {task.can.release ? (
                <button type="button" className="btn" disabled={busy} onClick={() => void release()}>
                  Release
                </button>
              ) : null}
              {task.can.assign ? (
                <button type="button" className="btn" disabled={busy} onClick={() => setReassigning(true)}>
                  Reassign…
                </button>
              ) : null}
            </div>
            {!task.can.decide ? <p className="muted small">You cannot decide this task{task.votes.length ? " (you may have voted already)" : ""}.</p> : null}
          </>
        ) : null}
      </section>
      ) : null}
      <section className="task-history" aria-label="History">
        <h3>History</h3>
        <ol>
          {task.history.map((h, i) => (
            <li key={i}>
              <time dateTime={h.at} title={absoluteTime(h.at)}>
                {absoluteTime(h.at)}
              </time>{" "}
              <strong>{HISTORY_TEXT[h.kind] ?? h.kind}</strong>
              {h.actor ? ` by ${h.actor}` : ""}
              {historyDetail(h.data ?? {}) ? <span className="muted"> — {historyDetail(h.data ?? {})}</span> : null}
            </li>
          ))}
        </ol>
      </section>
      {reassigning ? <ReassignDialog task={task} onClose={() => setReassigning(false)} /> : null}
    </article>
  );
}
