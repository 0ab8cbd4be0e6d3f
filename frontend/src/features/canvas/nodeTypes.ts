// Defined once at module level: a new object on each render would remount every node.
import { NoteNode } from "./NoteNode";
import { WeftEdge } from "./WeftEdge";
import { WeftNode } from "./WeftNode";

export const nodeTypes = { weft: WeftNode, note: NoteNode };
export const edgeTypes = { weft: WeftEdge };
