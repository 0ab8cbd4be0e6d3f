/** The "new workflow" dialog: a name, then a blank workflow or one of the templates
 * (GET /api/templates/), each with a picture of its graph, its sample input and
 * "Try it", which creates the draft and starts a test run of it with the sample. A draft
 * from a template takes a name no workflow has ("Name (copy)" beside an earlier one). */
import { useEffect, useMemo, useState } from "react";
import { graphPicture } from "../../core/graphPicture";
import type { Graph } from "../../core/types";
import { errorMessage, type WorkflowTemplate } from "../../infrastructure/api";
import { useApi } from "../../infrastructure/context";
import { Dialog } from "../../ui/Dialog";

export interface NewWorkflowDialogProps {
  onClose: () => void;
  /** Where to go once the draft exists (and, after "Try it", which run to show). */
  onCreated: (workflowId: string, runId?: string) => void;
}

export function GraphThumbnail({ graph, title }: { graph: Pick<Graph, "nodes" | "edges">; title: string }) {
  const picture = useMemo(() => graphPicture(graph), [graph]);
  return (
    <svg className="tpl-picture" viewBox={picture.viewBox} role="img" aria-label={`Graph of ${title}`} preserveAspectRatio="xMidYMid meet">
      {picture.links.map((d, i) => (
        <path key={i} d={d} className="tpl-link" />
      ))}
      {picture.boxes.map((b) => (
        <g key={b.id} transform={`translate(${b.x},${b.y})`}>
          <rect width={180} height={56} rx={8} className={`tpl-box tpl-box-${b.type.split(".")[0]}`} />
          <text x={90} y={34} textAnchor="middle" className="tpl-label">
            {b.label.length > 22 ? `${b.label.slice(0, 21)}…` : b.label}
          </text>
        </g>
      ))}
    </svg>
  );
}

export function NewWorkflowDialog({ onClose, onCreated }: NewWorkflowDialogProps) {
  const api = useApi();
  const [templates, setTemplates] = useState<WorkflowTemplate[] | null>(null);
  const [chosen, setChosen] = useState<WorkflowTemplate | null>(null);
  const [name, setName] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    api.listTemplates().then(setTemplates, (err) => setError(`Templates could not be loaded: ${errorMessage(err)}`));
  }, [api]);

  const choose = (template: WorkflowTemplate | null) => {
    // A name the user typed stays; the one a template offered gives way to the next's.
    if (!name.trim() || name === chosen?.free_name) setName(template?.free_name ?? "");
    setChosen(template);
  };

  const create = async (template: WorkflowTemplate | null, tryIt: boolean) => {
    // "Try it" on a card not chosen takes the name no workflow has yet (GET /api/templates/
    // offers it); otherwise the name field's, and a taken one gets the server's 409 message.
    const finalName = (template && template !== chosen ? template.free_name : name).trim();
    if (!finalName) {
      setError("Give the workflow a name.");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const wf = await api.createWorkflow(template ? { name: finalName, description: template.description, graph: template.graph } : { name: finalName });
      if (!tryIt || !template) {
        onCreated(wf.id);
        return;
      }
      try {
        const run = await api.startTestRun(wf.id, { input: template.sample_input });
        onCreated(wf.id, run.id);
      } catch (err) {
        // The draft exists: open it, the test run's refusal names what to fix.
        window.alert(`The draft was created, but its test run did not start: ${errorMessage(err)}`);
        onCreated(wf.id);
      }
    } catch (err) {
      setError(errorMessage(err));
      setBusy(false);
    }
  };

  return (
    <Dialog
      title="New workflow"
      wide
      onClose={onClose}
      footer={
        <>
          <button type="button" className="btn btn-default" onClick={onClose}>
            Cancel
          </button>
          <button type="button" className="btn btn-primary" disabled={busy} onClick={() => void create(chosen, false)}>
            Create
          </button>
        </>
      }
    >
      <label className="control-label" htmlFor="wf-name">
        Name
      </label>
      <input id="wf-name" className="form-control" value={name} maxLength={200} onChange={(e) => setName(e.target.value)} onKeyDown={(e) => e.key === "Enter" && void create(chosen, false)} />
      {error ? (
        <p className="problem-error" role="alert">
          {error}
        </p>
      ) : null}
      <h3 className="tpl-heading">Start from</h3>
      <div className="tpl-gallery" role="list" aria-label="Templates">
        <div role="listitem" className={`tpl-card${chosen === null ? " tpl-chosen" : ""}`}>
          <button type="button" className="tpl-choose" aria-pressed={chosen === null} onClick={() => choose(null)}>
            <strong>Blank workflow</strong>
            <span className="muted small">An empty canvas.</span>
          </button>
        </div>
        {templates === null && !error ? <p className="muted">Loading templates…</p> : null}
        {(templates ?? []).map((t) => (
          <div role="listitem" key={t.slug} className={`tpl-card${chosen?.slug === t.slug ? " tpl-chosen" : ""}`} data-template={t.slug}>
            <button type="button" className="tpl-choose" aria-pressed={chosen?.slug === t.slug} aria-label={`Start from ${t.name}`} onClick={() => choose(t)}>
              <strong>{t.name}</strong>
              <GraphThumbnail graph={t.graph} title={t.name} />
              <span className="small">{t.description}</span>
            </button>
            {t.missing_teams.length > 0 ? (
              <p className="tpl-missing small" role="note">
                Needs the team{t.missing_teams.length > 1 ? "s" : ""} {t.missing_teams.map((n) => `“${n}”`).join(", ")} before it can run: an admin creates {t.missing_teams.length > 1 ? "them" : "it"} in the console.
              </p>
            ) : null}
            <details className="tpl-sample">
              <summary>Sample input</summary>
              <pre>{JSON.stringify(t.sample_input, null, 2)}</pre>
            </details>
            <button type="button" className="btn btn-default btn-small" disabled={busy} onClick={() => void create(t, true)} aria-label={`Try ${t.name}`}>
              Try it
            </button>
          </div>
        ))}
      </div>
    </Dialog>
  );
}
