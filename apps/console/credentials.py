"""The console's Credentials pages. Editors see what they may pick in a node (name, kind,
allowed hosts, which workflows use it); admins also create, edit (a new secret replaces
the old, which is never shown), delete (refused while workflows use it) and test.
Views parse the form, call one service, render."""

from __future__ import annotations

from django.contrib import messages
from django.db import IntegrityError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from apps.accounts.roles import ADMIN, has_role
from apps.console.access import admin_required, editor_required
from apps.console.forms import CredentialForm, CredentialTestForm, secret_errors_into
from apps.core.errors import Conflict, Unprocessable
from apps.credentials import selectors, services
from apps.credentials.hosts import ANY_HOST
from apps.credentials.probe import credential_probe

LIST_LIMIT = 200


def _list_page(request, form, *, status=200):
    rows = list(selectors.credential_list(search=request.GET.get("search", "").strip())
                [:LIST_LIMIT])
    return render(request, "console/credentials.html", {
        "section": "credentials", "credentials": rows, "form": form,
        "manage": has_role(request.user, ADMIN),
        "any_host_count": sum(ANY_HOST in c.allowed_hosts for c in rows),
    }, status=status)


@require_http_methods(["GET", "POST"])
@editor_required
def credentials(request):
    if request.method == "GET":
        return _list_page(request, CredentialForm())
    if not has_role(request.user, ADMIN):
        return render(request, "console/forbidden.html", {"role": ADMIN}, status=403)
    form = CredentialForm(request.POST)
    if form.is_valid():
        try:
            credential = services.credential_create(
                user=request.user, name=form.cleaned_data["name"],
                kind=form.cleaned_data["kind"], secret=form.secret() or {},
                description=form.cleaned_data["description"], allowed_hosts=form.hosts(),
                requests_per_s=form.cleaned_data["requests_per_s"])
        except IntegrityError:
            form.add_error("name", "A credential with this name exists.")
        except Unprocessable as exc:
            secret_errors_into(form, exc)
        else:
            messages.success(request, f"Credential {credential.name} was created. Pick it in "
                                      "an HTTP node's Credential field.")
            return redirect("console:credential-detail", credential_id=credential.pk)
    return _list_page(request, form, status=400)


def _detail_page(request, credential, form, *, test_form=None, result=None, status=200):
    return render(request, "console/credential_detail.html", {
        "section": "credentials", "credential": credential, "form": form,
        "test_form": test_form or CredentialTestForm(), "result": result,
        "manage": has_role(request.user, ADMIN),
        "users": selectors.credential_users(credential_id=credential.pk),
    }, status=status)


def _initial(credential) -> dict:
    return {"name": credential.name, "kind": credential.kind,
            "description": credential.description,
            "allowed_hosts": "\n".join(credential.allowed_hosts),
            "requests_per_s": credential.requests_per_s}


@require_http_methods(["GET", "POST"])
@editor_required
def credential_detail(request, credential_id):
    if request.method == "POST" and not has_role(request.user, ADMIN):
        return render(request, "console/forbidden.html", {"role": ADMIN}, status=403)
    credential = get_object_or_404(selectors.credential_list(), pk=credential_id)
    if request.method == "GET":
        return _detail_page(request, credential,
                            CredentialForm(initial=_initial(credential), editing=True))
    form = CredentialForm(request.POST, initial=_initial(credential), editing=True)
    if form.is_valid():
        try:
            services.credential_update(credential=credential, user=request.user,
                                       name=form.cleaned_data["name"],
                                       description=form.cleaned_data["description"],
                                       secret=form.secret(), allowed_hosts=form.hosts(),
                                       requests_per_s=form.cleaned_data["requests_per_s"])
        except IntegrityError:
            form.add_error("name", "A credential with this name exists.")
        except Unprocessable as exc:
            secret_errors_into(form, exc)
        else:
            messages.success(request, f"Credential {credential.name} was saved.")
            return redirect("console:credential-detail", credential_id=credential.pk)
    return _detail_page(request, credential, form, status=400)


@require_POST
@admin_required
def credential_delete(request, credential_id):
    credential = get_object_or_404(selectors.credential_list(), pk=credential_id)
    try:
        services.credential_delete(credential=credential, user=request.user)
    except Conflict as exc:
        messages.error(request, str(exc.detail))
        return redirect("console:credential-detail", credential_id=credential.pk)
    messages.success(request, f"Credential {credential.name} was deleted.")
    return redirect("console:credentials")


@require_POST
@admin_required
def credential_test(request, credential_id):
    credential = get_object_or_404(selectors.credential_list(), pk=credential_id)
    test_form = CredentialTestForm(request.POST)
    result = None
    if test_form.is_valid():
        result = credential_probe(credential=credential, url=test_form.cleaned_data["url"],
                                  user=request.user)
    return _detail_page(request, credential,
                        CredentialForm(initial=_initial(credential), editing=True),
                        test_form=test_form, result=result,
                        status=200 if test_form.is_valid() else 400)


@require_POST
@admin_required
def credential_hosts(request, credential_id):
    credential = get_object_or_404(selectors.credential_list(), pk=credential_id)
    text = request.POST.get("allowed_hosts", "")
    hosts = [h.strip() for h in text.replace(",", "\n").splitlines() if h.strip()]
    try:
        services.credential_update(credential=credential, user=request.user,
                                   allowed_hosts=hosts)
    except Unprocessable as exc:
        problems = [m for messages_ in exc.extra.get("errors", {}).values() for m in messages_]
        messages.error(request, f"{credential.name}: {' '.join(problems) or exc.detail}")
    else:
        messages.success(request, f"{credential.name} may be sent to: "
                                  f"{', '.join(credential.allowed_hosts)}.")
    return redirect("console:credentials")
