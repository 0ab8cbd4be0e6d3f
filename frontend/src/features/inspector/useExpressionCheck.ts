/**
 * Checks a CEL expression or `{{ }}` template with the server as the user types. With
 * sample data (what the node would see, from test runs, pins or the trigger's sample
 * input) the check uses its types and previews the value the expression gives.
 */
import { useEffect, useMemo, useState } from "react";
import type { ExpressionCheck, ExpressionPreview } from "../../infrastructure/api";
import { useApi, useEditor, useServices } from "../../infrastructure/context";
import { samplesFor, type Samples } from "../../infrastructure/expressionScope";

export type CheckState =
  | { status: "idle" }
  | { status: "checking" }
  | { status: "valid"; preview?: ExpressionPreview }
  | { status: "invalid"; message: string; position: number | null }
  | { status: "unavailable" };

const cache = new Map<string, ExpressionCheck>();
export const CHECK_DELAY_MS = 400;
const MAX_SAMPLE_CHARS = 200_000;

/** The sample data of the node being edited (the inspector's selected node). */
export function useSamples(): Samples | undefined {
  const { store } = useServices();
  const nodeId = useEditor((s) => (s.selection.nodes.length === 1 && !s.viewing ? s.selection.nodes[0] : null));
  const graph = useEditor((s) => s.graph);
  const pins = useEditor((s) => s.pins);
  const nodeData = useEditor((s) => s.nodeData);
  return useMemo(() => (nodeId ? samplesFor(store.getState(), nodeId) : undefined), [store, nodeId, graph, pins, nodeData]);
}

function stateOf(result: ExpressionCheck): CheckState {
  return result.valid ? { status: "valid", preview: result.preview } : { status: "invalid", message: result.error.message, position: result.error.position };
}

export function useExpressionCheck(value: string, template: boolean, enabled: boolean, samples?: Samples): CheckState {
  const api = useApi();
  const [state, setState] = useState<CheckState>({ status: "idle" });
  // Large data is left out: the check then goes without types (and without a preview).
  const encoded = samples === undefined ? "" : JSON.stringify(samples);
  const samplesKey = encoded.length > MAX_SAMPLE_CHARS ? "" : encoded;
  useEffect(() => {
    if (!enabled || !value.trim()) {
      setState({ status: "idle" });
      return;
    }
    const key = `${template ? "t" : "e"}:${samplesKey}:${value}`;
    const known = cache.get(key);
    if (known) {
      setState(stateOf(known));
      return;
    }
    setState({ status: "checking" });
    const controller = new AbortController();
    const timer = setTimeout(async () => {
      try {
        const result = await api.checkExpression(value, template, controller.signal, samplesKey ? JSON.parse(samplesKey) : undefined);
        if (cache.size > 500) cache.clear();
        cache.set(key, result);
        setState(stateOf(result));
      } catch {
        if (!controller.signal.aborted) setState({ status: "unavailable" });
      }
    }, CHECK_DELAY_MS);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [api, value, template, enabled, samplesKey]);
  return state;
}
