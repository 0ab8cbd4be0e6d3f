/**
 * The editor page (/editor/<id>/): composes the features around the canvas and starts
 * the services (autosave, validation). Features never import each other; this does.
 */
import { useEffect, useMemo, useState } from "react";
import { Canvas } from "../features/canvas/Canvas";
import { NodeDataPanel } from "../features/data/NodeDataPanel";
import { WebhookPanel } from "../features/webhook/WebhookPanel";
import { Inspector } from "../features/inspector/Inspector";
import { Palette } from "../features/palette/Palette";
import { ProblemsPanel } from "../features/problems/ProblemsPanel";
import { NodeRunDetails } from "../features/runs/NodeRunDetails";
import { RunBar } from "../features/runs/RunBar";
import { RunHistory } from "../features/runs/RunHistory";
import { TestRunDialog } from "../features/runs/TestRunDialog";
import { ConflictDialog } from "../features/saving/ConflictDialog";
import { PublishDialog } from "../features/versions/PublishDialog";
import { VersionsPanel } from "../features/versions/VersionsPanel";
import { errorMessage } from "../infrastructure/api";
import { canEdit, type BootData } from "../infrastructure/boot";
import { createEditorServices, EditorProvider, useEditor, useServices } from "../infrastructure/context";
import { hasUnsavedChanges } from "../infrastructure/editorStore";
import { Icon } from "../ui/Icon";
import { EditorToolbar } from "./EditorToolbar";
import { Toasts } from "./Toasts";
import { useShortcuts } from "./useShortcuts";

type Tab = "inspector" | "versions" | "runs";
const TAB_LABEL: Record<Tab, string> = { inspector: "Inspector", versions: "Versions", runs: "Runs" };

const navigate = (url: string) => window.location.assign(url);

function ViewingBanner() {
  const viewing = useEditor((s) => s.viewing);
  const { store } = useServices();
  if (!viewing || viewing.kind !== "version") return null;
  return (
    <div className="viewing-banner" role="status">
      <Icon name="eye" size={14} />
      <span>
        {viewing.compare
          ? `Comparing ${viewing.compare.label} (read-only): green added, red removed, amber changed`
          : `Viewing version ${viewing.number} (read-only)${viewing.note ? `: “${viewing.note}”` : ""}`}
      </span>
      <span className="spacer" />
      <button type="button" className="btn btn-default btn-small" onClick={() => store.getState().view(null)}>
        Back to the draft
      </button>
    </div>
  );
}

function EditorLayout() {
  const services = useServices();
  const { store } = services;
  useShortcuts(services);
  const [tab, setTab] = useState<Tab>("inspector");
  const [dialog, setDialog] = useState<"publish" | "run" | null>(null);
  const [showProblems, setShowProblems] = useState(true);
  const toasts = useEditor((s) => s.toasts);
  const errorCount = useEditor((s) => s.problemIndex.errorCount);
  const warningCount = useEditor((s) => s.problemIndex.warningCount);
  const hasRun = useEditor((s) => s.run !== null);
  const readOnly = useEditor((s) => s.readOnly);
  const selectedOne = useEditor((s) => s.selection.nodes.length === 1);
  // The selected node is the draft's webhook trigger: its signature header ("" for none).
  const webhook = useEditor((s) => {
    if (s.viewing || s.selection.nodes.length !== 1) return null;
    const node = s.graph.nodes.find((n) => n.id === s.selection.nodes[0]);
    return node?.type === "trigger.webhook" ? String(node.config.signature_header ?? "") : null;
  });

  // Selecting a node shows its settings.
  useEffect(() => {
    if (selectedOne) setTab("inspector");
  }, [selectedOne]);

  return (
    <div className="editor">
      <EditorToolbar onPublish={() => setDialog("publish")} onTestRun={() => setDialog("run")} navigate={navigate} />
      <p className="narrow-notice" role="note">
        The editor is made for a wider screen. On a phone, the <a href="/runs/">runs</a>, a run's page and the <a href="/inbox/">inbox</a> work in full.
      </p>
      {readOnly ? (
        <div className="viewing-banner" role="status">
          <Icon name="eye" size={14} /> You can view this workflow but not change it (viewer role).
        </div>
      ) : null}
      <div className="editor-main">
        <aside className="editor-left">
          <Palette />
        </aside>
        <section className="editor-center">
          <ViewingBanner />
          <RunBar />
          <Canvas />
          {showProblems ? <ProblemsPanel onClose={() => setShowProblems(false)} /> : null}
          <button
            type="button"
            className={`problems-toggle${errorCount ? " has-errors" : ""}`}
            onClick={() => setShowProblems((v) => !v)}
            aria-label={`${showProblems ? "Hide" : "Show"} problems: ${errorCount} errors, ${warningCount} warnings`}
            aria-expanded={showProblems}
          >
            <Icon name={errorCount ? "alert" : "check"} size={14} /> {errorCount} {errorCount === 1 ? "error" : "errors"} · {warningCount} {warningCount === 1 ? "warning" : "warnings"}
          </button>
        </section>
        <aside className="editor-right">
          <div className="tabs" role="tablist" aria-label="Side panels">
            {(["inspector", "versions", "runs"] as Tab[]).map((t) => (
              <button key={t} type="button" role="tab" id={`tab-${t}`} aria-selected={tab === t} aria-controls="side-panel" className={`tab${tab === t ? " is-active" : ""}`} onClick={() => setTab(t)}>
                {TAB_LABEL[t]}
              </button>
            ))}
          </div>
          <div className="tab-body" role="tabpanel" id="side-panel" aria-labelledby={`tab-${tab}`}>
            {tab === "inspector" ? (
              <>
                <Inspector />
                {webhook !== null ? <WebhookPanel signatureHeader={webhook} /> : null}
                {hasRun ? <NodeRunDetails /> : null}
                <NodeDataPanel />
              </>
            ) : null}
            {tab === "versions" ? <VersionsPanel /> : null}
            {tab === "runs" ? <RunHistory /> : null}
          </div>
        </aside>
      </div>
      {dialog === "publish" ? <PublishDialog onClose={() => setDialog(null)} /> : null}
      {dialog === "run" ? <TestRunDialog onClose={() => setDialog(null)} /> : null}
      <ConflictDialog onOpenWorkflow={(id) => navigate(`/editor/${id}/`)} />
      <Toasts toasts={toasts} onDismiss={(id) => store.getState().dismissToast(id)} />
    </div>
  );
}

function EditorBoot({ boot }: { boot: BootData }) {
  const services = useServices();
  const loaded = useEditor((s) => s.loaded);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const { api, store, autosave, validation, runs, testData } = services;
    const id = boot.workflow_id;
    if (!id) {
      setError("No workflow was given to this page.");
      return;
    }
    let cancelled = false;
    store.getState().setReadOnly(!canEdit(boot));
    autosave.start();
    validation.start();
    Promise.all([api.nodeTypes(), api.getWorkflow(id)])
      .then(([types, detail]) => {
        if (cancelled) return;
        store.getState().setNodeTypes(types);
        store.getState().loadWorkflow(detail);
        validation.schedule(0);
        testData.start();
        void testData.load().catch(() => undefined);
        // /editor/<id>/?run=<run_id> (the inbox's link to a task's run) opens that run.
        const runId = new URLSearchParams(window.location.search).get("run");
        if (runId) return runs.openRun(runId);
      })
      .catch((err) => !cancelled && setError(errorMessage(err)));

    const onBeforeUnload = (e: BeforeUnloadEvent) => {
      if (!hasUnsavedChanges(store.getState())) return;
      void autosave.flush();
      e.preventDefault();
      e.returnValue = "";
    };
    window.addEventListener("beforeunload", onBeforeUnload);
    return () => {
      cancelled = true;
      window.removeEventListener("beforeunload", onBeforeUnload);
      autosave.stop();
      validation.stop();
      testData.stop();
      runs.close();
    };
  }, [services, boot]);

  if (error) {
    return (
      <div className="page-message" role="alert">
        <h1>This workflow could not be opened</h1>
        <p>{error}</p>
        <a className="btn btn-default" href="/workflows/">
          Back to all workflows
        </a>
      </div>
    );
  }
  if (!loaded) return <div className="page-message muted">Loading the workflow…</div>;
  return <EditorLayout />;
}

export function EditorPage({ boot }: { boot: BootData }) {
  const services = useMemo(() => createEditorServices(boot.api_base ?? "/api"), [boot.api_base]);
  return (
    <EditorProvider services={services}>
      <EditorBoot boot={boot} />
    </EditorProvider>
  );
}
