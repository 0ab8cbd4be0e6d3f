/**
 * The runs feed at /ws/runs/: which run changed and to what status (the runs page and
 * the editor's Runs tab re-read their lists on it). Reconnects with backoff until closed.
 */
import type { RunStatus } from "../core/types";
import type { SocketFactory, SocketLike } from "./ws";

export interface RunChange {
  event: "run";
  run_id: string;
  status: RunStatus;
}

export function runFeedUrl(loc: { protocol: string; host: string } = window.location): string {
  return `${loc.protocol === "https:" ? "wss" : "ws"}://${loc.host}/ws/runs/`;
}

export class RunFeed {
  private socket: SocketLike | null = null;
  private closed = false;
  private attempts = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly onChange: (change: RunChange) => void,
    private readonly factory: SocketFactory = (url) => new WebSocket(url) as unknown as SocketLike,
    private readonly url: string = runFeedUrl(),
    private readonly onOpen?: () => void,
  ) {
    this.connect();
  }

  private connect() {
    const socket = this.factory(this.url);
    this.socket = socket;
    socket.onopen = () => {
      this.attempts = 0;
      this.onOpen?.();
    };
    socket.onmessage = (ev) => {
      try {
        const msg = JSON.parse(String(ev.data)) as RunChange;
        if (msg.event === "run") this.onChange(msg);
      } catch {
        /* not ours */
      }
    };
    socket.onclose = () => {
      this.socket = null;
      if (this.closed) return;
      this.attempts += 1;
      this.timer = setTimeout(() => this.connect(), Math.min(1000 * 2 ** (this.attempts - 1), 15000));
    };
    socket.onerror = () => undefined;
  }

  close() {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.socket?.close();
    this.socket = null;
  }
}
