/**
 * The graph document and node-type descriptions exactly as the API serves them.
 * Framework-free: nothing here knows about React or xyflow.
 */
import type { PortRuleEntry } from "./portRules";

export interface Position {
  x: number;
  y: number;
}

export interface GraphNode {
  id: string;
  type: string;
  version: number;
  name: string;
  config: Record<string, unknown>;
  position: Position;
}

export interface GraphEdge {
  id: string;
  source: string;
  source_port: string;
  target: string;
  target_port: string;
}

export interface GraphNote {
  id: string;
  text: string;
  position: Position;
  size?: { width: number; height: number };
  color?: string;
}

export interface Graph {
  nodes: GraphNode[];
  edges: GraphEdge[];
  notes: GraphNote[];
}

export interface PortSpec {
  name: string;
  label: string;
  required: boolean;
  multiple: boolean;
}

export type NodeCategory = "trigger" | "data" | "control" | "integration" | "ai" | "human";

export interface NodeTypeSpec {
  type: string;
  version: number;
  category: NodeCategory | string;
  label: string;
  description: string;
  icon: string;
  is_trigger: boolean;
  inputs: PortSpec[];
  outputs: PortSpec[];
  /** How the ports follow the config (core/portRules.ts); absent: `inputs`/`outputs`. */
  ports?: { inputs: PortRuleEntry[]; outputs: PortRuleEntry[] };
  config_schema: JsonSchema;
}

// JSON Schema is open-ended; we only read a few keys.
export type JsonSchema = { [key: string]: unknown };

export type Severity = "error" | "warning";

export interface Problem {
  code: string;
  message: string;
  severity: Severity;
  node_id?: string;
  edge_id?: string;
  field?: string;
}

export interface Selection {
  nodes: string[];
  edges: string[];
  notes: string[];
}

export const EMPTY_SELECTION: Selection = { nodes: [], edges: [], notes: [] };

export function emptyGraph(): Graph {
  return { nodes: [], edges: [], notes: [] };
}

/** Looks up a node type by name and version (the key used throughout the editor). */
export function typeKey(type: string, version: number): string {
  return `${type}@${version}`;
}

export type RunStatus = "queued" | "running" | "waiting" | "succeeded" | "failed" | "cancelled";
export type NodeRunStatus =
  | "pending"
  | "queued"
  | "running"
  | "waiting"
  | "succeeded"
  | "failed"
  | "skipped"
  | "cancelled";

export const TERMINAL_RUN_STATUSES: readonly RunStatus[] = ["succeeded", "failed", "cancelled"];
