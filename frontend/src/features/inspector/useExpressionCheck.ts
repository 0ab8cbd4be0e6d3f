/** Checks a CEL expression or `{{ }}` template with the server as the user types. */
import { useEffect, useState } from "react";
import type { ExpressionCheck } from "../../infrastructure/api";
import { useApi } from "../../infrastructure/context";

export type CheckState =
  | { status: "idle" }
  | { status: "checking" }
  | { status: "valid" }
  | { status: "invalid"; message: string; position: number | null }
  | { status: "unavailable" };

const cache = new Map<string, ExpressionCheck>();
export const CHECK_DELAY_MS = 400;

export function useExpressionCheck(value: string, template: boolean, enabled: boolean): CheckState {
  const api = useApi();
  const [state, setState] = useState<CheckState>({ status: "idle" });
  useEffect(() => {
    if (!enabled || !value.trim()) {
      setState({ status: "idle" });
      return;
    }
    const key = `${template ? "t" : "e"}:${value}`;
    const known = cache.get(key);
    if (known) {
      setState(known.valid ? { status: "valid" } : { status: "invalid", message: known.error.message, position: known.error.position });
      return;
    }
    setState({ status: "checking" });
    const controller = new AbortController();
    const timer = setTimeout(async () => {
      try {
        const result = await api.checkExpression(value, template, controller.signal);
        if (cache.size > 500) cache.clear();
        cache.set(key, result);
        setState(result.valid ? { status: "valid" } : { status: "invalid", message: result.error.message, position: result.error.position });
      } catch {
        if (!controller.signal.aborted) setState({ status: "unavailable" });
      }
    }, CHECK_DELAY_MS);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [api, value, template, enabled]);
  return state;
}
