/** The workflow list (/workflows/): search, create, rename, delete and import. */
import { useCallback, useEffect, useRef, useState } from "react";
import { errorMessage, type WorkflowSummary } from "../../infrastructure/api";
import { useApi } from "../../infrastructure/context";
import { Dialog } from "../../ui/Dialog";
import { formatTime } from "../../ui/format";
import { Icon } from "../../ui/Icon";
import { NewWorkflowDialog } from "./TemplateGallery";
import "./workflow-list.css";

export interface WorkflowListProps {
  canEdit: boolean;
  editorUrl: (id: string) => string;
  navigate: (url: string) => void;
}

export function WorkflowList({ canEdit, editorUrl, navigate }: WorkflowListProps) {
  const api = useApi();
  const [search, setSearch] = useState("");
  const [page, setPage] = useState(1);
  const [data, setData] = useState<{ count: number; results: WorkflowSummary[]; next: boolean; previous: boolean } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const [renaming, setRenaming] = useState<WorkflowSummary | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);

  const load = useCallback(async () => {
    try {
      const res = await api.listWorkflows({ search: search.trim(), page });
      setData({ count: res.count, results: res.results, next: !!res.next, previous: !!res.previous });
      setError(null);
    } catch (err) {
      setError(errorMessage(err));
    }
  }, [api, search, page]);

  useEffect(() => {
    const t = setTimeout(() => void load(), 250);
    return () => clearTimeout(t);
  }, [load]);

  const remove = async (wf: WorkflowSummary) => {
    if (!window.confirm(`Delete “${wf.name}”? Its versions and run history go with it.`)) return;
    try {
      await api.deleteWorkflow(wf.id);
      await load();
    } catch (err) {
      setError(errorMessage(err));
    }
  };

  const importFile = async (file: File) => {
    try {
      const doc = JSON.parse(await file.text());
      const created = await api.importWorkflow(doc);
      navigate(editorUrl(created.id));
    } catch (err) {
      setError(`Import failed: ${errorMessage(err)}`);
    }
  };

  return (
    <main className="wf-list-page">
      <header className="wf-list-header">
        <h1>Workflows</h1>
        <div className="wf-list-tools">
          <div className="search-box">
            <Icon name="search" size={14} />
            <input
              type="search"
              placeholder="Search workflows"
              aria-label="Search workflows"
              value={search}
              onChange={(e) => {
                setSearch(e.target.value);
                setPage(1);
              }}
            />
          </div>
          {canEdit ? (
            <>
              <button type="button" className="btn btn-default" onClick={() => fileInput.current?.click()} aria-label="Import a workflow from a JSON file">
                <Icon name="upload" /> <span>Import</span>
              </button>
              <input
                ref={fileInput}
                type="file"
                accept="application/json,.json"
                hidden
                onChange={(e) => {
                  const f = e.target.files?.[0];
                  e.target.value = "";
                  if (f) void importFile(f);
                }}
              />
              <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
                <Icon name="plus" /> <span>New workflow</span>
              </button>
            </>
          ) : null}
        </div>
      </header>
      {error ? (
        <p className="problem-error" role="alert">
          {error}
        </p>
      ) : null}
      {data === null && !error ? <p className="muted">Loading…</p> : null}
      {data && data.results.length === 0 ? (
        <div className="wf-empty">
          <Icon name="flow" size={32} />
          <p>{search ? `No workflow matches “${search}”.` : "No workflows yet."}</p>
          {canEdit && !search ? (
            <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
              Create your first workflow
            </button>
          ) : null}
        </div>
      ) : null}
      {data && data.results.length > 0 ? (
        <table className="wf-table">
          <thead>
            <tr>
              <th>Name</th>
              <th>Published</th>
              <th>Owner</th>
              <th>Updated</th>
              <th>
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {data.results.map((wf) => (
              <tr key={wf.id}>
                <td>
                  <a href={editorUrl(wf.id)} className="wf-name">
                    {wf.name}
                  </a>
                  {wf.description ? <div className="muted small">{wf.description}</div> : null}
                </td>
                <td>{wf.latest_version ? <span className="pill pill-green">v{wf.latest_version}</span> : <span className="muted">draft</span>}</td>
                <td>{wf.owner?.username ?? ""}</td>
                <td>{formatTime(wf.updated_at)}</td>
                <td className="wf-actions">
                  {canEdit ? (
                    <>
                      <button type="button" className="btn btn-default btn-small" onClick={() => setRenaming(wf)} aria-label={`Rename ${wf.name}`}>
                        <Icon name="edit" size={14} />
                      </button>
                      <button type="button" className="btn btn-danger btn-small" onClick={() => remove(wf)} aria-label={`Delete ${wf.name}`}>
                        <Icon name="trash" size={14} />
                      </button>
                    </>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {data && (data.next || data.previous) ? (
        <nav className="pager" aria-label="Pages">
          <button type="button" className="btn btn-default" disabled={!data.previous} onClick={() => setPage((p) => p - 1)}>
            Previous
          </button>
          <span className="muted">
            Page {page} · {data.count} workflows
          </span>
          <button type="button" className="btn btn-default" disabled={!data.next} onClick={() => setPage((p) => p + 1)}>
            Next
          </button>
        </nav>
      ) : null}
      {creating ? (
        <NewWorkflowDialog
          onClose={() => setCreating(false)}
          onCreated={(workflowId, runId) => navigate(runId ? `${editorUrl(workflowId)}?run=${encodeURIComponent(runId)}` : editorUrl(workflowId))}
        />
      ) : null}
      {renaming ? (
        <NameDialog
          title="Rename workflow"
          action="Rename"
          initial={renaming.name}
          onClose={() => setRenaming(null)}
          onSubmit={async (name) => {
            await api.patchWorkflow(renaming.id, { name });
            setRenaming(null);
            await load();
          }}
        />
      ) : null}
    </main>
  );
}

function NameDialog(props: { title: string; action: string; initial: string; onClose: () => void; onSubmit: (name: string) => Promise<void> }) {
  const [name, setName] = useState(props.initial);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const submit = async () => {
    if (!name.trim()) {
      setError("Give the workflow a name.");
      return;
    }
    setBusy(true);
    try {
      await props.onSubmit(name.trim());
    } catch (err) {
      setError(errorMessage(err));
      setBusy(false);
    }
  };
  return (
    <Dialog
      title={props.title}
      onClose={props.onClose}
      footer={
        <>
          <button type="button" className="btn btn-default" onClick={props.onClose}>
            Cancel
          </button>
          <button type="button" className="btn btn-primary" disabled={busy} onClick={submit}>
            {props.action}
          </button>
        </>
      }
    >
      <label className="control-label" htmlFor="wf-name">
        Name
      </label>
      <input
        id="wf-name"
        className="form-control"
        value={name}
        maxLength={200}
        onChange={(e) => setName(e.target.value)}
        onKeyDown={(e) => e.key === "Enter" && void submit()}
      />
      {error ? (
        <p className="problem-error" role="alert">
          {error}
        </p>
      ) : null}
    </Dialog>
  );
}
