"""Reading personal-data settings, and masking what a caller may not see.

Masking happens on the way out (DECISIONS.md "Secrets and personal data"): the stored
run keeps what it received; a reader without the `personal-data` permission gets
copies with the values at the workflow's paths, and what its detectors find, replaced."""

from __future__ import annotations

import hashlib
import threading
import time
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
    key = str(workflow_id)
    now = time.monotonic()
    hit = _policies.get(key)
    if hit is not None and now - hit[0] < POLICY_TTL_S:
        return hit[1]
    row = PersonalDataPolicy.objects.filter(workflow_id=workflow_id).only(
        "paths", "detectors").first()
    policy = (PersonalPolicy.build(paths=row.paths, detectors=row.detectors)
              if row is not None else NO_POLICY)
    with _lock:
        _policies[key] = (now, policy)
    return policy


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
                       "error": masker.mask(n["error"])}
                      for n in detail.get("node_runs", [])],
    }


def search_terms_masked(terms: list[str], *, masker: PersonalMasker) -> list[str]:
    """Search terms as stored: a term that holds personal data becomes its keyed hash,
    which only a search by someone with the permission asks for."""
    if not masker:
        return terms
    key = pseudonym_key()
    return [SEARCH_PREFIX + keyed_hash(t, key=key, purpose="search")[:40]
            if masker.contains(t) else t for t in terms]


def search_terms_for(term: str, *, user) -> list[str]:
    """The stored terms a search by `user` matches: the term itself, and, for holders of
    the permission, its keyed hash (a personal value's term)."""
    if personal_access(user):
        return [term, SEARCH_PREFIX + keyed_hash(term, key=pseudonym_key(),
                                                 purpose="search")[:40]]
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
    """Task list rows: titles masked by each run's input paths and the detectors."""
    if personal_access(user):
        return rows
    out = []
    for row, task in zip(rows, tasks, strict=True):
        policy = policy_get(workflow_id=task.workflow_id)
        if policy:
            masker = masker_for(policy=policy, run_input=task.run.input)
            row = {**row, "title": masker.text(row["title"])}
        out.append(row)
    return out


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
    from apps.runs.models import Run  # privacy reads runs; runs' models never read privacy

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
