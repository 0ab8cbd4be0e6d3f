/**
 * A JSON value as a collapsible tree (each field draggable into an expression field as
 * its path) or, for a list of objects, a table. Framework-light: no store access.
 */
import { useState } from "react";
import { kindOf, member } from "../../core/paths";

/** The MIME type a dragged field carries (with text/plain for plain inputs). */
export const PATH_MIME = "application/x-weft-path";

function Leaf({ value }: { value: unknown }) {
  const kind = kindOf(value);
  return <span className={`data-leaf data-${kind}`}>{kind === "string" ? JSON.stringify(value) : String(value)}</span>;
}

function Field({ name, path, value, depth }: { name: string; path: string | null; value: unknown; depth: number }) {
  const [open, setOpen] = useState(depth < 2);
  const kind = kindOf(value);
  const nested = kind === "map" || kind === "list";
  const entries = nested ? (Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value as object)) : [];
  const label = (
    <span
      className={`data-key${path ? " is-draggable" : ""}`}
      draggable={path !== null}
      title={path ? `Drag into a field to use ${path}` : undefined}
      onDragStart={(e) => {
        if (!path) return;
        e.dataTransfer.setData(PATH_MIME, path);
        e.dataTransfer.setData("text/plain", path);
        e.dataTransfer.effectAllowed = "copy";
      }}
    >
      {name}
    </span>
  );
  if (!nested) {
    return (
      <li className="data-row">
        {label}: <Leaf value={value} />
      </li>
    );
  }
  return (
    <li className="data-row">
      <button type="button" className="data-toggle" aria-expanded={open} onClick={() => setOpen(!open)} aria-label={`${open ? "Collapse" : "Expand"} ${name}`}>
        {open ? "▾" : "▸"}
      </button>
      {label} <span className="muted small">{kind === "list" ? `[${entries.length}]` : `{${entries.length}}`}</span>
      {open ? (
        <ul className="data-tree">
          {entries.slice(0, 200).map(([k, v]) => (
            <Field key={k} name={k} value={v} depth={depth + 1} path={path === null ? null : kind === "list" ? `${path}[${k}]` : member(path, k)} />
          ))}
          {entries.length > 200 ? <li className="muted small">… {entries.length - 200} more</li> : null}
        </ul>
      ) : null}
    </li>
  );
}

function asRows(value: unknown): Record<string, unknown>[] | null {
  const list = Array.isArray(value) ? value : value && typeof value === "object" ? [value] : null;
  if (!list || !list.length || !list.every((x) => x && typeof x === "object" && !Array.isArray(x))) return null;
  return list as Record<string, unknown>[];
}

function Table({ rows }: { rows: Record<string, unknown>[] }) {
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))].slice(0, 20);
  return (
    <div className="data-table-wrap">
      <table className="data-table">
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c}>{c}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.slice(0, 100).map((r, i) => (
            <tr key={i}>
              {columns.map((c) => (
                <td key={c}>{r[c] === undefined ? "" : typeof r[c] === "object" ? JSON.stringify(r[c]) : String(r[c])}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** `root`: the expression path of the value (e.g. "input"), or null when not reachable. */
export function DataView({ value, root, label }: { value: unknown; root: string | null; label: string }) {
  const [mode, setMode] = useState<"tree" | "table" | "json">("tree");
  const rows = asRows(value);
  if (value === undefined) return <p className="muted small">No data yet.</p>;
  return (
    <div className="data-view" aria-label={label}>
      <div className="data-modes" role="group" aria-label={`${label}: view as`}>
        {(["tree", "table", "json"] as const).map((m) => (
          <button key={m} type="button" className={`data-mode${mode === m ? " is-active" : ""}`} aria-pressed={mode === m} disabled={m === "table" && !rows} onClick={() => setMode(m)}>
            {m === "tree" ? "Tree" : m === "table" ? "Table" : "JSON"}
          </button>
        ))}
      </div>
      {mode === "json" ? (
        <pre className="json-view">{JSON.stringify(value, null, 2)}</pre>
      ) : mode === "table" && rows ? (
        <Table rows={rows} />
      ) : (
        <ul className="data-tree data-root">
          <Field name={root ?? "value"} path={root} value={value} depth={0} />
        </ul>
      )}
    </div>
  );
}
