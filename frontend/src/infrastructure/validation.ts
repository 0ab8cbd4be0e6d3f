/**
 * Asks the server to validate the draft a moment after each change and stores the
 * problems. Older answers that arrive late are ignored.
 */
import type { Api } from "./api";
import type { EditorStore } from "./editorStore";

export const VALIDATE_DELAY_MS = 400;

export class ValidationController {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private seq = 0;
  private controller: AbortController | null = null;
  private unsubscribe: (() => void) | null = null;

  constructor(
    private readonly store: EditorStore,
    private readonly api: Pick<Api, "validate">,
    private readonly delay = VALIDATE_DELAY_MS,
  ) {}

  start(): this {
    this.unsubscribe = this.store.subscribe((s, prev) => {
      if ((s.graph !== prev.graph || prev.dragging) && !s.dragging) this.schedule();
    });
    return this;
  }

  stop() {
    this.unsubscribe?.();
    if (this.timer) clearTimeout(this.timer);
    this.controller?.abort();
  }

  schedule(ms = this.delay) {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.run(), ms);
  }

  async run(): Promise<void> {
    this.timer = null;
    const s = this.store.getState();
    // Validating is an editor's action (the API refuses viewers); read-only pages skip it.
    if (!s.workflowId || s.readOnly) return;
    const seq = ++this.seq;
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    s.setValidating(true);
    try {
      const result = await this.api.validate(s.workflowId, s.graph, controller.signal);
      if (seq !== this.seq) return;
      this.store.getState().setProblems(result.problems ?? []);
    } catch {
      // Offline or aborted: keep the last known problems; the next change retries.
    } finally {
      if (seq === this.seq) this.store.getState().setValidating(false);
    }
  }
}
