/**
 * The inbox's live events over /ws/inbox/: a snapshot seq on every (re)connect, then task
 * events. Reconnects with backoff (1 s doubling to 15 s) until closed by the caller.
 */
import type { TaskEvent } from "./inboxState";
import type { ConnectionState, SocketFactory, SocketLike } from "./ws";

export function inboxSocketUrl(loc: { protocol: string; host: string } = window.location): string {
  return `${loc.protocol === "https:" ? "wss" : "ws"}://${loc.host}/ws/inbox/`;
}

export interface InboxSocketOptions {
  onEvent: (event: TaskEvent) => void;
  onState?: (state: ConnectionState) => void;
  factory?: SocketFactory;
  url?: string;
}

export class InboxSocket {
  private socket: SocketLike | null = null;
  private closedByUs = false;
  private attempts = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly factory: SocketFactory;

  constructor(private readonly options: InboxSocketOptions) {
    this.factory = options.factory ?? ((url) => new WebSocket(url) as unknown as SocketLike);
    this.connect();
  }

  private connect() {
    this.options.onState?.(this.attempts === 0 ? "connecting" : "reconnecting");
    const socket = this.factory(this.options.url ?? inboxSocketUrl());
    this.socket = socket;
    socket.onopen = () => {
      this.attempts = 0;
      this.options.onState?.("open");
    };
    socket.onmessage = (ev) => {
      try {
        this.options.onEvent(JSON.parse(String(ev.data)) as TaskEvent);
      } catch {
        /* not ours */
      }
    };
    socket.onclose = () => {
      this.socket = null;
      if (this.closedByUs) {
        this.options.onState?.("closed");
        return;
      }
      this.attempts += 1;
      this.options.onState?.("reconnecting");
      this.timer = setTimeout(() => this.connect(), Math.min(1000 * 2 ** (this.attempts - 1), 15000));
    };
    socket.onerror = () => {
      /* onclose follows */
    };
  }

  close() {
    this.closedByUs = true;
    if (this.timer) clearTimeout(this.timer);
    this.socket?.close();
    this.socket = null;
  }
}
