/** "Saved" / "Saving…" / "Unsaved changes" / "Offline — retrying" next to the title. */
import { useEditor } from "../../infrastructure/context";

const LABEL = {
  saved: "Saved",
  saving: "Saving…",
  dirty: "Unsaved changes",
  offline: "Offline — retrying",
  error: "Not saved",
  conflict: "Changed elsewhere",
} as const;

export function SaveIndicator() {
  const status = useEditor((s) => s.saveStatus);
  const error = useEditor((s) => s.saveError);
  const readOnly = useEditor((s) => s.readOnly);
  if (readOnly) return <span className="save-indicator save-readonly">Read-only</span>;
  return (
    <span className={`save-indicator save-${status}`} role="status" aria-live="polite" title={error ?? undefined}>
      <span className="save-dot" aria-hidden="true" />
      {LABEL[status]}
      {status === "error" && error ? <span className="save-error-text">: {error}</span> : null}
    </span>
  );
}
