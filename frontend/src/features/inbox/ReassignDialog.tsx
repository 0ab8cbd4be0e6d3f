/** Reassign a task to users and teams (team leads and admins). */
import { useEffect, useState } from "react";
import { errorMessage } from "../../infrastructure/api";
import type { TaskDetail, TeamRef, UserRef } from "../../infrastructure/inboxApi";
import { Dialog } from "../../ui/Dialog";
import { useInbox, useInboxServices } from "./context";

export function ReassignDialog({ task, onClose }: { task: TaskDetail; onClose: () => void }) {
  const { api, me } = useInboxServices();
  const assign = useInbox((s) => s.assign);
  const busy = useInbox((s) => s.busy);
  const actionError = useInbox((s) => s.actionError);
  const [teams, setTeams] = useState<TeamRef[]>([]);
  const [users, setUsers] = useState<UserRef[]>([]);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [pickedUsers, setPickedUsers] = useState<number[]>(task.assignees.users.map((u) => u.id));
  const [pickedTeams, setPickedTeams] = useState<string[]>(task.assignees.teams.map((t) => t.id));

  useEffect(() => {
    api.listTeams().then(
      (data) => {
        const found = Array.isArray(data) ? data : data.results;
        setTeams(found);
        if (!me.isAdmin) {
          // Leads pick among their teams' members; only admins read the user list.
          const members = new Map<number, UserRef>();
          for (const t of found) for (const m of t.members) members.set(m.id, m);
          for (const u of task.assignees.users) members.set(u.id, u);
          setUsers([...members.values()].sort((a, b) => a.username.localeCompare(b.username)));
        }
      },
      (err) => setLoadError(errorMessage(err)),
    );
    if (me.isAdmin) api.listUsers().then((data) => setUsers(Array.isArray(data) ? data : data.results), (err) => setLoadError(errorMessage(err)));
  }, [api, me.isAdmin, task.assignees.users]);

  const toggle = <T,>(list: T[], value: T) => (list.includes(value) ? list.filter((v) => v !== value) : [...list, value]);
  const submit = async () => {
    if (await assign(pickedUsers, pickedTeams)) onClose();
  };
  return (
    <Dialog
      title="Reassign"
      onClose={onClose}
      footer={
        <>
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="button" className="btn btn-primary" disabled={busy || (!pickedUsers.length && !pickedTeams.length)} onClick={submit}>
            Reassign
          </button>
        </>
      }
    >
      {loadError ? <p className="problem-error">{loadError}</p> : null}
      {actionError ? (
        <p className="problem-error" role="alert">
          {actionError}
        </p>
      ) : null}
      <fieldset className="picker">
        <legend>Teams</legend>
        {teams.length ? null : <p className="muted small">No teams yet.</p>}
        {teams.map((t) => (
          <label key={t.id} className="check">
            <input type="checkbox" checked={pickedTeams.includes(t.id)} onChange={() => setPickedTeams(toggle(pickedTeams, t.id))} /> {t.name}
          </label>
        ))}
      </fieldset>
      <fieldset className="picker">
        <legend>People</legend>
        {users.map((u) => (
          <label key={u.id} className="check">
            <input type="checkbox" checked={pickedUsers.includes(u.id)} onChange={() => setPickedUsers(toggle(pickedUsers, u.id))} /> {u.username}
          </label>
        ))}
      </fieldset>
    </Dialog>
  );
}
