"""Everything that writes human tasks and teams (DESIGN.md contract 11).

A task is created in the transaction that makes its node wait; it is decided once: the
deciding vote moves it from `open` by compare-and-set under a row lock, then the run is
resumed through the runs service. If the process dies between the two, the sweep
resumes any decided task whose node still waits. Due times come from PostgreSQL's clock
(`db_now()` of the transaction, `Now()` in the sweep's comparisons). Every action is
audited with the person (or the rule) as the actor; live events and notifications leave
after commit.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.db.models.functions import Now

from apps.accounts.roles import ADMIN, has_role
from apps.approvals import events, notifications
from apps.approvals.models import (
    Decision,
    Mode,
    Notification,
    NotificationSettings,
    Task,
    TaskEvent,
    TaskEventKind,
    TaskStatus,
    Team,
    Vote,
)
from apps.audit.personal import PersonalMasker, personal_scope
from apps.audit.services import Actor, audit_record
from apps.core.errors import Conflict, NotFound, Unprocessable
from apps.feedback.services import feedback_record
from apps.privacy.selectors import run_masker_get
from apps.runs import refs
from apps.runs.models import NodeStatus, Run, RunMode, RunStatus
from apps.workflows.models import Workflow

logger = logging.getLogger("weft.approvals")
User = get_user_model()
RUN_ACTIVE = (RunStatus.RUNNING, RunStatus.WAITING, RunStatus.PAUSED)
ENGINE = Actor.system("approvals")


def db_now() -> datetime:
    """PostgreSQL's clock (the transaction's start): the one clock of due times."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")
        return cursor.fetchone()[0]


def _event(task: Task, kind: str, *, actor=None, **data: Any) -> TaskEvent:
    return TaskEvent.objects.create(task=task, kind=kind, actor=actor, data=data)


def _search_text(title: str, context: list[dict[str, Any]]) -> str:
    parts = [title]
    for item in context:
        value = item.get("value")
        parts.append(f"{item.get('label', '')} {value if isinstance(value, str) else value!r}")
    return " ".join(parts).lower()[:20000]


def _task_audit(task: Task, action: str, *, actor: Any,
                masker: PersonalMasker | None = None, **data: Any) -> None:
    """Record an action on a task. Its title (the event's target label) and the payload
    may quote personal data: both pass through the run's masker (apps.audit.personal),
    as audit events are read by people with and without the permission."""
    with personal_scope(masker if masker is not None else run_masker_get(run=task.run)):
        audit_record(action=action, actor=actor, target=task, run_id=str(task.run_id),
                     data={"task": str(task.pk), **data})


# --- Created by the engine ---------------------------------------------------------------

def task_create_for_wait(*, run: Run, node_run, payload: dict[str, Any]) -> Task:
    """The engine's handler of an `approval` wait: the task, in the step's transaction."""
    now = db_now()
    if run.mode == RunMode.TEST:
        return _test_task_create(run=run, node_run=node_run, payload=payload, now=now)
    users = list(User.objects.filter(username__in=payload.get("assignee_users") or [],
                                     is_active=True))
    teams = list(Team.objects.filter(name__in=payload.get("assignee_teams") or []))
    due_in, follow_up_in = payload.get("due_in_s"), payload.get("follow_up_in_s")
    due_at = now + timedelta(seconds=due_in) if due_in is not None else None
    steps = payload.get("overdue_steps") or []
    context = payload.get("context") or []
    masker = run_masker_get(run=run)
    task = Task.objects.create(
        run=run, node_run=node_run, workflow_id=run.workflow_id, node_id=node_run.node_id,
        title=payload.get("title") or "Approval", instructions=payload.get("instructions", ""),
        context=context, form_schema=payload.get("form_schema"),
        form_values=payload.get("form_values") or {}, mode=payload.get("mode", Mode.ANY),
        quorum_n=payload.get("quorum") or 1, due_at=due_at,
        follow_up_at=now + timedelta(seconds=follow_up_in) if follow_up_in else None,
        overdue_steps=steps,
        next_step_at=due_at + timedelta(seconds=steps[0]["after_s"] or 0)
        if steps and due_at else None,
        started_by_id=run.started_by_id,
        forbid_self_approval=bool(payload.get("forbid_self_approval")),
        # Personal data is left out of what inbox search matches (DECISIONS.md "Roles").
        search_text=masker.text(_search_text(payload.get("title") or "", context)))
    task.assignee_users.set(users)
    task.assignee_teams.set(teams)
    missing = sorted(set(payload.get("assignee_users") or []) - {u.username for u in users}) + \
        sorted(set(payload.get("assignee_teams") or []) - {t.name for t in teams})
    created = _event(task, TaskEventKind.CREATED, **({"unknown_assignees": missing}
                                                      if missing else {}))
    _task_audit(task, "task.created", actor=ENGINE, masker=masker, node_id=task.node_id,
                title=task.title, users=[u.username for u in users],
                teams=[t.name for t in teams])
    _after_commit(task, created, notify="assigned", recipients=_assignees(task))
    return task


def _test_task_create(*, run: Run, node_run, payload: dict[str, Any], now: datetime) -> Task:
    """A task of a test run of the draft: it goes to the builder who started the run
    (else the workflow's owner) instead of the configured reviewers, is marked as a
    test, needs one decision, sends no notification (the builder decides it from the
    run panel) and is exempt from `forbid_self_approval`. Its due time and overdue
    steps are left out: nobody is reminded or escalated to about a test."""
    builder_id = run.started_by_id or Workflow.objects.filter(pk=run.workflow_id).values_list(
        "owner_id", flat=True).first()
    context = payload.get("context") or []
    masker = run_masker_get(run=run)
    task = Task.objects.create(
        run=run, node_run=node_run, workflow_id=run.workflow_id, node_id=node_run.node_id,
        title=payload.get("title") or "Approval", instructions=payload.get("instructions", ""),
        context=context, form_schema=payload.get("form_schema"),
        form_values=payload.get("form_values") or {}, mode=Mode.ANY, quorum_n=1,
        started_by_id=run.started_by_id, is_test=True,
        forbid_self_approval=bool(payload.get("forbid_self_approval")),
        search_text=masker.text(_search_text(payload.get("title") or "", context)))
    if builder_id:
        task.assignee_users.set([builder_id])
    created = _event(task, TaskEventKind.CREATED, test=True)
    _task_audit(task, "task.created", actor=ENGINE, masker=masker, node_id=task.node_id,
                title=task.title, test=True,
                users=list(task.assignee_users.values_list("username", flat=True)), teams=[])
    _after_commit(task, created)
    return task


def tasks_close_for_run(*, run: Run, status: str) -> int:
    """A run that ended (cancelled, failed, finished elsewhere) takes its open tasks with
    it, in the same transaction."""
    open_tasks = list(Task.objects.select_for_update().filter(run_id=run.pk,
                                                              status=TaskStatus.OPEN))
    for task in open_tasks:
        task.status = TaskStatus.CANCELLED
        task.save(update_fields=["status", "updated_at"])
        closed = _event(task, TaskEventKind.CANCELLED, run_status=str(status))
        _task_audit(task, "task.cancelled", actor=ENGINE, run_status=str(status))
        _after_commit(task, closed)
    return len(open_tasks)


# --- Who may do what ----------------------------------------------------------------------

def is_candidate(*, task: Task, user) -> bool:
    """An assignee, a member of an assigned team, or an admin."""
    if has_role(user, ADMIN):
        return True
    return task.assignee_users.filter(pk=user.pk).exists() or \
        task.assignee_teams.filter(members=user).exists()


def is_lead(*, task: Task, user) -> bool:
    return has_role(user, ADMIN) or task.assignee_teams.filter(lead=user).exists()


def _locked(task: Task) -> Task:
    return Task.objects.select_for_update().get(pk=task.pk)


def _require_open(task: Task) -> None:
    if task.status == TaskStatus.OPEN:
        return
    if task.decided_at:
        raise Conflict(f"This task was already {task.status} by "
                       f"{task.decided_by.username if task.decided_by else 'the rules'} "
                       f"at {task.decided_at.isoformat()}.", code="already_decided",
                       decided_by=task.decided_by.username if task.decided_by else None,
                       decided_at=task.decided_at.isoformat(), status=task.status)
    raise Conflict(f"This task is {task.status}; it can no longer be changed.",
                   code=f"task_{task.status}", status=task.status)


# --- Claim, release, reassign --------------------------------------------------------------

@transaction.atomic
def task_claim(*, task: Task, user) -> Task:
    task = _locked(task)
    _require_open(task)
    if not is_candidate(task=task, user=user):
        raise NotFound("No such task.", task=str(task.pk))
    if task.claimed_by_id == user.pk:
        return task
    if task.claimed_by_id is not None:
        raise Conflict(f"{task.claimed_by.username} claimed this task at "
                       f"{task.claimed_at.isoformat()}.", code="already_claimed",
                       claimed_by=task.claimed_by.username)
    task.claimed_by, task.claimed_at = user, db_now()
    task.save(update_fields=["claimed_by", "claimed_at", "updated_at"])
    claimed = _event(task, TaskEventKind.CLAIMED, actor=user)
    _task_audit(task, "task.claimed", actor=user)
    _after_commit(task, claimed)
    return task


@transaction.atomic
def task_release(*, task: Task, user) -> Task:
    task = _locked(task)
    _require_open(task)
    if task.claimed_by_id is None:
        return task
    if task.claimed_by_id != user.pk and not is_lead(task=task, user=user):
        raise Conflict(f"{task.claimed_by.username} holds this task; only they, a team "
                       "lead or an admin can release it.", code="not_yours")
    task.claimed_by, task.claimed_at = None, None
    task.save(update_fields=["claimed_by", "claimed_at", "updated_at"])
    released = _event(task, TaskEventKind.RELEASED, actor=user)
    _task_audit(task, "task.released", actor=user)
    _after_commit(task, released)
    return task


@transaction.atomic
def task_assign(*, task: Task, user, users: Iterable[int] = (), teams: Iterable[Any] = ()
                ) -> Task:
    """Reassign (team leads of an assigned team and admins): the new assignees replace
    the old, and the claim is released."""
    task = _locked(task)
    _require_open(task)
    if not is_lead(task=task, user=user):
        raise Unprocessable("Only a lead of an assigned team or an admin can reassign.",
                            code="forbidden", status_code=403)
    user_ids, team_ids = list(dict.fromkeys(users)), list(dict.fromkeys(teams))
    new_users = list(User.objects.filter(pk__in=user_ids, is_active=True))
    new_teams = list(Team.objects.filter(pk__in=team_ids))
    unknown = {"users": sorted(set(map(str, user_ids)) - {str(u.pk) for u in new_users}),
               "teams": sorted(set(map(str, team_ids)) - {str(t.pk) for t in new_teams})}
    errors = {key: [f"Unknown or inactive: {', '.join(values)}."]
              for key, values in unknown.items() if values}
    if errors:
        raise Unprocessable("Unknown assignees.", code="unknown_assignee", errors=errors)
    if not new_users and not new_teams:
        raise Unprocessable("Name at least one user or team.", code="required",
                            errors={"users": ["Name at least one user or team."]})
    before = {"users": sorted(task.assignee_users.values_list("username", flat=True)),
              "teams": sorted(task.assignee_teams.values_list("name", flat=True))}
    previous = set(_recipient_ids(task))
    task.assignee_users.set(new_users)
    task.assignee_teams.set(new_teams)
    task.claimed_by, task.claimed_at = None, None
    task.save(update_fields=["claimed_by", "claimed_at", "updated_at"])
    after = {"users": sorted(u.username for u in new_users),
             "teams": sorted(t.name for t in new_teams)}
    moved = _event(task, TaskEventKind.REASSIGNED, actor=user, before=before, after=after)
    _task_audit(task, "task.reassigned", actor=user, before=before, after=after)
    _after_commit(task, moved, notify="assigned", recipients=_assignees(task),
                  also_groups=previous)
    return task


# --- Deciding ---------------------------------------------------------------------------

def _form_errors(schema: dict[str, Any] | None, form: dict[str, Any]) -> dict[str, list[str]]:
    if not schema:
        return {}
    from jsonschema import Draft202012Validator

    errors: dict[str, list[str]] = {}
    for error in Draft202012Validator(schema).iter_errors(form):
        where = ".".join(str(p) for p in error.absolute_path)
        errors.setdefault(f"form.{where}" if where else "form", []).append(error.message)
    return errors


def _changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    return {key: {"from": before.get(key), "to": after.get(key)}
            for key in sorted(set(before) | set(after)) if before.get(key) != after.get(key)}


def _outcome(task: Task, votes: list[Vote]) -> str | None:
    """The task's decision once the votes reach it, else None."""
    if any(v.decision == Decision.REJECTED for v in votes):
        return Decision.REJECTED
    approvals = {v.user_id for v in votes if v.decision == Decision.APPROVED}
    if task.mode == Mode.ANY:
        return Decision.APPROVED if approvals else None
    if task.mode == Mode.ALL:
        needed = set(task.assignee_users.values_list("pk", flat=True))
        return Decision.APPROVED if needed and needed <= approvals else None
    return Decision.APPROVED if len(approvals) >= task.quorum_n else None


def task_decide(*, task: Task, user, decision: str, comment: str = "",
                form: dict[str, Any] | None = None) -> Task:
    """A reviewer's decision (a vote, for all / N-of-M tasks). Exactly one decision
    counts: the task row is locked and moved from `open` once; a second vote by the
    same user, or any vote after the task is decided, is a 409 naming who decided."""
    if decision not in (Decision.APPROVED, Decision.REJECTED):
        raise Unprocessable(f"Unknown decision {decision!r}: approved or rejected.",
                            code="invalid_choice",
                            errors={"decision": ["Choose approved or rejected."]})
    if decision == Decision.REJECTED and not comment.strip():
        raise Unprocessable("Say why you reject.", code="required",
                            errors={"comment": ["A rejection needs a comment."]})
    with transaction.atomic():
        task = _locked(task)
        if not is_candidate(task=task, user=user):
            raise NotFound("No such task.", task=str(task.pk))
        _require_open(task)
        run_status = Run.objects.filter(pk=task.run_id).values_list("status", flat=True).first()
        if run_status not in RUN_ACTIVE:
            raise Conflict(f"The run of this task is {run_status}; it takes no decision.",
                           code="run_finished", run_status=run_status)
        if task.forbid_self_approval and not task.is_test and user.pk == task.started_by_id:
            raise Unprocessable("You started this run, so someone else must decide its "
                                "task (separation of duties).", code="self_approval",
                                status_code=403)
        # Stored form values are escaped as run data is (apps.runs.refs); the reviewer
        # reads and sends them plain.
        values = {**refs.unescape(task.form_values or {}), **(form or {})} \
            if task.form_schema else {}
        errors = _form_errors(task.form_schema, values)
        if errors:
            raise Unprocessable("The form's values do not fit its fields.",
                                code="invalid_form", errors=errors)
        try:
            with transaction.atomic():
                Vote.objects.create(task=task, user=user, decision=decision,
                                    comment=comment, form=refs.escape(values))
        except IntegrityError:
            raise Conflict("You already voted on this task.", code="already_voted") from None
        voted = _event(task, TaskEventKind.VOTED, actor=user, decision=decision,
                       comment=comment)
        _task_audit(task, "task.voted", actor=user, decision=decision)
        outcome = _outcome(task, list(task.votes.all()))
        if outcome is None:  # more votes are needed
            _after_commit(task, voted)
            return task
        _close(task, outcome=outcome, by=user, comment=comment, form=values)
    _resume(task)
    return task


def _close(task: Task, *, outcome: str, by, comment: str, form: dict[str, Any],
           kind: str = TaskEventKind.DECIDED) -> None:
    """Move the (locked) task from open to decided; the run resumes after commit."""
    changes = _changes(refs.unescape(task.form_values or {}), refs.unescape(form))
    now = db_now()
    moved = Task.objects.filter(pk=task.pk, status=TaskStatus.OPEN).update(
        status=outcome, decision=outcome, decided_by=by, decided_at=now, comment=comment,
        form_values=refs.escape(form), updated_at=now)
    if moved != 1:  # the row lock makes this unreachable; never decide twice
        raise Conflict("This task was decided meanwhile.", code="already_decided")
    task.refresh_from_db()
    if by is not None:  # a person's decision on a model's answer is labelled data
        feedback_record(task=task, corrected=changes)
    decided = _event(task, kind, actor=by, decision=outcome, comment=comment,
                     form_changes=changes)
    _task_audit(task, "task.decided" if kind == TaskEventKind.DECIDED else "task.expired",
                actor=by or ENGINE, decision=outcome, comment=comment, form_changes=changes)
    _after_commit(task, decided, notify="decided" if by is None else None,
                  recipients=_assignees(task) if by is None else ())


def task_output(task: Task) -> dict[str, Any]:
    return {"decision": task.decision, "comment": task.comment,
            "decided_by": task.decided_by.username if task.decided_by else None,
            "decided_at": task.decided_at.isoformat() if task.decided_at else None,
            "form": refs.unescape(task.form_values or {}), "task_id": str(task.pk)}


def _resume(task: Task) -> str:
    """The decided task's run goes on from its node, on the decision's port."""
    from apps.runs.services import node_run_resume

    return node_run_resume(node_run_id=task.node_run_id,
                           outputs={task.decision: task_output(task)})


# --- The sweep: follow-ups, overdue steps, decided tasks not yet resumed --------------------

def tasks_sweep(*, batch: int = 200) -> dict[str, int]:
    """Follow-ups and overdue steps that came due, decided tasks not yet resumed, then
    the notifications all of that (and the requests since the last sweep) wrote."""
    counts = {"reminded": 0, "escalated": 0, "expired": 0, "resumed": 0}
    for pk in Task.objects.filter(status=TaskStatus.OPEN, follow_up_at__lte=Now()
                                  ).values_list("pk", flat=True)[:batch]:
        with transaction.atomic():
            task = Task.objects.select_for_update(skip_locked=True).filter(
                pk=pk, status=TaskStatus.OPEN, follow_up_at__lte=Now()).first()
            if task is None:
                continue
            task.follow_up_at = None
            task.save(update_fields=["follow_up_at", "updated_at"])
            _remind(task, reason="follow_up")
            counts["reminded"] += 1
    for pk in Task.objects.filter(status=TaskStatus.OPEN, next_step_at__lte=Now()
                                  ).values_list("pk", flat=True)[:batch]:
        resume = False
        with transaction.atomic():
            task = Task.objects.select_for_update(skip_locked=True).filter(
                pk=pk, status=TaskStatus.OPEN, next_step_at__lte=Now()).first()
            if task is None:
                continue
            action = _overdue_step(task)
            counts[action] = counts.get(action, 0) + 1
            resume = task.status != TaskStatus.OPEN
        if resume:
            _resume(task)
    # Decided, but the run was not resumed (the deciding process died in between).
    stranded = Task.objects.filter(
        status__in=[TaskStatus.APPROVED, TaskStatus.REJECTED, TaskStatus.EXPIRED],
        node_run__status=NodeStatus.WAITING, run__status__in=RUN_ACTIVE)
    for task in stranded.select_related("decided_by")[:batch]:
        if _resume(task) != "dropped":
            counts["resumed"] += 1
    counts["emails"] = notifications.notifications_send(batch=batch)
    return counts


def _remind(task: Task, *, reason: str) -> None:
    reminded = _event(task, TaskEventKind.REMINDED, reason=reason)
    _task_audit(task, "task.reminded", actor=ENGINE, reason=reason)
    _after_commit(task, reminded, notify="reminder", recipients=_assignees(task))


def _overdue_step(task: Task) -> str:
    """Take the overdue step that is due (locked task); schedule the next one."""
    steps = task.overdue_steps or []
    step = steps[task.next_step] if task.next_step < len(steps) else None
    if step is None:
        task.next_step_at = None
        task.save(update_fields=["next_step_at", "updated_at"])
        return "none"
    action = step["action"]
    following = steps[task.next_step + 1] if task.next_step + 1 < len(steps) else None
    next_at = task.due_at + timedelta(seconds=following["after_s"] or 0) \
        if following and task.due_at else None
    if action == "remind":
        _remind(task, reason="overdue")
        every = step.get("every_s")
        repeat_at = task.next_step_at + timedelta(seconds=every) if every else None
        if repeat_at is not None and (next_at is None or repeat_at < next_at):
            task.next_step_at = repeat_at  # the same step again
            task.save(update_fields=["next_step_at", "updated_at"])
            return "reminded"
        action_name = "reminded"
    elif action == "escalate":
        team = Team.objects.filter(name=step.get("team", "")).first()
        before = sorted(task.assignee_teams.values_list("name", flat=True))
        previous = set(_recipient_ids(task))
        if team is not None:
            task.assignee_teams.set([team])
            task.claimed_by, task.claimed_at = None, None
        escalated = _event(task, TaskEventKind.ESCALATED, team=step.get("team"),
                           found=team is not None, before=before)
        _task_audit(task, "task.escalated", actor=ENGINE, team=step.get("team"), before=before)
        _after_commit(task, escalated, notify="escalated",
                      recipients=_team_members([team]) if team else (), also_groups=previous)
        action_name = "escalated"
    else:  # approve or reject on expiry
        outcome = Decision.APPROVED if action == "approve" else Decision.REJECTED
        task.next_step, task.next_step_at = task.next_step + 1, None
        task.save(update_fields=["next_step", "next_step_at", "claimed_by", "updated_at"])
        _close(task, outcome=outcome, by=None,
               comment=f"Decided automatically: {action} when overdue.",
               form=refs.unescape(task.form_values or {}), kind=TaskEventKind.EXPIRED)
        return "expired"
    task.next_step, task.next_step_at = task.next_step + 1, next_at
    task.save(update_fields=["next_step", "next_step_at", "claimed_by", "claimed_at",
                             "updated_at"])
    return action_name


# --- Teams ---------------------------------------------------------------------------------

def team_create(*, user, name: str, description: str = "", lead=None, members=(),
                webhook_url: str = "") -> Team:
    with transaction.atomic():
        if Team.objects.filter(name__iexact=name.strip()).exists():
            raise Conflict(f"A team named {name!r} exists already.", code="duplicate_name",
                           errors={"name": ["A team with this name exists."]})
        team = Team.objects.create(name=name.strip(), description=description, lead=lead,
                                   webhook_url=webhook_url)
        team.members.set(members)
        if lead is not None:
            team.members.add(lead)
        audit_record(action="team.create", actor=user, target=team,
                     data={"name": team.name, "lead": lead.username if lead else None,
                           "members": sorted(m.username for m in team.members.all())})
    return team


def team_update(*, team: Team, user, **fields: Any) -> Team:
    with transaction.atomic():
        team = Team.objects.select_for_update().get(pk=team.pk)
        if "name" in fields and Team.objects.filter(name__iexact=fields["name"].strip()
                                                    ).exclude(pk=team.pk).exists():
            raise Conflict(f"A team named {fields['name']!r} exists already.",
                           code="duplicate_name", errors={"name": ["A team with this name "
                                                                    "exists."]})
        changed = {}
        for key in ("name", "description", "lead", "webhook_url"):
            if key in fields:
                value = fields[key].strip() if key == "name" else fields[key]
                setattr(team, key, value)
                changed[key] = value.username if key == "lead" and value else value
        team.save()
        if "members" in fields:
            team.members.set(fields["members"])
            changed["members"] = sorted(m.username for m in fields["members"])
        if team.lead_id:
            team.members.add(team.lead_id)
        audit_record(action="team.update", actor=user, target=team, data=changed)
    return team


def team_delete(*, team: Team, user) -> None:
    with transaction.atomic():
        open_tasks = team.tasks.filter(status=TaskStatus.OPEN).count()
        if open_tasks:
            raise Conflict(f"Team {team.name!r} has {open_tasks} open task(s); reassign them "
                           "first.", code="team_in_use", open_tasks=open_tasks)
        audit_record(action="team.delete", actor=user, target=team, data={"name": team.name})
        team.delete()


def team_member_add(*, team: Team, user, member) -> Team:
    team.members.add(member)
    audit_record(action="team.member_add", actor=user, target=team,
                 data={"member": member.username})
    return team


def team_member_remove(*, team: Team, user, member) -> Team:
    if team.lead_id == member.pk:
        raise Conflict(f"{member.username} leads {team.name}; choose another lead first.",
                       code="is_lead")
    team.members.remove(member)
    audit_record(action="team.member_remove", actor=user, target=team,
                 data={"member": member.username})
    return team


def notification_settings_set(*, user, email_enabled: bool) -> NotificationSettings:
    found, _ = NotificationSettings.objects.update_or_create(
        user=user, defaults={"email_enabled": email_enabled})
    return found


# --- After commit: live events and notifications --------------------------------------------

def _team_members(teams) -> list:
    return list(User.objects.filter(review_teams__in=[t for t in teams if t], is_active=True)
                .distinct())


def _assignees(task: Task) -> list:
    direct = list(task.assignee_users.filter(is_active=True))
    seen = {u.pk for u in direct}
    return direct + [u for u in _team_members(task.assignee_teams.all()) if u.pk not in seen]


def _recipient_ids(task: Task) -> list[int]:
    return [u.pk for u in _assignees(task)]


def _after_commit(task: Task, event: TaskEvent, *, notify: str | None = None,
                  recipients: Iterable = (), also_groups: Iterable[int] = ()) -> None:
    """After the commit: the inbox event to every group that may show the task (and to
    those that showed it before a reassignment), and notifications."""
    groups = events.task_groups(task) | {events.user_group(pk) for pk in also_groups}
    seq = event.pk
    task_id = task.pk
    transaction.on_commit(lambda: events.task_changed(task_id=task_id, seq=seq, groups=groups))
    recipients = [user.pk for user in recipients]
    if notify and recipients and not task.is_test:  # sent by the sweep (an outbox row)
        Notification.objects.create(task=task, kind=notify, recipients=recipients)
