/**
 * Start a test run of the current draft (saved first), with a JSON input that defaults
 * to the manual trigger's sample input. The server's refusal (a problem in the draft)
 * is shown as is, and its problems land in the problems panel.
 */
import { useState } from "react";
import { ApiError, errorMessage } from "../../infrastructure/api";
import { useEditor, useServices } from "../../infrastructure/context";
import { Dialog } from "../../ui/Dialog";

export function sampleInputText(sample: unknown): string {
  return sample && typeof sample === "object" && !Array.isArray(sample) ? JSON.stringify(sample, null, 2) : "{\n  \n}";
}

export function TestRunDialog({ onClose }: { onClose: () => void }) {
  const { runs, store, autosave } = useServices();
  const sample = useEditor((s) => s.graph.nodes.find((n) => s.typeIndex[`${n.type}@${n.version}`]?.is_trigger)?.config?.sample_input);
  const pinCount = useEditor((s) => s.graph.nodes.filter((n) => s.pins[n.id]).length);
  const [text, setText] = useState(() => sampleInputText(sample));
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const start = async () => {
    let input: unknown;
    try {
      input = text.trim() ? JSON.parse(text) : {};
    } catch (err) {
      setError(`The input is not valid JSON: ${(err as Error).message}`);
      return;
    }
    if (!input || typeof input !== "object" || Array.isArray(input)) {
      setError("The input must be a JSON object, like {\"amount\": 120}.");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await autosave.flush();
      if (store.getState().saveStatus !== "saved") throw new Error("The draft could not be saved, so it cannot be tested yet.");
      await runs.startTestRun({ input });
      store.getState().toast("info", "Test run of the draft started.");
      onClose();
    } catch (err) {
      if (err instanceof ApiError && err.problems.length) store.getState().setProblems(err.problems);
      setError(errorMessage(err));
      setBusy(false);
    }
  };

  return (
    <Dialog
      title="Test run"
      onClose={onClose}
      footer={
        <>
          <button type="button" className="btn btn-default" onClick={onClose}>
            Cancel
          </button>
          <button type="button" className="btn btn-primary" disabled={busy} onClick={start}>
            {busy ? "Starting…" : "Run"}
          </button>
        </>
      }
    >
      <p className="muted">
        Runs the current draft (saved first), not a published version: webhooks, schedules and API runs keep using the published one.
        {pinCount ? ` ${pinCount} pinned node${pinCount === 1 ? " gives its" : "s give their"} pinned data instead of running.` : ""}
      </p>
      <label className="control-label" htmlFor="run-input">
        Input (JSON)
      </label>
      <textarea
        id="run-input"
        className="form-control code-input"
        rows={10}
        spellCheck={false}
        value={text}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) void start();
        }}
      />
      {sample ? <p className="muted small">Filled in from the trigger's sample input.</p> : null}
      {error ? (
        <p className="problem-error" role="alert">
          {error}
        </p>
      ) : null}
    </Dialog>
  );
}
