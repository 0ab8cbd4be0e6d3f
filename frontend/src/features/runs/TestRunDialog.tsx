/** Start a test run with a JSON input; the server's refusal (e.g. not published) is shown as is. */
import { useState } from "react";
import { errorMessage } from "../../infrastructure/api";
import { useEditor, useServices } from "../../infrastructure/context";
import { hasUnsavedChanges } from "../../infrastructure/editorStore";
import { Dialog } from "../../ui/Dialog";

const STORAGE_KEY = "weft:test-input:";

export function TestRunDialog({ onClose }: { onClose: () => void }) {
  const { runs, store } = useServices();
  const workflowId = useEditor((s) => s.workflowId);
  const latest = useEditor((s) => s.latestVersion);
  const draftDiffers = useEditor((s) => hasUnsavedChanges(s));
  const [text, setText] = useState(() => localStorage.getItem(STORAGE_KEY + workflowId) ?? "{\n  \n}");
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
      localStorage.setItem(STORAGE_KEY + workflowId, text);
      await runs.startTestRun(input);
      store.getState().toast("info", "Test run started.");
      onClose();
    } catch (err) {
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
        {latest
          ? `Runs published version ${latest}.${draftDiffers ? " Your latest edits are not published: publish first to test them." : ""}`
          : "This workflow has not been published yet: publish it first, then run it."}
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
      {error ? (
        <p className="problem-error" role="alert">
          {error}
        </p>
      ) : null}
    </Dialog>
  );
}
