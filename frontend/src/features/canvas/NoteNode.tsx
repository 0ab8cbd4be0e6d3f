/** A sticky note: free text on the canvas, resizable, stored in the graph's `notes`. */
import { NodeResizer, type NodeProps } from "@xyflow/react";
import { memo, useEffect, useState } from "react";
import { isEditable } from "../../infrastructure/editorStore";
import { useActions, useEditor } from "../../infrastructure/context";
import type { NoteFlowNode } from "./toFlow";

const COLORS = ["yellow", "blue", "green", "pink", "gray"];

function NoteNodeView({ data, selected }: NodeProps<NoteFlowNode>) {
  const editable = useEditor(isEditable);
  const actions = useActions();
  const [text, setText] = useState(data.text);
  useEffect(() => setText(data.text), [data.text]);
  return (
    <div className={`note-node note-${data.color}${selected ? " is-selected" : ""}`}>
      <NodeResizer isVisible={selected && editable} minWidth={140} minHeight={80} />
      <div className="note-drag" title="Drag to move">
        <span>Note</span>
        {editable && selected ? (
          <span className="note-colors">
            {COLORS.map((c) => (
              <button
                key={c}
                type="button"
                className={`note-swatch note-${c}`}
                aria-label={`Colour ${c}`}
                onClick={() => actions.updateNote(data.noteId, { color: c }, false)}
              />
            ))}
          </span>
        ) : null}
      </div>
      <textarea
        className="note-text nodrag nowheel"
        aria-label="Note text"
        placeholder={editable ? "Write a note…" : ""}
        value={text}
        readOnly={!editable}
        onChange={(e) => {
          setText(e.target.value);
          actions.updateNote(data.noteId, { text: e.target.value });
        }}
      />
    </div>
  );
}

export const NoteNode = memo(NoteNodeView);
