/**
 * A code box for a CEL expression (or a `{{ }}` template): checked as you type (with the
 * types of the node's sample data), the value it gives on that data previewed under it,
 * autocomplete of `input.`, `nodes.<id>.output.`, `run.` paths from that data, and
 * fields dropped from the input panel inserted as their path.
 */
import { useMemo, useRef, useState, type KeyboardEvent } from "react";
import { completions, pathAt, scopePaths, type DataPath } from "../../core/paths";
import { useEditor, useServices } from "../../infrastructure/context";
import { draftScope } from "../../infrastructure/expressionScope";
import { useExpressionCheck, useSamples, type CheckState } from "./useExpressionCheck";

const PATH_MIME = "application/x-weft-path";
const ROOT = /^(input|nodes|run|vars)\b/;

function preview(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) return "null";
  return text.length > 120 ? `${text.slice(0, 119)}…` : text;
}

export function CheckMessage({ state, kind }: { state: CheckState; kind: string }) {
  if (state.status === "idle") return null;
  if (state.status === "checking") return <div className="expr-check expr-checking">Checking {kind}…</div>;
  if (state.status === "unavailable") return <div className="expr-check expr-unavailable">Could not check the {kind} right now.</div>;
  if (state.status === "valid") {
    return (
      <>
        <div className="expr-check expr-valid">✓ Valid {kind}</div>
        {state.preview ? (
          "value" in state.preview ? (
            <div className="expr-preview" aria-label="Preview">
              <span className="muted">On the sample data:</span> <code>{preview(state.preview.value)}</code>
            </div>
          ) : (
            <div className="expr-preview expr-preview-error" aria-label="Preview">
              <span className="muted">On the sample data:</span> {state.preview.error}
            </div>
          )
        ) : null}
      </>
    );
  }
  return (
    <div className="expr-check expr-invalid" role="alert">
      ✗ {state.message}
      {state.position !== null ? <span className="muted"> (at character {state.position + 1})</span> : null}
    </div>
  );
}

/** Every path an expression in the selected node can use, from its data. */
function usePaths(): DataPath[] {
  const { store } = useServices();
  const nodeId = useEditor((s) => (s.selection.nodes.length === 1 && !s.viewing ? s.selection.nodes[0] : null));
  const graph = useEditor((s) => s.graph);
  const pins = useEditor((s) => s.pins);
  const nodeData = useEditor((s) => s.nodeData);
  return useMemo(() => (nodeId ? scopePaths(draftScope(store.getState(), nodeId)) : []), [store, nodeId, graph, pins, nodeData]);
}

export interface ExpressionInputProps {
  id: string;
  value: string;
  template: boolean;
  disabled?: boolean;
  readOnly?: boolean;
  placeholder?: string;
  rows?: number;
  onChange(value: string): void;
  onBlur?(value: string): void;
  onFocus?(value: string): void;
}

export function ExpressionInput({ id, value, template, disabled, readOnly, placeholder, rows, onChange, onBlur, onFocus }: ExpressionInputProps) {
  const samples = useSamples();
  const checkable = !readOnly && !disabled && (!template || value.includes("{{"));
  const state = useExpressionCheck(value, template, checkable, samples);
  const paths = usePaths();
  const box = useRef<HTMLTextAreaElement>(null);
  const [menu, setMenu] = useState<{ start: number; end: number; items: DataPath[]; index: number } | null>(null);

  const suggest = (text: string, caret: number) => {
    const at = pathAt(text, caret);
    const inTemplate = !template || text.lastIndexOf("{{", caret) > text.lastIndexOf("}}", caret - 1);
    if (!inTemplate || !at.prefix || !ROOT.test(at.prefix) || !paths.length) return setMenu(null);
    const items = completions(paths, at.prefix, 8);
    setMenu(items.length ? { start: at.start, end: caret, items, index: 0 } : null);
  };
  const insert = (text: string, start: number, end: number) => {
    const next = value.slice(0, start) + text + value.slice(end);
    onChange(next);
    setMenu(null);
    requestAnimationFrame(() => {
      const el = box.current;
      if (el) {
        el.focus();
        el.setSelectionRange(start + text.length, start + text.length);
      }
    });
  };
  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (!menu) return;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      const step = e.key === "ArrowDown" ? 1 : -1;
      setMenu({ ...menu, index: (menu.index + step + menu.items.length) % menu.items.length });
    } else if (e.key === "Enter" || e.key === "Tab") {
      e.preventDefault();
      insert(menu.items[menu.index].path, menu.start, menu.end);
    } else if (e.key === "Escape") {
      e.stopPropagation();
      setMenu(null);
    }
  };

  return (
    <div className="expr-field">
      <textarea
        ref={box}
        id={id}
        className={`form-control code-input${state.status === "invalid" ? " is-invalid" : ""}`}
        rows={rows ?? Math.min(6, Math.max(2, value.split("\n").length))}
        value={value}
        spellCheck={false}
        placeholder={placeholder}
        disabled={disabled}
        readOnly={readOnly}
        role="combobox"
        aria-expanded={menu !== null}
        aria-autocomplete="list"
        aria-controls={`${id}-paths`}
        onChange={(e) => {
          onChange(e.target.value);
          suggest(e.target.value, e.target.selectionStart);
        }}
        onKeyDown={onKeyDown}
        onBlur={(e) => {
          setTimeout(() => setMenu(null), 150);
          onBlur?.(e.target.value);
        }}
        onFocus={(e) => onFocus?.(e.target.value)}
        onDragOver={(e) => {
          if (e.dataTransfer.types.includes(PATH_MIME)) e.preventDefault();
        }}
        onDrop={(e) => {
          const path = e.dataTransfer.getData(PATH_MIME);
          if (!path || readOnly || disabled) return;
          e.preventDefault();
          const el = e.currentTarget;
          const at = el.selectionStart ?? value.length;
          insert(template ? `{{ ${path} }}` : path, at, el.selectionEnd ?? at);
        }}
      />
      {menu ? (
        <ul className="expr-menu" role="listbox" id={`${id}-paths`} aria-label="Fields from the data">
          {menu.items.map((p, i) => (
            <li
              key={p.path}
              role="option"
              aria-selected={i === menu.index}
              className={i === menu.index ? "is-active" : ""}
              onMouseDown={(e) => {
                e.preventDefault();
                insert(p.path, menu.start, menu.end);
              }}
            >
              <code>{p.path}</code> <span className="muted small">{p.kind} · {p.preview}</span>
            </li>
          ))}
        </ul>
      ) : null}
      <CheckMessage state={state} kind={template ? "template" : "expression"} />
    </div>
  );
}
