/** Node types and graphs shaped like the API's, for tests. */
import type { Graph, GraphNode, NodeTypeSpec } from "../core/types";
import { createEditorStore } from "../infrastructure/editorStore";

const port = (name: string, multiple = false) => ({ name, label: name, required: true, multiple });

export const TYPES: NodeTypeSpec[] = [
  {
    type: "trigger.manual", version: 1, category: "trigger", label: "Manual trigger", description: "", icon: "play",
    is_trigger: true, inputs: [], outputs: [port("out")],
    config_schema: { type: "object", properties: { sample_input: { type: "object", title: "Sample input", additionalProperties: true } } },
  },
  {
    type: "core.noop", version: 1, category: "data", label: "No operation", description: "", icon: "arrow-right",
    is_trigger: false, inputs: [port("in")], outputs: [port("out")], config_schema: { type: "object", properties: {} },
  },
  {
    type: "control.branch", version: 1, category: "control", label: "Branch", description: "", icon: "split",
    is_trigger: false, inputs: [port("in")], outputs: [port("true"), port("false")],
    config_schema: {
      type: "object",
      properties: { condition: { type: "string", format: "cel", default: "true" }, retries: { type: "integer", default: 2 } },
      required: ["condition"],
    },
  },
  {
    type: "control.merge", version: 1, category: "control", label: "Merge", description: "", icon: "merge",
    is_trigger: false, inputs: [port("in", true)], outputs: [port("out")], config_schema: { type: "object", properties: {} },
  },
];

export const lookup = (n: Pick<GraphNode, "type" | "version">) => TYPES.find((t) => t.type === n.type && t.version === n.version);

export function node(id: string, type = "core.noop", x = 0, y = 0): GraphNode {
  return { id, type, version: 1, name: id, config: {}, position: { x, y } };
}

/** start -> a -> b, plus a lone merge m. */
export function sampleGraph(): Graph {
  return {
    nodes: [node("start", "trigger.manual"), node("a", "core.noop", 200), node("b", "control.branch", 400), node("m", "control.merge", 600)],
    edges: [
      { id: "e1", source: "start", source_port: "out", target: "a", target_port: "in" },
      { id: "e2", source: "a", source_port: "out", target: "b", target_port: "in" },
    ],
    notes: [{ id: "n1", text: "hello", position: { x: 0, y: -100 } }],
  };
}

/** An editor store with the test node types and workflow "wf-1" (the sample graph) loaded. */
export function loadedStore() {
  const store = createEditorStore();
  store.getState().setNodeTypes(TYPES);
  store.getState().loadWorkflow({
    id: "wf-1", name: "W", description: "", is_active: true, revision: 1, latest_version: 2, owner: null,
    created_at: "", updated_at: "", graph: sampleGraph(),
  });
  return store;
}
