/** The reviewer inbox (/inbox/, /inbox/<task_id>/): the list beside the open task (stacked
 * on narrow screens), live over /ws/inbox/, with j/k and ? on the keyboard. */
import { useEffect, useMemo, useState } from "react";
import { InboxContext, useInbox, type InboxServices } from "../features/inbox/context";
import { plainKey } from "../features/inbox/keys";
import { ShortcutsHelp, ShortcutsLine } from "../features/inbox/ShortcutsHelp";
import { TaskList } from "../features/inbox/TaskList";
import { TaskView } from "../features/inbox/TaskView";
import type { BootData } from "../infrastructure/boot";
import { createInboxApi } from "../infrastructure/inboxApi";
import { InboxSocket } from "../infrastructure/inboxSocket";
import { neighbour } from "../infrastructure/inboxState";
import { createInboxStore } from "../infrastructure/inboxStore";


function taskIdFromPath(path: string): string | null {
  const m = /^\/inbox\/([0-9a-f-]{36})\/?$/i.exec(path);
  return m ? m[1] : null;
}

function Inbox() {
  const openId = useInbox((s) => s.openId);
  const task = useInbox((s) => s.task);
  const taskError = useInbox((s) => s.taskError);
  const rows = useInbox((s) => s.list.rows);
  const open = useInbox((s) => s.open);
  const [help, setHelp] = useState(false);

  const go = (id: string | null) => {
    const path = id ? `/inbox/${id}/` : "/inbox/";
    if (window.location.pathname !== path) window.history.pushState({}, "", path);
    void open(id);
  };

  useEffect(() => {
    const onPop = () => void open(taskIdFromPath(window.location.pathname));
    window.addEventListener("popstate", onPop);
    return () => window.removeEventListener("popstate", onPop);
  }, [open]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (!plainKey(e)) return;
      if (e.key === "j" || e.key === "k") {
        e.preventDefault();
        const next = neighbour(rows, openId, e.key === "j" ? 1 : -1);
        if (next && next !== openId) go(next);
      } else if (e.key === "?") {
        e.preventDefault();
        setHelp(true);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  });

  return (
    <div className={`inbox${openId ? " has-task" : ""}`}>
      <div className="inbox-side">
        <TaskList onOpen={go} />
        <ShortcutsLine />
      </div>
      <div className="inbox-main">
        {openId ? (
          <>
            <button type="button" className="link-button inbox-back" onClick={() => go(null)}>
              ← All tasks
            </button>
            {taskError ? (
              <p className="problem-error" role="alert">
                {taskError}
              </p>
            ) : task ? (
              <TaskView task={task} />
            ) : (
              <p className="muted">Loading…</p>
            )}
          </>
        ) : (
          <div className="inbox-placeholder muted">
            <p>Pick a task on the left, or press <kbd>j</kbd> to open the first one.</p>
          </div>
        )}
      </div>
      {help ? <ShortcutsHelp onClose={() => setHelp(false)} /> : null}
    </div>
  );
}

export function InboxPage({ boot }: { boot: BootData }) {
  const services = useMemo<InboxServices>(() => {
    const api = createInboxApi(boot.api_base ?? "/api");
    const roles = boot.user?.roles ?? [];
    const me = { id: Number(boot.user?.id ?? 0), teamIds: boot.team_ids ?? [], isAdmin: roles.includes("admin") };
    const store = createInboxStore(api, me, { openId: boot.task_id ?? null });
    return { api, store, me };
  }, [boot]);

  useEffect(() => {
    const { store } = services;
    void store.getState().load();
    void store.getState().refreshTask();
    const socket = new InboxSocket({
      onEvent: (event) => store.getState().onEvent(event),
      onState: (state) => store.getState().setConnection(state),
    });
    return () => socket.close();
  }, [services]);

  return (
    <InboxContext.Provider value={services}>
      <Inbox />
    </InboxContext.Provider>
  );
}
