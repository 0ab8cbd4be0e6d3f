/**
 * Turns the graph document into xyflow nodes and edges. Results are cached per graph
 * element, so an edit to one node hands xyflow 499 identical node objects and one new
 * one: memoised node components then re-render only what changed.
 */
import type { Edge, Node } from "@xyflow/react";
import { usedPorts } from "../../core/portRules";
import type { Graph, GraphEdge, GraphNode, GraphNote, Problem, Selection } from "../../core/types";

/** `usedOut`/`usedIn`: the port names this node's edges use (drawn even when stale). */
export type WeftNodeData = { name: string; nodeType: string; version: number; config: Record<string, unknown>; usedOut: string[]; usedIn: string[] };
export type NoteNodeData = { noteId: string; text: string; color: string };
export type WeftFlowNode = Node<WeftNodeData, "weft">;
export type NoteFlowNode = Node<NoteNodeData, "note">;
export type FlowNode = WeftFlowNode | NoteFlowNode;

export const NOTE_PREFIX = "note:";
export const noteFlowId = (id: string) => `${NOTE_PREFIX}${id}`;
export const isNoteFlowId = (id: string) => id.startsWith(NOTE_PREFIX);
export const noteIdOf = (flowId: string) => flowId.slice(NOTE_PREFIX.length);

export interface Measured {
  width: number;
  height: number;
}

interface NodeEntry {
  src: GraphNode;
  selected: boolean;
  measured: Measured | undefined;
  draggable: boolean;
  out: WeftFlowNode;
}
interface NoteEntry {
  src: GraphNote;
  selected: boolean;
  draggable: boolean;
  out: NoteFlowNode;
}
interface EdgeEntry {
  src: GraphEdge;
  selected: boolean;
  problem: string | undefined;
  out: Edge;
}

export class FlowAdapter {
  private nodeCache = new Map<string, NodeEntry>();
  private noteCache = new Map<string, NoteEntry>();
  private edgeCache = new Map<string, EdgeEntry>();
  private lastEdges: Edge[] = [];
  /** Sizes the browser measured, kept so rebuilt node objects stay visible. */
  readonly measured = new Map<string, Measured>();

  nodes(graph: Graph, selection: Selection, editable: boolean): FlowNode[] {
    const selNodes = new Set(selection.nodes);
    const selNotes = new Set(selection.notes);
    const nextNodes = new Map<string, NodeEntry>();
    const nextNotes = new Map<string, NoteEntry>();
    const out: FlowNode[] = [];
    // Notes first so they sit beneath the nodes.
    for (const note of graph.notes) {
      const selected = selNotes.has(note.id);
      const prev = this.noteCache.get(note.id);
      let entry: NoteEntry;
      if (prev && prev.src === note && prev.selected === selected && prev.draggable === editable) {
        entry = prev;
      } else {
        const width = note.size?.width ?? 220;
        const height = note.size?.height ?? 140;
        entry = {
          src: note,
          selected,
          draggable: editable,
          out: {
            id: noteFlowId(note.id),
            type: "note",
            position: note.position,
            data: { noteId: note.id, text: note.text, color: note.color ?? "yellow" },
            selected,
            draggable: editable,
            width,
            height,
            measured: { width, height },
            zIndex: -1,
            dragHandle: ".note-drag",
          },
        };
      }
      nextNotes.set(note.id, entry);
      out.push(entry.out);
    }
    const used = usedPorts(graph.edges);
    const none: string[] = [];
    const sameList = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
    for (const node of graph.nodes) {
      const selected = selNodes.has(node.id);
      const usedOut = used.get(node.id)?.out ?? none;
      const usedIn = used.get(node.id)?.in ?? none;
      const measured = this.measured.get(node.id);
      const prev = this.nodeCache.get(node.id);
      let entry: NodeEntry;
      const sameUse = !!prev && sameList(prev.out.data.usedOut, usedOut) && sameList(prev.out.data.usedIn, usedIn);
      if (prev && prev.src === node && sameUse && prev.selected === selected && prev.measured === measured && prev.draggable === editable) {
        entry = prev;
      } else {
        const data =
          prev && sameUse && prev.src.name === node.name && prev.src.type === node.type && prev.src.version === node.version && prev.src.config === node.config
            ? prev.out.data
            : { name: node.name, nodeType: node.type, version: node.version, config: node.config, usedOut, usedIn };
        entry = {
          src: node,
          selected,
          measured,
          draggable: editable,
          out: { id: node.id, type: "weft", position: node.position, data, selected, draggable: editable, ...(measured ? { measured } : {}) },
        };
      }
      nextNodes.set(node.id, entry);
      out.push(entry.out);
    }
    this.nodeCache = nextNodes;
    this.noteCache = nextNotes;
    for (const id of this.measured.keys()) if (!nextNodes.has(id)) this.measured.delete(id);
    return out;
  }

  edges(graph: Graph, selection: Selection, problemsByEdge: Record<string, Problem[]> | null): Edge[] {
    const sel = new Set(selection.edges);
    const next = new Map<string, EdgeEntry>();
    const out: Edge[] = [];
    for (const edge of graph.edges) {
      const selected = sel.has(edge.id);
      const problems = problemsByEdge?.[edge.id];
      const problem = problems?.length ? problems.map((p) => p.message).join("\n") : undefined;
      const prev = this.edgeCache.get(edge.id);
      let entry: EdgeEntry;
      if (prev && prev.src === edge && prev.selected === selected && prev.problem === problem) {
        entry = prev;
      } else {
        entry = {
          src: edge,
          selected,
          problem,
          out: {
            id: edge.id,
            source: edge.source,
            target: edge.target,
            sourceHandle: edge.source_port,
            targetHandle: edge.target_port,
            selected,
            type: "weft",
            className: problem ? "edge-problem" : undefined,
            ariaLabel: problem ? `Connection with a problem: ${problem}` : undefined,
            data: problem ? { problem } : undefined,
          },
        };
      }
      next.set(edge.id, entry);
      out.push(entry.out);
    }
    this.edgeCache = next;
    // Moving a node changes no edge: hand xyflow the same array so it skips re-indexing them.
    const same = out.length === this.lastEdges.length && out.every((e, i) => e === this.lastEdges[i]);
    if (!same) this.lastEdges = out;
    return this.lastEdges;
  }
}
