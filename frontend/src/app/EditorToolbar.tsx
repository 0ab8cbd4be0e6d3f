/** The editor's top bar: title, save state, edit actions, import/export, publish and test run. */
import { useEffect, useRef, useState } from "react";
import { jsonEqual } from "../core/diff";
import { errorMessage } from "../infrastructure/api";
import { useEditor, useServices } from "../infrastructure/context";
import { changesSincePublished, isEditable } from "../infrastructure/editorStore";
import { SaveIndicator } from "../features/saving/SaveIndicator";
import { Button } from "../ui/Button";
import { Icon } from "../ui/Icon";
import { copySelectionToClipboard, pasteFromClipboard } from "./useShortcuts";

export interface EditorToolbarProps {
  onPublish: () => void;
  onTestRun: () => void;
  navigate: (url: string) => void;
}

function TitleInput() {
  const { api, store } = useServices();
  const name = useEditor((s) => s.name);
  const readOnly = useEditor((s) => s.readOnly);
  const [value, setValue] = useState(name);
  useEffect(() => setValue(name), [name]);
  const commit = async () => {
    const s = store.getState();
    const next = value.trim();
    if (!s.workflowId || !next || next === s.name) {
      setValue(s.name);
      return;
    }
    try {
      const detail = await api.patchWorkflow(s.workflowId, { name: next });
      store.getState().setMeta({ name: detail.name });
      // A rename may bump the revision; adopt it when the graph is the one we saved.
      const cur = store.getState();
      if (cur.graph === cur.savedGraph && jsonEqual(detail.graph, cur.savedGraph)) store.setState({ revision: detail.revision });
    } catch (err) {
      setValue(s.name);
      s.toast("error", `Could not rename: ${errorMessage(err)}`);
    }
  };
  return (
    <input
      className="title-input"
      aria-label="Workflow name"
      value={value}
      readOnly={readOnly}
      onChange={(e) => setValue(e.target.value)}
      onBlur={commit}
      onKeyDown={(e) => {
        if (e.key === "Enter") (e.target as HTMLInputElement).blur();
        if (e.key === "Escape") setValue(name);
      }}
    />
  );
}

/** "Draft · 3 changes since v2": whether the draft differs from what runs in production. */
function DraftStatus() {
  const latest = useEditor((s) => s.latestVersion);
  const changes = useEditor(changesSincePublished);
  const known = useEditor((s) => s.publishedGraph !== null);
  if (!latest) return <span className="pill" title="Never published: only test runs run it">Draft · not published</span>;
  if (!known || changes.length === 0) {
    return (
      <span className="pill pill-green" title="The draft is the latest published version">
        v{latest}
      </span>
    );
  }
  return (
    <span className="pill pill-amber draft-status" title={changes.map((c) => c.text).join("\n")} role="status">
      Draft · {changes.length} {changes.length === 1 ? "change" : "changes"} since v{latest}
    </span>
  );
}

export function EditorToolbar({ onPublish, onTestRun, navigate }: EditorToolbarProps) {
  const services = useServices();
  const { api, store } = services;
  const editable = useEditor(isEditable);
  const readOnly = useEditor((s) => s.readOnly);
  const canUndo = useEditor((s) => s.history.past.length > 0);
  const canRedo = useEditor((s) => s.history.future.length > 0);
  const hasSelection = useEditor((s) => s.selection.nodes.length + s.selection.notes.length > 0);
  const errorCount = useEditor((s) => s.problemIndex.errorCount);
  const fileInput = useRef<HTMLInputElement>(null);
  const actions = store.getState();

  const exportJson = async () => {
    const id = store.getState().workflowId;
    if (!id) return;
    try {
      const doc = await api.exportWorkflow(id);
      const blob = new Blob([JSON.stringify(doc, null, 2)], { type: "application/json" });
      const url = URL.createObjectURL(blob);
      const a = document.createElement("a");
      a.href = url;
      a.download = `${(doc.name || "workflow").replace(/[^\w.-]+/g, "_")}.weft.json`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    } catch (err) {
      actions.toast("error", `Export failed: ${errorMessage(err)}`);
    }
  };

  const importJson = async (file: File) => {
    try {
      const doc = JSON.parse(await file.text());
      const created = await api.importWorkflow(doc);
      actions.toast("success", `Imported as “${created.name}”.`);
      navigate(`/editor/${created.id}/`);
    } catch (err) {
      actions.toast("error", `Import failed: ${errorMessage(err)}`);
    }
  };

  return (
    <header className="topbar">
      <a className="topbar-back" href="/workflows/" aria-label="All workflows" title="All workflows">
        <Icon name="chevron-left" />
        <span className="brand">Weft</span>
      </a>
      <TitleInput />
      <SaveIndicator />
      <DraftStatus />
      <span className="spacer" />
      <div className="toolbar-group" role="group" aria-label="Edit">
        <Button icon="undo" label="Undo (Ctrl+Z)" disabled={!editable || !canUndo} onClick={() => actions.undo()} />
        <Button icon="redo" label="Redo (Ctrl+Shift+Z)" disabled={!editable || !canRedo} onClick={() => actions.redo()} />
        <Button icon="copy" label="Copy (Ctrl+C)" disabled={!hasSelection} onClick={() => void copySelectionToClipboard(services)} />
        <Button icon="clipboard" label="Paste (Ctrl+V)" disabled={!editable} onClick={() => void pasteFromClipboard(services)} />
        <Button icon="trash" label="Delete selection (Delete)" disabled={!editable || !hasSelection} onClick={() => actions.removeSelection()} />
      </div>
      <div className="toolbar-group" role="group" aria-label="Import and export">
        <Button icon="download" label="Export as JSON" onClick={exportJson} />
        {!readOnly ? (
          <>
            <Button icon="upload" label="Import a workflow from JSON" onClick={() => fileInput.current?.click()} />
            <input
              ref={fileInput}
              type="file"
              accept="application/json,.json"
              hidden
              onChange={(e) => {
                const f = e.target.files?.[0];
                e.target.value = "";
                if (f) void importJson(f);
              }}
            />
          </>
        ) : null}
      </div>
      {!readOnly ? (
        <div className="toolbar-group" role="group" aria-label="Run and publish">
          <Button icon="play" onClick={onTestRun} label="Start a test run">
            Test run
          </Button>
          <Button
            icon="rocket"
            variant="primary"
            onClick={onPublish}
            disabled={errorCount > 0}
            label={errorCount > 0 ? `Fix ${errorCount} error${errorCount === 1 ? "" : "s"} before publishing` : "Publish a new version"}
          >
            Publish
          </Button>
        </div>
      ) : null}
    </header>
  );
}
