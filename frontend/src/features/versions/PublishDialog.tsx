/** Publish the draft as a new version, with a note. */
import { useState } from "react";
import { useShallow } from "zustand/react/shallow";
import { ApiError, errorMessage } from "../../infrastructure/api";
import { useEditor, useServices } from "../../infrastructure/context";
import { changesSincePublished } from "../../infrastructure/editorStore";
import { Dialog } from "../../ui/Dialog";

export function PublishDialog({ onClose }: { onClose: () => void }) {
  const { api, store, autosave } = useServices();
  const [note, setNote] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const changes = useEditor(changesSincePublished);
  const latest = useEditor((s) => s.latestVersion);
  const pinned = useEditor(useShallow((s) => s.graph.nodes.filter((n) => s.pins[n.id]).map((n) => n.name || n.id)));
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
      {latest ? (
        changes.length ? (
          <div className="publish-changes">
            <strong>
              {changes.length} {changes.length === 1 ? "change" : "changes"} since version {latest}
            </strong>
            <ul aria-label="Changes since the published version">
              {changes.map((c, i) => (
                <li key={i}>{c.text}</li>
              ))}
            </ul>
          </div>
        ) : (
          <p className="muted">The draft is the same as version {latest}.</p>
        )
      ) : null}
      {pinned.length ? (
        <p className="publish-pins" role="note">
          Pinned data is for testing only: the published version runs {pinned.map((n) => `“${n}”`).join(", ")} for real.
        </p>
      ) : null}
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
