/** The selected node's inputs, outputs and error in the run being shown. */
import { useEffect, useState } from "react";
import { errorMessage, type NodeRunRecord } from "../../infrastructure/api";
import { useEditor, useServices } from "../../infrastructure/context";
import { ExplanationChart, isExplanation } from "../../ui/ExplanationChart";
import { formatDuration } from "../../ui/format";
import { MapItems } from "./MapItems";

function Json({ value }: { value: unknown }) {
  if (value === undefined || value === null) return <p className="muted small">—</p>;
  return <pre className="json-view">{JSON.stringify(value, null, 2)}</pre>;
}

/** A model's explanation in a node's outputs (the inference node passes it as `explanation`). */
function explanationOf(outputs: unknown) {
  const out = outputs && typeof outputs === "object" ? (outputs as Record<string, unknown>).out : undefined;
  const value = out && typeof out === "object" ? (out as Record<string, unknown>).explanation : undefined;
  return isExplanation(value) ? value : null;
}

const nodeIdOf = (s: { selection: { nodes: string[] } }) => (s.selection.nodes.length === 1 ? s.selection.nodes[0] : null);

export function NodeRunDetails() {
  const { runs, testData, store } = useServices();
  const readOnly = useEditor((s) => s.readOnly);
  const pinned = useEditor((s) => (nodeIdOf(s) ? !!s.pins[nodeIdOf(s)!] : false));
  const inDraft = useEditor((s) => !!nodeIdOf(s) && s.graph.nodes.some((n) => n.id === nodeIdOf(s)));
  const run = useEditor((s) => s.run);
  const nodeId = useEditor((s) => (s.selection.nodes.length === 1 ? s.selection.nodes[0] : null));
  const status = useEditor((s) => (nodeId ? s.run?.nodes[nodeId]?.status : undefined));
  const [error, setError] = useState<string | null>(null);
  const runId = run?.runId;
  // Inputs and outputs are not sent over the socket: read the run when the node changes state.
  useEffect(() => {
    if (!runId || !nodeId) return;
    runs.refresh().then(
      () => setError(null),
      (err) => setError(errorMessage(err)),
    );
  }, [runs, runId, nodeId, status]);
  if (!run || !nodeId) return null;
  const records: NodeRunRecord[] = (run.detail?.node_runs ?? []).filter((r) => r.node_id === nodeId).sort((a, b) => b.attempt - a.attempt);
  const latest = records[0];
  return (
    <section className="node-run" aria-label="This node in the run">
      <h3 className="inspector-section">In this run</h3>
      {error ? <p className="problem-error">{error}</p> : null}
      {!latest ? (
        <p className="muted">{status ? `Status: ${status}.` : "This node has not run."}</p>
      ) : (
        <>
          <p>
            <span className={`pill run-pill-${latest.status}`}>{latest.status}</span>{" "}
            <span className="muted small">
              attempt {latest.attempt}
              {latest.finished_at ? ` · ${formatDuration(latest.started_at, latest.finished_at)}` : ""}
            </span>
          </p>
          {latest.task_id ? (
            <div className="node-run-task">
              <span>
                {latest.status === "waiting" ? "Waits for a decision on " : "Decided in task "}
                <strong>{latest.task_title ?? "a task"}</strong>
              </span>{" "}
              <a href={`/inbox/${latest.task_id}/`} target="_blank" rel="noopener noreferrer">
                Open in inbox
              </a>
            </div>
          ) : null}
          {latest.error ? (
            <div className="run-error" role="alert">
              <strong>{latest.error.type}</strong>: {latest.error.message}
            </div>
          ) : null}
          {latest.status === "succeeded" && !readOnly && inDraft ? (
            <button
              type="button"
              className="btn btn-default btn-small"
              onClick={() =>
                testData.pin(nodeId, { run: run.runId }).then(
                  () => store.getState().toast("success", "Pinned: test runs of the draft now use this output."),
                  (err) => store.getState().toast("error", errorMessage(err)),
                )
              }
            >
              {pinned ? "Pin this output instead" : "Pin this output"}
            </button>
          ) : null}
          <h4>Inputs</h4>
          <Json value={latest.inputs} />
          <h4>Outputs</h4>
          {explanationOf(latest.outputs) ? <ExplanationChart items={explanationOf(latest.outputs)!} /> : null}
          <Json value={latest.outputs} />
          {latest.items_url ? (
            <MapItems key={latest.items_url} itemsUrl={latest.items_url} count={latest.items_count ?? null} />
          ) : null}
          {records.length > 1 ? <p className="muted small">{records.length - 1} earlier attempt(s) failed and were retried.</p> : null}
        </>
      )}
    </section>
  );
}
