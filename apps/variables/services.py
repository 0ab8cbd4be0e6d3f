"""Everything that writes variables; every change is audited with the old and new value
(variables are not secret)."""

from __future__ import annotations

import re
import unicodedata

from django.db import IntegrityError, transaction
from django.db.models.functions import Lower

from apps.audit.services import audit_record
from apps.core.errors import Conflict, Unprocessable
from apps.variables.models import Variable
from apps.variables.selectors import variables_forget

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
NAME_HELP = ("Start with a letter or _, then letters, digits or _ (at most 64), so that "
             "expressions can read it as vars.NAME.")
VALUE_MAX = 10_000


def variable_name_problem(name: str) -> str | None:
    if not isinstance(name, str) or not NAME.match(name):
        return NAME_HELP
    return None


def _value_problem(value: str) -> str | None:
    if len(value) > VALUE_MAX:
        return f"At most {VALUE_MAX:,} characters."
    if "\x00" in value or any(0xD800 <= ord(c) <= 0xDFFF for c in value):
        return "NUL characters and lone surrogates cannot be stored."
    if any(unicodedata.category(c) == "Cc" and c not in "\t\n\r" for c in value):
        return "Control characters other than tab and line breaks cannot be stored."
    return None


def _check(*, name: str | None = None, value: str | None = None,
           exclude: int | None = None) -> None:
    errors: dict[str, list[str]] = {}
    if name is not None:
        problem = variable_name_problem(name)
        if problem:
            errors["name"] = [problem]
        elif Variable.objects.annotate(low=Lower("name")).filter(low=name.lower()).exclude(
                pk=exclude).exists():
            raise Conflict(f"A variable named {name!r} exists (names ignore case).",
                           code="duplicate_name", errors={"name": ["This name is taken."]})
    if value is not None and (problem := _value_problem(value)):
        errors["value"] = [problem]
    if errors:
        raise Unprocessable("Invalid variable.", code="invalid", errors=errors)


def variable_create(*, user, name: str, value: str, description: str = "") -> Variable:
    _check(name=name, value=value)
    try:
        with transaction.atomic():
            variable = Variable.objects.create(name=name, value=value,
                                               description=description, updated_by=user)
            audit_record(action="variable.create", actor=user, target=variable,
                         data={"name": name, "value": value})
    except IntegrityError:  # a concurrent create of the same name
        raise Conflict(f"A variable named {name!r} exists (names ignore case).",
                       code="duplicate_name", errors={"name": ["This name is taken."]}) from None
    variables_forget()  # this process at once; on commit again (a read meanwhile saw the old)
    transaction.on_commit(variables_forget)
    return variable


def variable_update(*, variable: Variable, user, name: str | None = None,
                    value: str | None = None, description: str | None = None) -> Variable:
    _check(name=name if name != variable.name else None, value=value, exclude=variable.pk)
    before = {"name": variable.name, "value": variable.value}
    if name is not None:
        variable.name = name
    if value is not None:
        variable.value = value
    if description is not None:
        variable.description = description
    variable.updated_by = user
    try:
        with transaction.atomic():
            variable.save()
            audit_record(action="variable.update", actor=user, target=variable,
                         data={"before": before,
                               "after": {"name": variable.name, "value": variable.value}})
    except IntegrityError:
        raise Conflict(f"A variable named {name!r} exists (names ignore case).",
                       code="duplicate_name", errors={"name": ["This name is taken."]}) from None
    variables_forget()  # this process at once; on commit again (a read meanwhile saw the old)
    transaction.on_commit(variables_forget)
    return variable


def variable_delete(*, variable: Variable, user) -> None:
    with transaction.atomic():
        audit_record(action="variable.delete", actor=user, target=variable,
                     data={"name": variable.name, "value": variable.value})
        variable.delete()
    variables_forget()  # this process at once; on commit again (a read meanwhile saw the old)
    transaction.on_commit(variables_forget)
