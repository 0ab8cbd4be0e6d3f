/** What the editor can offer: the node types (the palette and forms) and credentials. */
import { typeKey, type GraphNode, type NodeTypeSpec } from "../../core/types";
import type { Credential } from "../api";
import type { Slice } from "./types";

export interface CatalogueState {
  nodeTypes: NodeTypeSpec[];
  typeIndex: Record<string, NodeTypeSpec>;
  credentials: Credential[] | null;
}

export interface CatalogueActions {
  setNodeTypes(types: NodeTypeSpec[]): void;
  lookupType(node: Pick<GraphNode, "type" | "version">): NodeTypeSpec | undefined;
  setCredentials(c: Credential[]): void;
}

export const createCatalogueSlice: Slice<CatalogueState & CatalogueActions> = (set, get) => ({
  nodeTypes: [],
  typeIndex: {},
  credentials: null,

  setNodeTypes(types) {
    const typeIndex: Record<string, NodeTypeSpec> = {};
    for (const t of types) typeIndex[typeKey(t.type, t.version)] = t;
    set({ nodeTypes: types, typeIndex });
  },

  lookupType(node) {
    return get().typeIndex[typeKey(node.type, node.version)];
  },

  setCredentials(credentials) {
    set({ credentials });
  },
});
