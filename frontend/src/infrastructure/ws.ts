/**
 * Live run events over a WebSocket at /ws/runs/<run_id>/. Reconnects with backoff until
 * the run reaches a final state or the caller closes it; every (re)connect starts with a
 * snapshot, so no event is lost across a reconnect.
 */
import type { NodeRunStatus, RunStatus } from "../core/types";
import { TERMINAL_RUN_STATUSES } from "../core/types";
import type { RunDetail } from "./api";

/**
 * `seq`: the run's event number. A snapshot carries the number of the last event it
 * already shows; an event at or below the last number seen is dropped (it would move
 * the canvas backwards). Without a number (an older server) an event is applied.
 */
export type RunEvent =
  | { event: "snapshot"; run: RunDetail; seq?: number }
  | { event: "node"; run_id: string; node_id: string; status: NodeRunStatus; attempt: number; error?: { type: string; message: string } | null; seq?: number }
  | { event: "run"; run_id: string; status: RunStatus; error?: unknown; seq?: number };

/** Whether an event is older than what the client shows (`seen`: the last number applied). */
export function isStale(event: RunEvent, seen: number): boolean {
  return event.event !== "snapshot" && typeof event.seq === "number" && event.seq <= seen;
}

export type ConnectionState = "connecting" | "open" | "closed" | "reconnecting";

export interface SocketLike {
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: unknown) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  close(): void;
}

export type SocketFactory = (url: string) => SocketLike;

export function runSocketUrl(runId: string, loc: { protocol: string; host: string } = window.location): string {
  const scheme = loc.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${loc.host}/ws/runs/${encodeURIComponent(runId)}/`;
}

export interface RunSocketOptions {
  onEvent: (event: RunEvent) => void;
  onState?: (state: ConnectionState) => void;
  factory?: SocketFactory;
  url?: string;
}

export class RunSocket {
  private socket: SocketLike | null = null;
  private closedByUs = false;
  private finished = false;
  private attempts = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly url: string;
  private readonly factory: SocketFactory;

  constructor(
    readonly runId: string,
    private readonly options: RunSocketOptions,
  ) {
    this.url = options.url ?? runSocketUrl(runId);
    this.factory = options.factory ?? ((url) => new WebSocket(url) as unknown as SocketLike);
    this.connect();
  }

  private connect() {
    this.options.onState?.(this.attempts === 0 ? "connecting" : "reconnecting");
    const socket = this.factory(this.url);
    this.socket = socket;
    socket.onopen = () => {
      this.attempts = 0;
      this.options.onState?.("open");
    };
    socket.onmessage = (ev) => {
      let msg: RunEvent;
      try {
        msg = JSON.parse(String(ev.data)) as RunEvent;
      } catch {
        return;
      }
      if (msg.event === "run" && TERMINAL_RUN_STATUSES.includes(msg.status)) this.finished = true;
      if (msg.event === "snapshot" && TERMINAL_RUN_STATUSES.includes(msg.run.status)) this.finished = true;
      this.options.onEvent(msg);
    };
    socket.onclose = () => {
      this.socket = null;
      if (this.closedByUs || this.finished) {
        this.options.onState?.("closed");
        return;
      }
      this.attempts += 1;
      const delay = Math.min(1000 * 2 ** (this.attempts - 1), 15000);
      this.options.onState?.("reconnecting");
      this.timer = setTimeout(() => this.connect(), delay);
    };
    socket.onerror = () => {
      /* onclose follows and handles reconnection */
    };
  }

  close() {
    this.closedByUs = true;
    if (this.timer) clearTimeout(this.timer);
    this.socket?.close();
    this.socket = null;
  }
}
