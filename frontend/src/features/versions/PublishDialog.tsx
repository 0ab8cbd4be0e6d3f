/** Publish the draft as a new version, with a note. */
import { useState } from "react";
import { ApiError, errorMessage } from "../../infrastructure/api";
import { useServices } from "../../infrastructure/context";
import { Dialog } from "../../ui/Dialog";

export function PublishDialog({ onClose }: { onClose: () => void }) {
  const { api, store, autosave } = useServices();
  const [note, setNote] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const publish = async () => {
    const id = store.getState().workflowId;
    if (!id) return;
    setBusy(true);
    setError(null);
    try {
      await autosave.flush();
      const s = store.getState();
      if (s.saveStatus !== "saved") throw new Error("The draft could not be saved, so it cannot be published yet.");
      const version = await api.publish(id, note.trim());
      s.setMeta({ latestVersion: version.number });
      s.toast("success", `Published version ${version.number}.`);
      onClose();
    } catch (err) {
      if (err instanceof ApiError && err.problems.length) store.getState().setProblems(err.problems);
      setError(errorMessage(err));
      setBusy(false);
    }
  };
  return (
    <Dialog
      title="Publish a new version"
      onClose={onClose}
      footer={
        <>
          <button type="button" className="btn btn-default" onClick={onClose}>
            Cancel
          </button>
          <button type="button" className="btn btn-primary" disabled={busy} onClick={publish}>
            {busy ? "Publishing…" : "Publish"}
          </button>
        </>
      }
    >
      <p className="muted">Runs, webhooks and schedules use the latest published version. The draft stays editable.</p>
      <label className="control-label" htmlFor="publish-note">
        What changed?
      </label>
      <textarea
        id="publish-note"
        className="form-control"
        rows={3}
        value={note}
        maxLength={500}
        placeholder="e.g. Route low-confidence results to review"
        onChange={(e) => setNote(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) void publish();
        }}
      />
      {error ? <p className="problem-error" role="alert">{error}</p> : null}
    </Dialog>
  );
}
