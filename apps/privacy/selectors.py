"""Reading personal-data settings, and masking what a caller may not see.

Masking happens on the way out (DECISIONS.md "Secrets and personal data"): the stored
run keeps what it received; a reader without the `personal-data` permission gets
copies with the values at the workflow's paths, and what its detectors find, replaced."""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q

from apps.audit.personal import (
    NO_POLICY,
    PersonalMasker,
    PersonalPolicy,
    keyed_hash,
    run_masker,
    values_at,
)
from apps.privacy.models import PersonalDataGrant, PersonalDataPolicy
from apps.runs.models import NodeRun, Run

POLICY_TTL_S = 5.0
SEARCH_PREFIX = "pd:"
_policies: dict[str, tuple[float, PersonalPolicy]] = {}
_lock = threading.Lock()


def pseudonym_key() -> bytes:
    """WEFT_PSEUDONYM_KEY; outside production a key derived from SECRET_KEY."""
    key = settings.WEFT_PSEUDONYM_KEY
    if key:
        return key.encode()
    if settings.PRODUCTION:
        raise ImproperlyConfigured(
            "WEFT_PSEUDONYM_KEY must be set when WEFT_ENV=production: it keys the hashes of "
            "personal data (data.pseudonymise, search, erasure). Generate one with: "
            "python -c 'import secrets; print(secrets.token_urlsafe(32))'")
    return hashlib.sha256(b"weft-pseudonym\x00" + settings.SECRET_KEY.encode()).digest()


def policy_get(*, workflow_id) -> PersonalPolicy:
    """A workflow's personal-data policy (cached in the process for a few seconds)."""
    return policies_get(workflow_ids=[workflow_id])[str(workflow_id)]


def policies_get(*, workflow_ids: Iterable[Any]) -> dict[str, PersonalPolicy]:
    """The policies of several workflows (by str id): cached ones from the cache, the
    rest in one query."""
    now = time.monotonic()
    found: dict[str, PersonalPolicy] = {}
    missing = set()
    for workflow_id in {str(w) for w in workflow_ids}:
        hit = _policies.get(workflow_id)
        if hit is not None and now - hit[0] < POLICY_TTL_S:
            found[workflow_id] = hit[1]
        else:
            missing.add(workflow_id)
    if missing:
        rows = {str(pk): PersonalPolicy.build(paths=paths, detectors=detectors)
                for pk, paths, detectors in PersonalDataPolicy.objects.filter(
                    workflow_id__in=missing).values_list("workflow_id", "paths", "detectors")}
        with _lock:
            for workflow_id in missing:
                found[workflow_id] = rows.get(workflow_id, NO_POLICY)
                _policies[workflow_id] = (now, found[workflow_id])
    return found


def policy_forget(*, workflow_id) -> None:
    _policies.pop(str(workflow_id), None)


def personal_access(user) -> bool:
    """Whether `user` holds the `personal-data` permission, directly or by a team."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    cached = getattr(user, "_weft_personal_data", None)
    if cached is None:
        cached = PersonalDataGrant.objects.filter(
            Q(user=user) | Q(team__members=user)).exists()
        user._weft_personal_data = cached
    return cached


def masker_for(*, policy: PersonalPolicy, run_input: Any,
               node_outputs: dict[str, Any] | None = None) -> PersonalMasker:
    return run_masker(policy, run_input=run_input, node_outputs=node_outputs,
                      region=settings.WEFT_PHONE_REGION)


def run_masker_get(*, run) -> PersonalMasker:
    """The masker of a stored run (its input and its node runs' outputs)."""
    policy = policy_get(workflow_id=run.workflow_id)
    if not policy:
        return PersonalMasker()
    outputs = {n.node_id: n.outputs for n in run.node_runs.all() if n.outputs is not None}
    return masker_for(policy=policy, run_input=run.input, node_outputs=outputs)


def run_detail_masked(detail: dict[str, Any], *, run, user) -> dict[str, Any]:
    """A run's detail (apps.runs.selectors.run_detail) as `user` may see it."""
    if personal_access(user):
        return detail
    masker = run_masker_get(run=run)
    if not masker:
        return detail
    policy = masker.policy
    return {
        **detail,
        "input": masker.mask(detail.get("input"), paths=policy.input_paths()),
        "error": masker.mask(detail.get("error")),
        "node_runs": [{**n, "inputs": masker.mask(n["inputs"]),
                       "outputs": masker.mask(n["outputs"],
                                              paths=policy.node_paths(n["node_id"])),
                       "error": masker.mask(n["error"]),
                       "task_title": masker.mask(n.get("task_title"))}
                      for n in detail.get("node_runs", [])],
    }


def run_maskers(*, runs: Iterable[tuple[Any, Any]]) -> dict[str, PersonalMasker]:
    """The maskers of many runs, given as (run id, workflow id), by str run id; runs of
    workflows without a policy are left out. At most three queries whatever the number
    of runs: the policies (often cached), the runs' inputs, and the outputs of the
    nodes the policies name."""
    pairs = {str(run_id): str(workflow_id) for run_id, workflow_id in runs}
    policies = policies_get(workflow_ids=pairs.values())
    governed = {run_id: policies[w] for run_id, w in pairs.items() if policies[w]}
    if not governed:
        return {}
    inputs = dict(Run.objects.filter(pk__in=list(governed)).values_list("pk", "input"))
    named = {parts[1] for policy in governed.values() for parts in policy.parts
             if parts[0] == "nodes"}
    outputs: dict[str, dict[str, Any]] = {run_id: {} for run_id in governed}
    if named:
        for run_id, node_id, value in NodeRun.objects.filter(
                run_id__in=list(governed), node_id__in=named, outputs__isnull=False
        ).order_by("attempt").values_list("run_id", "node_id", "outputs"):
            outputs[str(run_id)][node_id] = value
    return {run_id: masker_for(policy=policy, run_input=inputs.get(uuid.UUID(run_id)),
                               node_outputs=outputs[run_id])
            for run_id, policy in governed.items()}


def rows_masked(rows: list[dict[str, Any]], *, runs: list[tuple[Any, Any]], user,
                fields: Iterable[str]) -> list[dict[str, Any]]:
    """List rows (runs, their errors, tasks) as `user` may see them: `fields` of each row
    masked by the masker of its run (`runs`: (run id, workflow id) of each row, in
    order). The maskers of the whole page are read at once (run_maskers)."""
    fields = tuple(fields)
    if personal_access(user):
        return rows
    shown = [(row, run) for row, run in zip(rows, runs, strict=True)
             if any(row.get(f) for f in fields)]
    maskers = run_maskers(runs=[run for _, run in shown])
    if not maskers:
        return rows
    masked = {id(row): maskers.get(str(run[0])) for row, run in shown}
    return [{**row, **{f: masker.mask(row.get(f)) for f in fields}}
            if (masker := masked.get(id(row))) else row for row in rows]


def run_masker_of(*, run_id) -> PersonalMasker:
    """The masker of a run known by its id only (one query more than run_maskers)."""
    try:
        run_id = uuid.UUID(str(run_id))
    except ValueError:  # not a run's id (a call made outside a run)
        return PersonalMasker()
    workflow_id = Run.objects.filter(pk=run_id).values_list("workflow_id", flat=True).first()
    if workflow_id is None:
        return PersonalMasker()
    return run_maskers(runs=[(run_id, workflow_id)]).get(str(run_id)) or PersonalMasker()


def run_events_masked(events: list[dict[str, Any]], *, run_id, user) -> list[dict[str, Any]]:
    """A run's live events (apps.runs.events) as `user` may see them: the errors they
    carry masked by the run's masker."""
    if not any(e.get("error") for e in events) or personal_access(user):
        return events
    masker = run_masker_of(run_id=run_id)
    if not masker:
        return events
    return [{**e, "error": masker.mask(e["error"])} if e.get("error") else e for e in events]


def search_term_personal(term: str) -> str:
    """How a search term that holds personal data is stored: its keyed hash, which only
    a search by someone with the permission asks for."""
    return SEARCH_PREFIX + keyed_hash(term, key=pseudonym_key(), purpose="search")[:40]


def search_terms_for(term: str, *, user) -> list[str]:
    """The stored terms a search by `user` matches: the term itself, and, for holders of
    the permission, its keyed hash (a personal value's term)."""
    if personal_access(user):
        return [term, search_term_personal(term)]
    return [term]


def task_masked(data: dict[str, Any], *, task, user) -> dict[str, Any]:
    """A human task as `user` may see it (title, instructions, context, form values,
    comments and history masked without the permission)."""
    if personal_access(user):
        return data
    masker = run_masker_get(run=task.run)
    if not masker:
        return data
    masked = dict(data)
    for key in ("title", "instructions", "context", "form_values", "comment", "votes",
                "history"):
        if key in masked:
            masked[key] = masker.mask(masked[key])
    return masked


def tasks_masked(rows: list[dict[str, Any]], *, tasks: list, user) -> list[dict[str, Any]]:
    """Task list rows: titles masked by each task's run (its input and node outputs at
    the policy's paths, and the detectors), read for the whole page at once."""
    return rows_masked(rows, runs=[(t.run_id, t.workflow_id) for t in tasks], user=user,
                       fields=("title",))


def notification_masker(*, task) -> PersonalMasker:
    """Notifications go to people with and without the permission: always masked."""
    return run_masker_get(run=task.run)


def map_items_masked(rows: list[dict[str, Any]], *, run, user) -> list[dict[str, Any]]:
    """A map node's items as `user` may see them."""
    if personal_access(user):
        return rows
    masker = run_masker_get(run=run)
    if not masker:
        return rows
    return [{**row, "input": masker.mask(row["input"]), "output": masker.mask(row["output"]),
             "error": masker.mask(row["error"])} for row in rows]


def draft_data_masked(rows: list[dict[str, Any]], *, workflow_id, user,
                      run_ids: Iterable[Any] = ()) -> list[dict[str, Any]]:
    """The editor's data of a draft (pins, the latest test data: rows with `node_id`,
    `outputs` and maybe `inputs`) as `user` may see it. Debugging a run copies its input
    into a test run and its nodes' outputs into pins: they are masked as the run is, by
    the workflow's paths (in the rows' outputs and in the inputs of `run_ids`, the runs
    they came from) and its detectors."""
    if personal_access(user):
        return rows
    policy = policy_get(workflow_id=workflow_id)
    if not policy:
        return rows
    ids = [pk for pk in dict.fromkeys(run_ids) if pk]
    inputs = list(Run.objects.filter(pk__in=ids).values_list("input", flat=True))
    values: list[Any] = []
    for run_input in inputs:
        values += [v for parts in policy.input_paths() for v in values_at(run_input, parts)]
    values += [v for row in rows for parts in policy.node_paths(row["node_id"])
               for v in values_at(row["outputs"], parts)]
    masker = PersonalMasker(policy, values, region=settings.WEFT_PHONE_REGION)
    return [{**row, **({"inputs": masker.mask(row["inputs"])} if "inputs" in row else {}),
             "outputs": masker.mask(row["outputs"], paths=policy.node_paths(row["node_id"]))}
            for row in rows]
