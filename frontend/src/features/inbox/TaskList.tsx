/** The tabs with their counts, the filters, and a page of tasks. */
import { useEffect, useState } from "react";
import type { Ordering, Tab, TaskSummary, TeamRef } from "../../infrastructure/inboxApi";
import { PAGE_SIZE } from "../../infrastructure/inboxStore";
import { useInbox, useInboxServices } from "./context";
import { absoluteTime, relativeTime } from "./time";

const TABS: { tab: Tab; label: string; empty: string }[] = [
  { tab: "mine", label: "Assigned to me", empty: "Nothing is waiting for you. Tasks that name you, and tasks you claim, appear here as soon as a run reaches an approval step." },
  { tab: "team", label: "My teams", empty: "No unclaimed tasks for your teams. Tasks assigned to a team you belong to appear here until someone claims them." },
  { tab: "overdue", label: "Follow-up / overdue", empty: "Nothing is overdue. Open tasks whose due time or follow-up date has passed appear here." },
  { tab: "done", label: "Done by me", empty: "You have not decided any task yet. Tasks you approve or reject, or vote on, are kept here." },
  { tab: "all", label: "All", empty: "There are no tasks. Every task of every workflow appears here for admins." },
];

function TaskRow({ task, active, onOpen }: { task: TaskSummary; active: boolean; onOpen: (id: string) => void }) {
  const who = task.claimed_by
    ? `claimed by ${task.claimed_by.username}`
    : [...task.assignees.users.map((u) => u.username), ...task.assignees.teams.map((t) => t.name)].join(", ");
  return (
    <li>
      <a
        href={`/inbox/${task.id}/`}
        className={`task-row${active ? " active" : ""}${task.overdue ? " overdue" : ""}`}
        aria-current={active ? "true" : undefined}
        data-task-id={task.id}
        onClick={(e) => {
          if (e.metaKey || e.ctrlKey || e.shiftKey) return;
          e.preventDefault();
          onOpen(task.id);
        }}
      >
        <span className="task-row-title">
          {task.title}
          {task.is_test ? <span className="pill">test</span> : null}
          {task.status !== "open" ? <span className={`pill status-${task.status}`}>{task.status}</span> : null}
        </span>
        <span className="task-row-meta muted small">
          <span>{task.workflow.name}</span>
          {who ? <span>· {who}</span> : null}
        </span>
        <span className="task-row-due small">
          {task.due_at ? (
            <time dateTime={task.due_at} title={absoluteTime(task.due_at)} className={task.overdue ? "overdue-text" : undefined}>
              {task.overdue ? "overdue " : "due "}
              {relativeTime(task.due_at)}
            </time>
          ) : (
            <span className="muted">created {relativeTime(task.created_at)}</span>
          )}
        </span>
      </a>
    </li>
  );
}

export function TaskList({ onOpen }: { onOpen: (id: string) => void }) {
  const { api, me } = useInboxServices();
  const list = useInbox((s) => s.list);
  const loaded = useInbox((s) => s.loaded);
  const listError = useInbox((s) => s.listError);
  const openId = useInbox((s) => s.openId);
  const connection = useInbox((s) => s.connection);
  const setTab = useInbox((s) => s.setTab);
  const setFilters = useInbox((s) => s.setFilters);
  const setPage = useInbox((s) => s.setPage);
  const [teams, setTeams] = useState<TeamRef[]>([]);
  const [allWorkflows, setAllWorkflows] = useState<{ id: string; name: string }[]>([]);
  const [search, setSearch] = useState(list.filters.search ?? "");

  useEffect(() => {
    api.listTeams().then((data) => setTeams(Array.isArray(data) ? data : data.results), () => setTeams([]));
    api.listWorkflows().then((data) => setAllWorkflows(data.results), () => setAllWorkflows([]));
  }, [api]);
  useEffect(() => {
    const timer = setTimeout(() => {
      if ((list.filters.search ?? "") !== search) setFilters({ search });
    }, 300);
    return () => clearTimeout(timer);
  }, [search, list.filters.search, setFilters]);

  const workflows = new Map<string, string>(allWorkflows.map((w) => [w.id, w.name]));
  for (const t of Object.values(list.known)) workflows.set(t.workflow.id, t.workflow.name);
  const tabs = TABS.filter((t) => t.tab !== "all" || me.isAdmin);
  const current = TABS.find((t) => t.tab === list.tab) ?? TABS[0];
  const pages = Math.max(1, Math.ceil(list.count / PAGE_SIZE));
  const filtered = !!(list.filters.search || list.filters.team || list.filters.workflow);

  return (
    <section className="inbox-list" aria-label="Tasks">
      <div className="inbox-tabs" role="tablist" aria-label="Inbox tabs">
        {tabs.map(({ tab, label }) => (
          <button
            key={tab}
            type="button"
            role="tab"
            aria-selected={list.tab === tab}
            className={`inbox-tab${list.tab === tab ? " selected" : ""}`}
            onClick={() => setTab(tab)}
          >
            {label}
            {list.counts[tab] !== undefined ? <span className="count">{list.counts[tab]}</span> : null}
          </button>
        ))}
      </div>
      <div className="inbox-filters">
        <input
          type="search"
          className="form-control"
          placeholder="Search titles and context"
          aria-label="Search tasks"
          value={search}
          onChange={(e) => setSearch(e.target.value)}
        />
        <select
          className="form-control"
          aria-label="Workflow"
          value={list.filters.workflow ?? ""}
          onChange={(e) => setFilters({ workflow: e.target.value || undefined })}
        >
          <option value="">All workflows</option>
          {[...workflows].map(([id, name]) => (
            <option key={id} value={id}>
              {name}
            </option>
          ))}
        </select>
        <select className="form-control" aria-label="Team" value={list.filters.team ?? ""} onChange={(e) => setFilters({ team: e.target.value || undefined })}>
          <option value="">All teams</option>
          {teams.map((t) => (
            <option key={t.id} value={t.id}>
              {t.name}
            </option>
          ))}
        </select>
        <select
          className="form-control"
          aria-label="Sort"
          value={list.filters.ordering}
          onChange={(e) => setFilters({ ordering: e.target.value as Ordering })}
        >
          <option value="due_at">Due soonest</option>
          <option value="-due_at">Due latest</option>
          <option value="created_at">Oldest first</option>
          <option value="-created_at">Newest first</option>
        </select>
      </div>
      {connection === "reconnecting" ? (
        <p className="inbox-offline small" role="status">
          Live updates paused; reconnecting…
        </p>
      ) : null}
      {listError ? (
        <p className="problem-error" role="alert">
          {listError}
        </p>
      ) : null}
      {list.rows.length ? (
        <ul className="task-rows">
          {list.rows.map((t) => (
            <TaskRow key={t.id} task={t} active={t.id === openId} onOpen={onOpen} />
          ))}
        </ul>
      ) : !loaded && !listError ? (
        <p className="muted inbox-empty">Loading…</p>
      ) : (
        <div className="inbox-empty" role="status">
          <strong>{filtered ? "No task matches these filters." : "All clear."}</strong>
          <p className="muted">{filtered ? "Clear the search or the filters to see the rest of this tab." : current.empty}</p>
        </div>
      )}
      {pages > 1 ? (
        <nav className="inbox-pages" aria-label="Pages">
          <button type="button" className="btn btn-small" disabled={list.filters.page <= 1} onClick={() => setPage(list.filters.page - 1)}>
            Previous
          </button>
          <span className="small muted">
            Page {list.filters.page} of {pages}
          </span>
          <button type="button" className="btn btn-small" disabled={list.filters.page >= pages} onClick={() => setPage(list.filters.page + 1)}>
            Next
          </button>
        </nav>
      ) : null}
    </section>
  );
}
