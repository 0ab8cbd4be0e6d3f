/**
 * The inbox's store (zustand): the list (tab, filters, rows, counts), the open task and
 * the connection. Live events go through inboxState's pure functions; the open task is
 * read again whenever an event names it.
 */
import { createStore, type StoreApi } from "zustand/vanilla";
import { ApiError, errorMessage } from "./api";
import type { InboxApi, Tab, TaskDetail } from "./inboxApi";
import {
  applyPage,
  applyTaskEvent,
  initialListState,
  type ListFilters,
  type ListState,
  type Me,
  type TaskEvent,
} from "./inboxState";
import type { ConnectionState } from "./ws";

export const PAGE_SIZE = 25;

export interface InboxState {
  list: ListState;
  loading: boolean;
  /** A page of the current tab and filters has been read (until then the list says "Loading"). */
  loaded: boolean;
  listError: string | null;
  openId: string | null;
  task: TaskDetail | null;
  taskError: string | null;
  /** The last action's error on the open task (a 409 names who decided it and when). */
  actionError: string | null;
  /** The field errors of the last action's 400 (e.g. `form.total`, `comment`). */
  actionFieldErrors: Record<string, string[]>;
  busy: boolean;
  connection: ConnectionState;
}

export interface InboxActions {
  load(): Promise<void>;
  setTab(tab: Tab): void;
  setFilters(change: Partial<Omit<ListFilters, "page">>): void;
  setPage(page: number): void;
  open(taskId: string | null): Promise<void>;
  refreshTask(): Promise<void>;
  claim(): Promise<void>;
  release(): Promise<void>;
  assign(users: number[], teams: string[]): Promise<boolean>;
  decide(decision: "approved" | "rejected", comment: string, form: Record<string, unknown>): Promise<boolean>;
  onEvent(event: TaskEvent): void;
  setConnection(state: ConnectionState): void;
}

export type InboxStore = StoreApi<InboxState & InboxActions>;

/** "Already decided by bob at 16:40" from the server's 409, else its message. */
export function actionErrorText(err: unknown): string {
  if (err instanceof ApiError && err.code === "already_decided") {
    const by = typeof err.body.decided_by === "string" ? err.body.decided_by : "the rules";
    const at = typeof err.body.decided_at === "string" ? new Date(err.body.decided_at) : null;
    const when = at && !Number.isNaN(at.getTime()) ? ` at ${at.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" })}` : "";
    const what = typeof err.body.status === "string" ? ` (${err.body.status})` : "";
    return `Already decided by ${by}${when}${what}.`;
  }
  return errorMessage(err);
}

export function createInboxStore(api: InboxApi, me: Me, initial: { tab?: Tab; openId?: string | null } = {}): InboxStore {
  let loadToken = 0;
  let buffered: TaskEvent[] | null = null;
  let reloadTimer: ReturnType<typeof setTimeout> | null = null;

  return createStore<InboxState & InboxActions>()((set, get) => {
    const query = () => {
      const { tab, filters } = get().list;
      return { tab, ...filters, page_size: PAGE_SIZE };
    };

    const runAction = async (call: () => Promise<TaskDetail>) => {
      set({ busy: true, actionError: null, actionFieldErrors: {} });
      try {
        const task = await call();
        set({ task, busy: false });
        void get().load();
        return true;
      } catch (err) {
        set({ busy: false, actionError: actionErrorText(err), actionFieldErrors: err instanceof ApiError ? err.fieldErrors : {} });
        void get().refreshTask();
        return false;
      }
    };

    return {
      list: initialListState(initial.tab ?? "mine"),
      loading: false,
      loaded: false,
      listError: null,
      openId: initial.openId ?? null,
      task: null,
      taskError: null,
      actionError: null,
      actionFieldErrors: {},
      busy: false,
      connection: "connecting",

      async load() {
        const token = ++loadToken;
        buffered = [];
        set({ loading: true });
        try {
          const page = await api.listTasks(query());
          if (token !== loadToken) return;
          const arrived = (buffered ?? []).filter((e) => e.event === "task");
          let list = applyPage(get().list, page);
          // Events that arrived while the page was read are applied on top of it, from
          // what the page says of each task; whether the page already counted them is
          // unknown, so the page is read once more a moment later.
          for (const event of arrived) {
            if (event.event !== "task") continue;
            const id = event.task.id;
            const { [id]: _seq, ...taskSeq } = list.taskSeq;
            const { [id]: _known, ...known } = list.known;
            const onPage = page.results.find((t) => t.id === id);
            list = applyTaskEvent({ ...list, taskSeq, known: onPage ? { ...known, [id]: onPage } : known }, event, me).state;
          }
          set({ list, loading: false, loaded: true, listError: null });
          if (arrived.length && !reloadTimer) {
            reloadTimer = setTimeout(() => {
              reloadTimer = null;
              void get().load();
            }, 500);
          }
        } catch (err) {
          if (token === loadToken) set({ loading: false, listError: errorMessage(err) });
        } finally {
          if (token === loadToken) buffered = null;
        }
      },

      setTab(tab) {
        set({ loaded: false, list: { ...get().list, tab, rows: [], count: 0, filters: { ...get().list.filters, page: 1 } } });
        void get().load();
      },

      setFilters(change) {
        set({ loaded: false, list: { ...get().list, filters: { ...get().list.filters, ...change, page: 1 } } });
        void get().load();
      },

      setPage(page) {
        set({ list: { ...get().list, filters: { ...get().list.filters, page } } });
        void get().load();
      },

      async open(taskId) {
        set({ openId: taskId, task: taskId && get().task?.id === taskId ? get().task : null, taskError: null, actionError: null, actionFieldErrors: {} });
        if (taskId) await get().refreshTask();
      },

      async refreshTask() {
        const id = get().openId;
        if (!id) return;
        try {
          const task = await api.getTask(id);
          if (get().openId === id) set({ task, taskError: null });
        } catch (err) {
          if (get().openId === id) set({ taskError: errorMessage(err), task: null });
        }
      },

      claim: async () => {
        const id = get().openId;
        if (id) await runAction(() => api.claim(id));
      },
      release: async () => {
        const id = get().openId;
        if (id) await runAction(() => api.release(id));
      },
      assign: async (users, teams) => {
        const id = get().openId;
        return id ? runAction(() => api.assign(id, { users, teams })) : false;
      },
      decide: async (decision, comment, form) => {
        const id = get().openId;
        return id ? runAction(() => api.decide(id, { decision, comment, form })) : false;
      },

      onEvent(event) {
        if (event.event === "snapshot") {
          // Everything up to the snapshot is read again; later events apply on top.
          set({ list: { ...get().list, snapshotSeq: event.seq } });
          void get().load();
          void get().refreshTask();
          return;
        }
        if (buffered) buffered.push(event);
        const result = applyTaskEvent(get().list, event, me);
        if (!result.applied) return;
        set({ list: result.state });
        if (result.taskId && result.taskId === get().openId) void get().refreshTask();
      },

      setConnection(connection) {
        set({ connection });
      },
    };
  });
}
