/**
 * The palette: node types from GET /api/node-types/, grouped by category, with search.
 * Drag an entry onto the canvas, or press Enter on it to add it in the middle of the view.
 */
import { memo, useMemo, useState, type DragEvent } from "react";
import type { NodeTypeSpec } from "../../core/types";
import { useActions, useEditor } from "../../infrastructure/context";
import { isEditable } from "../../infrastructure/editorStore";
import { Icon } from "../../ui/Icon";
import "./palette.css";

// Same string as the canvas's drop target (features do not import each other).
const NODE_TYPE_MIME = "application/x-weft-node-type";

const CATEGORY_ORDER = ["trigger", "data", "control", "integration", "ai", "human"];
const CATEGORY_LABEL: Record<string, string> = {
  trigger: "Triggers",
  data: "Data",
  control: "Control flow",
  integration: "Integrations",
  ai: "AI",
  human: "Human",
};

export function groupTypes(types: NodeTypeSpec[], query: string): [string, NodeTypeSpec[]][] {
  const q = query.trim().toLowerCase();
  // Only the newest version of each type is offered for new nodes.
  const latest = new Map<string, NodeTypeSpec>();
  for (const t of types) {
    const prev = latest.get(t.type);
    if (!prev || t.version > prev.version) latest.set(t.type, t);
  }
  const groups = new Map<string, NodeTypeSpec[]>();
  for (const t of latest.values()) {
    if (q && !`${t.label} ${t.description} ${t.type} ${t.category}`.toLowerCase().includes(q)) continue;
    const list = groups.get(t.category) ?? [];
    list.push(t);
    groups.set(t.category, list);
  }
  const rank = (c: string) => (CATEGORY_ORDER.includes(c) ? CATEGORY_ORDER.indexOf(c) : CATEGORY_ORDER.length);
  return [...groups.entries()]
    .sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b))
    .map(([c, list]) => [c, list.sort((a, b) => a.label.localeCompare(b.label))]);
}

const PaletteItem = memo(function PaletteItem({ spec, disabled }: { spec: NodeTypeSpec; disabled: boolean }) {
  const actions = useActions();
  const onDragStart = (e: DragEvent) => {
    e.dataTransfer.setData(NODE_TYPE_MIME, JSON.stringify({ type: spec.type, version: spec.version }));
    e.dataTransfer.effectAllowed = "copy";
  };
  return (
    <li>
      <button
        type="button"
        className={`palette-item cat-${spec.category}`}
        draggable={!disabled}
        disabled={disabled}
        onDragStart={onDragStart}
        onClick={() => actions.addNodeOfType(spec.type, spec.version)}
        aria-label={`Add ${spec.label}: ${spec.description}`}
        title={`${spec.description}\nDrag onto the canvas, or click to add.`}
      >
        <span className="palette-icon">
          <Icon name={spec.icon} size={16} />
        </span>
        <span className="palette-text">
          <span className="palette-label">{spec.label}</span>
          <span className="palette-description">{spec.description}</span>
        </span>
      </button>
    </li>
  );
});

export function Palette() {
  const types = useEditor((s) => s.nodeTypes);
  const editable = useEditor(isEditable);
  const [query, setQuery] = useState("");
  const groups = useMemo(() => groupTypes(types, query), [types, query]);
  return (
    <nav className="palette" aria-label="Node palette">
      <div className="palette-search">
        <Icon name="search" size={14} />
        <input type="search" placeholder="Search nodes" aria-label="Search nodes" value={query} onChange={(e) => setQuery(e.target.value)} />
      </div>
      <div className="palette-groups">
        {types.length === 0 ? <p className="muted palette-empty">Loading node types…</p> : null}
        {types.length > 0 && groups.length === 0 ? <p className="muted palette-empty">No node matches “{query}”.</p> : null}
        {groups.map(([category, list]) => (
          <section key={category} className="palette-group">
            <h3>{CATEGORY_LABEL[category] ?? category}</h3>
            <ul>
              {list.map((spec) => (
                <PaletteItem key={spec.type} spec={spec} disabled={!editable} />
              ))}
            </ul>
          </section>
        ))}
      </div>
    </nav>
  );
}
