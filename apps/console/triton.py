"""The console's Triton server pages. Editors list the servers, see each one's models
(readiness, inputs and outputs) and try a model; admins also add, edit, switch off and
delete servers. The input rules are the API's own serializer, so the page and
/api/inference/servers/ accept the same things."""

from __future__ import annotations

import json

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from apps.accounts.roles import ADMIN, has_role
from apps.console.access import admin_required, editor_required
from apps.console.forms import TritonServerForm, TritonTryForm
from apps.inference import selectors, services
from apps.inference.apis import ServerInputSerializer
from apps.inference.errors import InferenceError


def _api_errors_into(form, errors: dict) -> None:
    for field, problems in errors.items():
        for problem in problems if isinstance(problems, list) else [problems]:
            form.add_error(field if field in form.fields else None, str(problem))


def _validated(form, server=None) -> dict | None:
    """The form's data through the API's serializer; None (errors on the form) if refused."""
    if not form.is_valid():
        return None
    data = form.api_data()
    if server is not None and not data["secret_headers"]:
        data.pop("secret_headers")  # nothing given: the stored ones stay
    serializer = ServerInputSerializer(server, data=data, partial=server is not None)
    if not serializer.is_valid():
        _api_errors_into(form, serializer.errors)
        return None
    fields = dict(serializer.validated_data)
    if "secret_headers" in fields:
        fields["secret_headers"] = {k: v for k, v in fields["secret_headers"].items()
                                    if v is not None}
    return fields


def _list_page(request, form, *, status=200):
    return render(request, "console/triton.html", {
        "section": "triton", "servers": selectors.triton_server_list(), "form": form,
        "manage": has_role(request.user, ADMIN)}, status=status)


@require_http_methods(["GET", "POST"])
@editor_required
def servers(request):
    if request.method == "GET":
        return _list_page(request, TritonServerForm())
    if not has_role(request.user, ADMIN):
        return render(request, "console/forbidden.html", {"role": ADMIN}, status=403)
    form = TritonServerForm(request.POST)
    fields = _validated(form)
    if fields is None:
        return _list_page(request, form, status=400)
    server = services.triton_server_create(user=request.user, **fields)
    messages.success(request, f"Triton server {server.name} was added.")
    return redirect("console:triton-detail", server_id=server.pk)


def _initial(server) -> dict:
    return {"name": server.name, "url": server.url, "protocol": server.protocol,
            "timeout_s": server.timeout_s, "models": "\n".join(server.model_names or []),
            "headers": "\n".join(f"{k}: {v}" for k, v in (server.headers or {}).items()),
            "tls_verify": server.tls_verify, "is_active": server.is_active}


def _detail_page(request, server, form, *, try_form=None, tried=None, status=200):
    models, spec, error = [], None, ""
    if server.is_active:
        try:
            models = selectors.triton_server_models(server=server)
            chosen = request.GET.get("model") or (try_form.data.get("model") if try_form
                                                  and try_form.is_bound else "")
            if chosen:
                spec = selectors.triton_model_spec(server=server, model=chosen)
        except InferenceError as exc:
            error = exc.message
    else:
        error = "This server is switched off: nodes cannot call it."
    return render(request, "console/triton_detail.html", {
        "section": "triton", "server": server, "form": form, "models": models,
        "spec": spec, "error": error, "manage": has_role(request.user, ADMIN),
        "try_form": try_form or TritonTryForm(initial={
            "model": spec.name if spec else "", "inputs": _sample(spec)}),
        "tried": tried}, status=status)


def _sample(spec) -> str:
    """A starting point for "try": one value per input, shaped by its datatype."""
    if spec is None:
        return ""
    sample = {t.name: (["text"] if t.datatype == "BYTES" else [0.0])
              for t in spec.inputs}
    return json.dumps(sample)


@require_http_methods(["GET", "POST"])
@editor_required
def server_detail(request, server_id: int):
    if request.method == "POST" and not has_role(request.user, ADMIN):
        return render(request, "console/forbidden.html", {"role": ADMIN}, status=403)
    server = selectors.triton_server_get(server_id=server_id)
    if request.method == "GET":
        return _detail_page(request, server, TritonServerForm(initial=_initial(server)))
    form = TritonServerForm(request.POST)
    fields = _validated(form, server)
    if fields is None:
        return _detail_page(request, server, form, status=400)
    services.triton_server_update(server=server, user=request.user, **fields)
    messages.success(request, f"Triton server {server.name} was saved.")
    return redirect("console:triton-detail", server_id=server.pk)


@require_POST
@admin_required
def server_delete(request, server_id: int):
    server = selectors.triton_server_get(server_id=server_id)
    services.triton_server_delete(server=server, user=request.user)
    messages.success(request, f"Triton server {server.name} was deleted.")
    return redirect("console:triton")


@require_POST
@editor_required
def model_try(request, server_id: int):
    """One inference from the JSON given (audited as a "try it" call)."""
    server = selectors.triton_server_get(server_id=server_id)
    form = TritonTryForm(request.POST)
    tried, status = None, 400
    if form.is_valid():
        try:
            inputs = json.loads(form.cleaned_data["inputs"])
            if not isinstance(inputs, dict):
                raise ValueError
        except ValueError:
            form.add_error("inputs", "Give a JSON object: a value per model input.")
        else:
            if not server.is_active:
                form.add_error(None, f"Triton server {server.name} is switched off.")
            else:
                try:
                    result = services.triton_model_try(server=server, user=request.user,
                                                       model=form.cleaned_data["model"],
                                                       inputs=inputs)
                except InferenceError as exc:
                    field = "inputs" if exc.input or exc.code == "invalid_input" else None
                    form.add_error(field, exc.message)
                else:
                    tried = json.dumps(result.as_output(), indent=2, ensure_ascii=False)
                    status = 200
    return _detail_page(request, server, TritonServerForm(initial=_initial(server)),
                        try_form=form, tried=tried, status=status)
