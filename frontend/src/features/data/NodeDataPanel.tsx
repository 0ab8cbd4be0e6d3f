/**
 * The selected node's data in the draft, input and output side by side: what arrives
 * (from the nodes before it: their pins, or what they last gave in a test run) and what
 * it gave in its latest test run, or its pin. From here the builder runs this node (or
 * every node up to it), pins its output (pasted JSON), edits or removes the pin, and
 * drags input fields into expression fields.
 */
import { useMemo, useState } from "react";
import { member } from "../../core/paths";
import { typeKey } from "../../core/types";
import { ApiError, errorMessage } from "../../infrastructure/api";
import { useEditor, useServices } from "../../infrastructure/context";
import { isEditable } from "../../infrastructure/editorStore";
import { Icon } from "../../ui/Icon";
import { DataView } from "./DataView";
import { draftOutputs, draftScope, firstPortOf } from "../../infrastructure/expressionScope";
import "./data.css";

function PinEditor({ nodeId, initial, onDone }: { nodeId: string; initial: unknown; onDone: () => void }) {
  const { testData } = useServices();
  const [text, setText] = useState(() => JSON.stringify(initial ?? {}, null, 2));
  const [error, setError] = useState<string | null>(null);
  const save = async () => {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      setError(`Not valid JSON: ${(err as Error).message}`);
      return;
    }
    try {
      await testData.pin(nodeId, { output: value });
      onDone();
    } catch (err) {
      setError(errorMessage(err));
    }
  };
  return (
    <div className="pin-editor">
      <label className="control-label" htmlFor="pin-json">
        Pinned output (JSON)
      </label>
      <textarea id="pin-json" className="form-control code-input" rows={8} spellCheck={false} value={text} onChange={(e) => setText(e.target.value)} />
      {error ? (
        <p className="problem-error" role="alert">
          {error}
        </p>
      ) : null}
      <div className="inspector-actions">
        <button type="button" className="btn btn-primary btn-small" onClick={save}>
          Save pin
        </button>
        <button type="button" className="btn btn-default btn-small" onClick={onDone}>
          Cancel
        </button>
      </div>
    </div>
  );
}

export function NodeDataPanel() {
  const { testData, store } = useServices();
  const nodeId = useEditor((s) => (s.selection.nodes.length === 1 && !s.viewing ? s.selection.nodes[0] : null));
  const editable = useEditor(isEditable);
  const graph = useEditor((s) => s.graph);
  const pins = useEditor((s) => s.pins);
  const nodeData = useEditor((s) => s.nodeData);
  const typeIndex = useEditor((s) => s.typeIndex);
  const running = useEditor((s) => !!s.run?.live && !["succeeded", "failed", "cancelled"].includes(s.run.status));
  const [editing, setEditing] = useState(false);
  const [busy, setBusy] = useState(false);
  const scope = useMemo(() => (nodeId ? draftScope(store.getState(), nodeId) : null), [store, nodeId, graph, pins, nodeData, typeIndex]);
  if (!nodeId || !scope) return null;
  const node = graph.nodes.find((n) => n.id === nodeId);
  if (!node) return null;
  const spec = typeIndex[typeKey(node.type, node.version)];
  const pin = pins[nodeId];
  const data = nodeData[nodeId];
  const first = firstPortOf(store.getState(), nodeId);
  const outputs = pin?.outputs ?? data?.outputs ?? (spec?.is_trigger ? draftOutputs(store.getState())[nodeId] : undefined);
  const output = outputs ? (first !== undefined && first in outputs ? outputs[first] : outputs) : undefined;
  const upstreamStale = Object.keys(scope.nodes).some((id) => !pins[id] && nodeData[id]?.stale);
  const stale = !pin && (data?.stale || (upstreamStale && !!data));

  const run = async (rerunUpstream: boolean) => {
    setBusy(true);
    try {
      await testData.runNode(nodeId, rerunUpstream);
    } catch (err) {
      if (err instanceof ApiError && err.problems.length) store.getState().setProblems(err.problems);
      store.getState().toast("error", errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  const unpin = async () => {
    try {
      await testData.unpin(nodeId);
    } catch (err) {
      store.getState().toast("error", errorMessage(err));
    }
  };

  return (
    <section className="node-data" aria-label="Node data">
      <h3 className="inspector-section">Data</h3>
      {editable ? (
        <div className="inspector-actions node-data-actions">
          <button type="button" className="btn btn-default btn-small" disabled={busy || running} onClick={() => run(false)} title="Run this node; the nodes before it give their latest test data or pins, or run if they have none">
            <Icon name="play" size={14} /> <span>Run this node</span>
          </button>
          <button type="button" className="btn btn-default btn-small" disabled={busy || running} onClick={() => run(true)} title="Run every node before this one again, then this one">
            <Icon name="skip-to" size={14} /> <span>Run up to here</span>
          </button>
        </div>
      ) : null}
      {pin ? (
        <p className="pin-status" role="status">
          <Icon name="pin" size={14} /> <strong>Pinned</strong>: test runs use this output instead of running the node.{" "}
          {editable ? (
            <>
              <button type="button" className="btn-link" onClick={() => setEditing(true)}>
                Edit pin
              </button>{" "}
              <button type="button" className="btn-link" onClick={unpin}>
                Unpin
              </button>
            </>
          ) : null}
        </p>
      ) : editable && !editing ? (
        <button type="button" className="btn btn-default btn-small" onClick={() => setEditing(true)}>
          <Icon name="pin" size={14} /> <span>Pin output…</span>
        </button>
      ) : null}
      {editing ? <PinEditor nodeId={nodeId} initial={output} onDone={() => setEditing(false)} /> : null}
      {stale ? (
        <p className="data-stale" role="note">
          Stale: the draft changed since this data was produced. Run the node again to refresh it.
        </p>
      ) : null}
      <div className="node-data-columns">
        <div className="node-data-column">
          <h4>Input</h4>
          {spec?.is_trigger ? <p className="muted small">A trigger has no input: its output is the run's input.</p> : <DataView value={scope.input} root="input" label="Input" />}
          {Object.keys(scope.nodes).length > 1 ? (
            <details className="node-data-others">
              <summary>Earlier nodes</summary>
              {Object.entries(scope.nodes).map(([id, n]) => (
                <DataView key={id} value={n.output} root={`${member("nodes", id)}.output`} label={`Output of ${graph.nodes.find((x) => x.id === id)?.name ?? id}`} />
              ))}
            </details>
          ) : null}
        </div>
        <div className="node-data-column">
          <h4>
            Output{pin ? " (pinned)" : data ? "" : spec?.is_trigger ? " (sample input)" : ""}
          </h4>
          <DataView value={output} root={`${member("nodes", nodeId)}.output`} label="Output" />
        </div>
      </div>
    </section>
  );
}
