"""Everything that writes personal-data settings, grants, and the erase operation.

Erasure is the one exception to "never change a stored run" (DECISIONS.md): it replaces
a person's values in stored runs (input, result, node runs, map items, human tasks);
the audit event keeps only a keyed hash of the value."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import Q

from apps.accounts.roles import ADMIN, EDITOR, has_role
from apps.approvals.models import Task
from apps.audit.actors import Actor
from apps.audit.personal import ERASED, Detector, PersonalMasker, keyed_hash, path_parts
from apps.audit.services import audit_record
from apps.core.errors import Unprocessable
from apps.privacy.models import PersonalDataGrant, PersonalDataPolicy
from apps.privacy.selectors import policy_forget, pseudonym_key, search_term_personal
from apps.runs.models import MapItem, NodeRun, Run
from apps.runs.search import search_term
from apps.workflows.models import VersionKind

ERASE_BATCH = 200
ERASE_MIN_LENGTH = 3


class ErasureRefused(Exception):
    """A workflow asked to erase more than the person behind its version may."""


def policy_set(*, workflow, paths: Iterable[str], detectors: Iterable[str],
               user) -> PersonalDataPolicy:
    """Set which fields of a workflow's runs hold personal data; audited."""
    paths, detectors = list(dict.fromkeys(paths)), sorted(set(detectors))
    problems = {}
    for index, path in enumerate(paths):
        try:
            path_parts(path)
        except ValueError as exc:
            problems[f"paths[{index}]"] = [str(exc)]
    unknown = set(detectors) - {d.value for d in Detector}
    if unknown:
        problems["detectors"] = [f"Unknown detectors: {sorted(unknown)}; choose from "
                                 f"{[d.value for d in Detector]}."]
    if problems:
        raise Unprocessable("Some personal-data settings are not valid.", errors=problems)
    with transaction.atomic():
        policy, _ = PersonalDataPolicy.objects.update_or_create(
            workflow=workflow, defaults={"paths": paths, "detectors": detectors,
                                         "updated_by": user})
        audit_record(action="personal_data.policy_set", actor=user, target=workflow,
                     data={"paths": paths, "detectors": detectors})
    policy_forget(workflow_id=workflow.pk)
    return policy


def grant_set(*, granted: bool, actor, user=None, team=None) -> bool:
    """Give or take the `personal-data` permission of one user or one team; audited."""
    target = {"user": user} if user is not None else {"team": team}
    with transaction.atomic():
        if granted:
            _, changed = PersonalDataGrant.objects.get_or_create(
                **target, defaults={"granted_by": actor})
        else:
            changed = PersonalDataGrant.objects.filter(**target).delete()[0] > 0
        if changed:
            audit_record(action="personal_data.grant" if granted else "personal_data.revoke",
                         actor=actor, target=user if user is not None else team)
    return granted


def _erase(data: Any, masker: PersonalMasker) -> tuple[Any, bool]:
    erased = masker.mask(data)
    return erased, erased != data


def personal_data_erase(*, value: str, actor, workflow=None, everywhere: bool | None = None,
                        run_id=None, exclude_run_id=None, request=None,
                        details: dict[str, Any] | None = None) -> dict[str, int]:
    """Replace `value` (an e-mail, a name, a customer id) with "[erased]" in the stored
    runs that hold it. Which runs: with `everywhere` (the default without `workflow`),
    those whose input or result holds it (the search index), in any workflow; with
    `workflow`, also every run of that workflow (node outputs included); with `run_id`,
    that one run only; `exclude_run_id` leaves one run out. Returns the counts; audited
    with only a keyed hash of the value (and `details`, which must hold no value)."""
    value = value.strip()
    if len(value) < ERASE_MIN_LENGTH:
        raise Unprocessable(f"A value to erase has at least {ERASE_MIN_LENGTH} characters.",
                            errors={"value": [f"At least {ERASE_MIN_LENGTH} characters."]})
    masker = PersonalMasker(values=[value], mask=ERASED)
    term = search_term(value)
    terms = [term, search_term_personal(term)]
    if everywhere is None:
        everywhere = workflow is None
    where = Q(pk__in=[])
    if everywhere:
        where |= Q(search_terms__overlap=terms)
    if workflow is not None:
        where |= Q(workflow=workflow)
    if run_id is not None:
        where = Q(pk=run_id)
    runs = Run.objects.filter(where)
    if exclude_run_id is not None:
        runs = runs.exclude(pk=exclude_run_id)
    counts = {"runs": 0, "node_runs": 0, "map_items": 0, "tasks": 0}
    last = None
    while True:
        page = runs.order_by("pk")
        if last is not None:
            page = page.filter(pk__gt=last)
        ids = list(page.values_list("pk", flat=True)[:ERASE_BATCH])
        if not ids:
            break
        last = ids[-1]
        with transaction.atomic():
            _erase_runs(ids, masker=masker, terms=set(terms), counts=counts)
    audit_record(action="personal_data.erase", actor=actor, request=request,
                 target=workflow, run_id=str(run_id or exclude_run_id or "") or None,
                 data={**(details or {}),
                       "value_hash": keyed_hash(value, key=pseudonym_key(), purpose="erase"),
                       **counts})
    return counts


def run_erase_authority(*, run: Run, everywhere: bool):
    """Who answers for an erase a run asks for (the `privacy.erase` node): the person who
    made the version it runs, i.e. its publisher, or for a test run the builder who
    started it. Erasing in every workflow is what the console lets admins do, so it needs
    that person to be an active admin when the run erases; erasing in the workflow's own
    runs needs an active editor, who could change and publish the workflow anyway."""
    person = run.version.created_by
    role = ADMIN if everywhere else EDITOR
    if not person.is_active or not has_role(person, role):
        made = ("started this test run" if run.version.kind == VersionKind.TEST
                else f"published version {run.version.number}")
        where = "in every workflow" if everywhere else "in this workflow's runs"
        raise ErasureRefused(
            f"Erasing {where} needs the role '{role}': {person.get_username()}, who {made}, "
            f"does not hold it. Nothing was erased.")
    return person


def run_values_erase(*, run: Run, values: list[str], everywhere: bool) -> dict[str, int]:
    """The erase a run asks for (the `privacy.erase` node): each value replaced in this
    workflow's runs, and with `everywhere` in every run whose input or result holds it;
    the run itself is left for `run_erase_own` when it ends, so the steps after the
    erase (telling the person) still have the values. Audited with the workflow as the
    actor and the person who answers for it (`run_erase_authority`)."""
    person = run_erase_authority(run=run, everywhere=everywhere)
    totals = {"runs": 0, "node_runs": 0, "map_items": 0, "tasks": 0}
    for value in values:
        counts = personal_data_erase(
            value=value, actor=Actor.system(f"workflow:{run.workflow_id}"),
            workflow=run.workflow, everywhere=everywhere, exclude_run_id=run.pk,
            details={"scope": "everywhere" if everywhere else "workflow",
                     "authorised_by": person.get_username()})
        for name, count in counts.items():
            totals[name] += count
    return totals


def run_erase_own(*, run: Run, values: list[str]) -> dict[str, int]:
    """The values a run erased elsewhere, erased from the run itself once it ended."""
    totals = {"runs": 0, "node_runs": 0, "map_items": 0, "tasks": 0}
    for value in values:
        counts = personal_data_erase(value=value, actor=Actor.system(
            f"workflow:{run.workflow_id}"), workflow=run.workflow, run_id=run.pk,
            details={"scope": "this run, when it ended"})
        for name, count in counts.items():
            totals[name] += count
    return totals


def _erase_runs(ids: list, *, masker: PersonalMasker, terms: set[str],
                counts: dict[str, int]) -> None:
    for run in Run.objects.select_for_update().filter(pk__in=ids):
        changed = []
        for field in ("input", "response", "error", "vars"):
            new, hit = _erase(getattr(run, field), masker)
            if hit:
                setattr(run, field, new)
                changed.append(field)
        kept = [t for t in run.search_terms or [] if t not in terms and not masker.contains(t)]
        if kept != (run.search_terms or []):
            run.search_terms = kept
            changed.append("search_terms")
        if changed:
            run.save(update_fields=changed)
            counts["runs"] += 1
    for model, fields, key in ((NodeRun, ("inputs", "outputs", "error", "state"), "node_runs"),
                               (MapItem, ("input", "output", "error"), "map_items"),
                               (Task, ("title", "instructions", "context", "form_values",
                                       "comment", "search_text"), "tasks")):
        lookup = {"run_id__in": ids} if model is not MapItem else {"node_run__run_id__in": ids}
        for row in model.objects.select_for_update().filter(**lookup):
            changed = []
            for field in fields:
                new, hit = _erase(getattr(row, field), masker)
                if hit:
                    setattr(row, field, new)
                    changed.append(field)
            if changed:
                row.save(update_fields=changed)
                counts[key] += 1
