"""Everything that writes personal-data settings, grants, and the erase operation.

Erasure is the one exception to "never change a stored run" (DECISIONS.md): it replaces
a person's values in stored runs (input, result, node runs, map items, human tasks);
the audit event keeps only a keyed hash of the value."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction

from apps.approvals.models import Task
from apps.audit.personal import ERASED, Detector, PersonalMasker, keyed_hash, path_parts
from apps.audit.services import audit_record
from apps.core.errors import Unprocessable
from apps.privacy.models import PersonalDataGrant, PersonalDataPolicy
from apps.privacy.selectors import policy_forget, pseudonym_key, search_term_personal
from apps.runs.models import MapItem, NodeRun, Run
from apps.runs.search import search_term

ERASE_BATCH = 200


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


def personal_data_erase(*, value: str, actor, workflow=None, request=None) -> dict[str, int]:
    """Replace `value` (an e-mail, a name, a customer id) with "[erased]" in the stored
    runs that hold it: those whose input or result holds it (the search index), or,
    with `workflow`, every run of that workflow. Returns the counts; audited with only
    a keyed hash of the value."""
    value = value.strip()
    if len(value) < 3:
        raise Unprocessable("A value to erase has at least 3 characters.",
                            errors={"value": ["At least 3 characters."]})
    masker = PersonalMasker(values=[value], mask=ERASED)
    term = search_term(value)
    terms = [term, search_term_personal(term)]
    runs = Run.objects.filter(search_terms__overlap=terms)
    if workflow is not None:
        runs = Run.objects.filter(workflow=workflow)
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
                 target=workflow,
                 data={"value_hash": keyed_hash(value, key=pseudonym_key(), purpose="erase"), **counts})
    return counts


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
