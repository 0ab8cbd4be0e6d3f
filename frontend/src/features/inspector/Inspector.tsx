/**
 * The inspector: the selected node's name, type and generated config form, with the
 * problems that concern it. Read-only when viewing a version, a past run, or as a viewer.
 */
import { useEffect, useState } from "react";
import { problemFieldId, problemMessage } from "../../core/problems";
import { typeKey } from "../../core/types";
import { useActions, useEditor } from "../../infrastructure/context";
import { displayedGraph, isEditable, type EditorState } from "../../infrastructure/editorStore";
import { Icon } from "../../ui/Icon";
import { ConfigForm } from "./ConfigForm";
import "./inspector.css";

function NameInput({ id, name, readOnly }: { id: string; name: string; readOnly: boolean }) {
  const actions = useActions();
  const [value, setValue] = useState(name);
  useEffect(() => setValue(name), [name]);
  return (
    <input
      id="inspector-name"
      className="form-control inspector-name"
      value={value}
      readOnly={readOnly}
      maxLength={200}
      onChange={(e) => {
        setValue(e.target.value);
        actions.renameNode(id, e.target.value);
      }}
    />
  );
}

export function Inspector() {
  const selection = useEditor((s) => s.selection);
  const hasNodes = useEditor((s) => displayedGraph(s).nodes.length > 0);
  const editable = useEditor(isEditable);
  const nodeId = selection.nodes.length === 1 ? selection.nodes[0] : null;
  // Select the parts the form needs, not the node: moving a node must not re-render the form.
  const find = (s: EditorState) => (nodeId ? displayedGraph(s).nodes.find((n) => n.id === nodeId) : undefined);
  const name = useEditor((s) => find(s)?.name);
  const nodeType = useEditor((s) => find(s)?.type);
  const version = useEditor((s) => find(s)?.version);
  const config = useEditor((s) => find(s)?.config);
  const node = nodeId && nodeType !== undefined && version !== undefined ? { id: nodeId, type: nodeType, version, name: name ?? "", config: config ?? {} } : undefined;
  const spec = useEditor((s) => (nodeType !== undefined && version !== undefined ? s.typeIndex[typeKey(nodeType, version)] : undefined));
  const problems = useEditor((s) => (nodeId && !s.viewing ? s.problemIndex.byNode[nodeId] : undefined));
  const actions = useActions();
  const focus = useEditor((s) => s.focus);
  // A problem clicked in the problems list: put the cursor in the field it is about,
  // once the form of that node has rendered (a nested field may need a moment).
  useEffect(() => {
    if (!focus || focus.id !== nodeId) return;
    const id = problemFieldId(focus.id, focus.field);
    if (!id) return;
    let tries = 0;
    const timer = setInterval(() => {
      const el = document.getElementById(id);
      const input = el && !(el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement || el instanceof HTMLSelectElement)
        ? el.querySelector<HTMLElement>("input, textarea, select")
        : el;
      if (input || ++tries > 20) clearInterval(timer);
      if (input) {
        input.scrollIntoView({ block: "center" });
        input.focus();
      }
    }, 50);
    return () => clearInterval(timer);
  }, [focus, nodeId]);

  const count = selection.nodes.length + selection.edges.length + selection.notes.length;
  if (!node) {
    return (
      <div className="inspector inspector-empty">
        {count > 1 ? (
          <>
            <p>
              <strong>{count} items selected.</strong>
            </p>
            {editable ? (
              <div className="inspector-actions">
                <button type="button" className="btn btn-default" onClick={() => actions.duplicate()} aria-label="Duplicate selection">
                  <Icon name="copy" /> <span>Duplicate</span>
                </button>
                <button type="button" className="btn btn-danger" onClick={() => actions.removeSelection()} aria-label="Delete selection">
                  <Icon name="trash" /> <span>Delete</span>
                </button>
              </div>
            ) : null}
          </>
        ) : selection.edges.length === 1 ? (
          <EdgeSummary edgeId={selection.edges[0]} />
        ) : (
          <p className="muted">
            {hasNodes ? "Select a node to see its settings." : "Add a node from the palette, then select it to see its settings."}
          </p>
        )}
      </div>
    );
  }
  return (
    <div className="inspector">
      <div className="inspector-head">
        <span className="inspector-icon">
          <Icon name={spec?.icon ?? "box"} size={18} />
        </span>
        <div>
          <div className="inspector-type">{spec?.label ?? `${node.type} v${node.version}`}</div>
          <div className="inspector-id" title="Use this id in expressions: nodes.<id>.output">
            id <code>{node.id}</code>
          </div>
        </div>
      </div>
      {spec?.description ? <p className="muted inspector-description">{spec.description}</p> : null}
      <label className="control-label" htmlFor="inspector-name">
        Name
      </label>
      <NameInput id={node.id} name={node.name} readOnly={!editable} />
      {problems?.length ? (
        <ul className="inspector-problems" aria-label="Problems with this node">
          {problems.map((p, i) => (
            <li key={i} className={`problem-${p.severity}`}>
              <Icon name={p.severity === "error" ? "alert" : "info"} size={14} /> {problemMessage(p, { [node.id]: node.name })}
            </li>
          ))}
        </ul>
      ) : null}
      <h3 className="inspector-section">Settings</h3>
      {spec ? (
        <ConfigForm nodeId={node.id} config={node.config} spec={spec} problems={problems} readOnly={!editable} />
      ) : (
        <p className="problem-error">
          The node type “{node.type}” version {node.version} is not installed on this server. Replace this node or remove it.
        </p>
      )}
    </div>
  );
}

function EdgeSummary({ edgeId }: { edgeId: string }) {
  const graph = useEditor(displayedGraph);
  const problems = useEditor((s) => (s.viewing ? undefined : s.problemIndex.byEdge[edgeId]));
  const edge = graph.edges.find((e) => e.id === edgeId);
  if (!edge) return null;
  const name = (id: string) => graph.nodes.find((n) => n.id === id)?.name ?? id;
  return (
    <div>
      <p>
        <strong>Connection</strong>
      </p>
      <p>
        {name(edge.source)} <code>{edge.source_port}</code> → {name(edge.target)} <code>{edge.target_port}</code>
      </p>
      {problems?.map((p, i) => (
        <p key={i} className={`problem-${p.severity}`}>
          {p.message}
        </p>
      ))}
      <p className="muted small">Press Delete to remove it.</p>
    </div>
  );
}
