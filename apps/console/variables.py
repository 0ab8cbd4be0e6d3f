"""The console's Variables page: editors and admins list, create, change and delete the
named values expressions read as `vars.NAME`. Views parse the form, call one service."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from apps.console.access import editor_required
from apps.console.forms import VariableForm, errors_into
from apps.core.errors import Conflict, Unprocessable
from apps.variables import selectors, services
from apps.variables.models import Variable


def _page(request, form, *, status=200, editing=None):
    return render(request, "console/variables.html", {
        "section": "variables", "variables": selectors.variable_list(), "form": form,
        "editing": editing}, status=status)


@require_http_methods(["GET", "POST"])
@editor_required
def variables(request):
    if request.method == "GET":
        return _page(request, VariableForm())
    form = VariableForm(request.POST)
    if form.is_valid():
        try:
            variable = services.variable_create(user=request.user, **form.cleaned_data)
        except (Unprocessable, Conflict) as exc:
            errors_into(form, exc)
        else:
            messages.success(request, f"Variable {variable.name} was created; expressions "
                                      f"read it as vars.{variable.name}.")
            return redirect("console:variables")
    return _page(request, form, status=400)


@require_http_methods(["GET", "POST"])
@editor_required
def variable_edit(request, variable_id: int):
    variable = get_object_or_404(Variable, pk=variable_id)
    if request.method == "GET":
        form = VariableForm(initial={"name": variable.name, "value": variable.value,
                                     "description": variable.description})
        return _page(request, VariableForm(), editing=(variable, form))
    form = VariableForm(request.POST)
    if form.is_valid():
        try:
            services.variable_update(variable=variable, user=request.user, **form.cleaned_data)
        except (Unprocessable, Conflict) as exc:
            errors_into(form, exc)
        else:
            messages.success(request, f"Variable {variable.name} was saved. Runs that "
                                      "started before keep the value they saw.")
            return redirect("console:variables")
    return _page(request, VariableForm(), editing=(variable, form), status=400)


@require_POST
@editor_required
def variable_delete(request, variable_id: int):
    variable = get_object_or_404(Variable, pk=variable_id)
    services.variable_delete(variable=variable, user=request.user)
    messages.success(request, f"Variable {variable.name} was deleted.")
    return redirect("console:variables")
