/**
 * The data the draft's nodes work with in test runs: pins (a node's output fixed by the
 * builder; test runs use it instead of running the node) and what each node last gave
 * in a test run (the input and output panel, "Run this node", expression autocomplete).
 */
import type { NodeTestData, Pin } from "../api";
import type { Slice } from "./types";

export interface TestDataState {
  pins: Record<string, Pin>;
  nodeData: Record<string, NodeTestData>;
}

export interface TestDataActions {
  setPins(pins: Pin[]): void;
  putPin(pin: Pin): void;
  dropPin(nodeId: string): void;
  setNodeData(data: NodeTestData[]): void;
}

export const createTestDataSlice: Slice<TestDataState & TestDataActions> = (set, get) => ({
  pins: {},
  nodeData: {},

  setPins(pins) {
    set({ pins: Object.fromEntries(pins.map((p) => [p.node_id, p])) });
  },

  putPin(pin) {
    set({ pins: { ...get().pins, [pin.node_id]: pin } });
  },

  dropPin(nodeId) {
    const { [nodeId]: _gone, ...rest } = get().pins;
    set({ pins: rest });
  },

  setNodeData(data) {
    set({ nodeData: Object.fromEntries(data.map((d) => [d.node_id, d])) });
  },
});

/** A node's outputs as expressions downstream see them: its pin first, else its latest test data. */
export function outputsOf(s: TestDataState, nodeId: string): Record<string, unknown> | undefined {
  return s.pins[nodeId]?.outputs ?? s.nodeData[nodeId]?.outputs;
}
