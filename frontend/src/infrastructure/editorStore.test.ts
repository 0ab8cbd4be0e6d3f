import { describe, expect, it } from "vitest";
import { TYPES, sampleGraph } from "../test/fixtures";
import type { WorkflowDetail } from "./api";
import { changesSincePublished, createEditorStore, hasUnsavedChanges, isEditable, outputsOf } from "./editorStore";

function detail(graph = sampleGraph(), revision = 3): WorkflowDetail {
  return {
    id: "wf-1", name: "Invoices", description: "", is_active: true, revision, latest_version: null,
    owner: { id: 1, username: "ada" }, created_at: "", updated_at: "", graph,
  };
}

function loaded() {
  const store = createEditorStore();
  store.getState().setNodeTypes(TYPES);
  store.getState().loadWorkflow(detail());
  return store;
}

describe("editor store", () => {
  it("loads a workflow as saved, with empty history", () => {
    const store = loaded();
    const s = store.getState();
    expect(s.revision).toBe(3);
    expect(s.graph).toBe(s.savedGraph);
    expect(s.saveStatus).toBe("saved");
    expect(s.canUndo()).toBe(false);
    expect(hasUnsavedChanges(s)).toBe(false);
    expect(isEditable(s)).toBe(true);
  });

  it("adds a node of a type, selects it, and undoes and redoes it", () => {
    const store = loaded();
    const node = store.getState().addNodeOfType("control.branch", 1, { x: 10, y: 10 })!;
    expect(store.getState().graph.nodes).toHaveLength(5);
    expect(store.getState().selection.nodes).toEqual([node.id]);
    expect(hasUnsavedChanges(store.getState())).toBe(true);
    store.getState().undo();
    expect(store.getState().graph.nodes).toHaveLength(4);
    expect(store.getState().selection.nodes).toEqual([]); // pruned: the node is gone
    store.getState().redo();
    expect(store.getState().graph.nodes.map((n) => n.id)).toContain(node.id);
    expect(store.getState().addNodeOfType("nope", 1)).toBeNull();
  });

  it("connects valid ports and refuses invalid ones", () => {
    const store = loaded();
    expect(store.getState().connect({ source: "b", sourcePort: "true", target: "m", targetPort: "in" }).ok).toBe(true);
    expect(store.getState().graph.edges).toHaveLength(3);
    const refused = store.getState().connect({ source: "m", sourcePort: "out", target: "a", targetPort: "in" });
    expect(refused.ok).toBe(false);
    expect(store.getState().graph.edges).toHaveLength(3);
  });

  it("deletes the selection with its edges as one undo step", () => {
    const store = loaded();
    store.getState().setSelection({ nodes: ["a"], edges: [], notes: ["n1"] });
    store.getState().removeSelection();
    expect(store.getState().graph.nodes.map((n) => n.id)).toEqual(["start", "b", "m"]);
    expect(store.getState().graph.edges).toEqual([]);
    expect(store.getState().graph.notes).toEqual([]);
    store.getState().undo();
    expect(store.getState().graph).toEqual(sampleGraph());
  });

  it("records a drag as one undo step", () => {
    const store = loaded();
    const s = store.getState();
    s.moveLive(new Map([["a", { x: 210, y: 5 }]]));
    s.moveLive(new Map([["a", { x: 220, y: 10 }]]));
    s.moveEnd(new Map([["a", { x: 230, y: 15 }]]));
    expect(store.getState().graph.nodes[1].position).toEqual({ x: 230, y: 15 });
    expect(store.getState().history.past).toHaveLength(1);
    store.getState().undo();
    expect(store.getState().graph.nodes[1].position).toEqual({ x: 200, y: 0 });
  });

  it("merges typing in a name into one undo step", () => {
    const store = loaded();
    for (const name of ["F", "Fe", "Fet", "Fetch"]) store.getState().renameNode("a", name);
    expect(store.getState().graph.nodes[1].name).toBe("Fetch");
    store.getState().undo();
    expect(store.getState().graph.nodes[1].name).toBe("a");
  });

  it("copies, pastes with fresh ids (shifting each paste) and duplicates", () => {
    const store = loaded();
    store.getState().setSelection({ nodes: ["a", "b"], edges: [], notes: [] });
    const payload = store.getState().copy()!;
    store.getState().paste(payload);
    store.getState().paste(payload);
    const g = store.getState().graph;
    expect(g.nodes).toHaveLength(8);
    expect(g.edges).toHaveLength(4);
    const ids = g.nodes.map((n) => n.id);
    expect(new Set(ids).size).toBe(ids.length);
    const copies = g.nodes.filter((n) => n.name === "a");
    expect(copies.map((n) => n.position.x)).toEqual([200, 240, 280]);
    store.getState().duplicate();
    expect(store.getState().graph.nodes).toHaveLength(10);
  });

  it("is read-only for viewers and while viewing a version", () => {
    const store = loaded();
    store.getState().setReadOnly(true);
    store.getState().addNodeOfType("core.noop", 1);
    store.getState().setSelection({ nodes: ["a"], edges: [], notes: [] });
    store.getState().removeSelection();
    expect(store.getState().graph).toBe(store.getState().savedGraph);
    expect(store.getState().checkConnection({ source: "b", sourcePort: "true", target: "m", targetPort: "in" }).ok).toBe(false);

    const store2 = loaded();
    store2.getState().view({ kind: "version", number: 1, note: "", graph: { nodes: [], edges: [], notes: [] } });
    store2.getState().addNodeOfType("core.noop", 1);
    expect(store2.getState().graph.nodes).toHaveLength(4);
    store2.getState().view(null);
    expect(store2.getState().addNodeOfType("core.noop", 1)).not.toBeNull();
  });

  it("indexes problems by node and edge and counts errors", () => {
    const store = loaded();
    store.getState().setProblems([
      { code: "x", message: "bad", severity: "error", node_id: "a" },
      { code: "y", message: "meh", severity: "warning", node_id: "a" },
      { code: "z", message: "loop", severity: "error", edge_id: "e1" },
    ]);
    const idx = store.getState().problemIndex;
    expect(idx.errorCount).toBe(2);
    expect(idx.warningCount).toBe(1);
    expect(idx.byNode.a).toHaveLength(2);
    expect(idx.byEdge.e1[0].message).toBe("loop");
  });

  it("takes the server's graph on 'Reload theirs'", () => {
    const store = loaded();
    store.getState().addNodeOfType("core.noop", 1);
    const theirs = { nodes: [], edges: [], notes: [] };
    store.getState().setConflict({ theirs, currentRevision: 7, updatedBy: "bob" });
    expect(store.getState().saveStatus).toBe("conflict");
    expect(isEditable(store.getState())).toBe(false);
    store.getState().acceptTheirs();
    const s = store.getState();
    expect(s.graph).toEqual(theirs);
    expect(s.revision).toBe(7);
    expect(s.saveStatus).toBe("saved");
    expect(s.canUndo()).toBe(false);
  });
});

describe("problem index", () => {
  it("keeps unchanged per-node problem lists so those nodes do not re-render", () => {
    const store = loaded();
    const p1 = { code: "x", message: "bad", severity: "error" as const, node_id: "a" };
    const p2 = { code: "y", message: "worse", severity: "error" as const, node_id: "b" };
    store.getState().setProblems([p1, p2]);
    const before = store.getState().problemIndex;
    store.getState().setProblems([{ ...p1 }, { ...p2, message: "changed" }]);
    const after = store.getState().problemIndex;
    expect(after.byNode.a).toBe(before.byNode.a);
    expect(after.byNode.b).not.toBe(before.byNode.b);
  });
});

describe("store slices", () => {
  it("declare disjoint keys, so combining them never hides one slice's state or action", async () => {
    const { createCatalogueSlice } = await import("./slices/catalogueSlice");
    const { createGraphSlice } = await import("./slices/graphSlice");
    const { createProblemsSlice } = await import("./slices/problemsSlice");
    const { createSavingSlice } = await import("./slices/savingSlice");
    const { createUiSlice } = await import("./slices/uiSlice");
    const { createViewSlice } = await import("./slices/viewSlice");
    const { createTestDataSlice } = await import("./slices/testDataSlice");
    const store = createEditorStore();
    const api = [store.setState, store.getState, store] as const;
    const seen = new Map<string, string>();
    const slices = { catalogue: createCatalogueSlice, graph: createGraphSlice, problems: createProblemsSlice, saving: createSavingSlice, ui: createUiSlice, view: createViewSlice, testData: createTestDataSlice };
    for (const [name, create] of Object.entries(slices)) {
      for (const key of Object.keys(create(...api))) {
        expect(seen.get(key), `${key} is in both ${seen.get(key)} and ${name}`).toBeUndefined();
        seen.set(key, name);
      }
    }
    expect(new Set(seen.keys())).toEqual(new Set(Object.keys(store.getState())));
  });
});

describe("draft and test data", () => {
  it("counts the draft's changes since the published version, not before one is read", () => {
    const store = loaded();
    expect(changesSincePublished(store.getState())).toEqual([]);
    store.getState().setPublishedGraph(sampleGraph());
    expect(changesSincePublished(store.getState())).toEqual([]);
    store.getState().renameNode("a", "Fetch");
    store.getState().addNodeOfType("core.noop", 1, { x: 900, y: 0 });
    store.getState().connect({ source: "b", sourcePort: "true", target: "m", targetPort: "in" });
    const texts = changesSincePublished(store.getState()).map((c) => c.text);
    expect(texts).toEqual(["Added “No operation”", "Renamed “a” to “Fetch”", "Connected “b” → “m”"]);
    store.getState().undo();
    store.getState().undo();
    store.getState().undo();
    expect(changesSincePublished(store.getState())).toEqual([]);
  });

  it("keeps pins by node and prefers a pin over the latest test data", () => {
    const store = loaded();
    const pin = { node_id: "a", outputs: { out: { pinned: 1 } }, source_run: null, updated_by: "ada", updated_at: "" };
    store.getState().setNodeData([{ node_id: "a", run_id: "r1", finished_at: null, inputs: {}, outputs: { out: { ran: 1 } }, stale: false }]);
    expect(outputsOf(store.getState(), "a")).toEqual({ out: { ran: 1 } });
    store.getState().putPin(pin);
    expect(outputsOf(store.getState(), "a")).toEqual({ out: { pinned: 1 } });
    store.getState().dropPin("a");
    expect(store.getState().pins).toEqual({});
    expect(outputsOf(store.getState(), "a")).toEqual({ out: { ran: 1 } });
    expect(outputsOf(store.getState(), "b")).toBeUndefined();
  });
});
