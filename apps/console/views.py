"""The admin console. Views parse input, call one service or selector, render."""

from __future__ import annotations

import json
import secrets

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.accounts import selectors as account_selectors
from apps.accounts import services as account_services
from apps.accounts.models import ApiToken
from apps.accounts.roles import ADMIN, ROLES, has_role
from apps.audit import chain, selectors
from apps.audit.actors import ACTOR_TYPES
from apps.audit.exports import csv_lines, jsonl_lines
from apps.audit.filters import parse_filters, parse_seq
from apps.audit.models import AuditEvent
from apps.audit.services import audit_chain_verify_and_record, audit_record
from apps.console import selectors as ops
from apps.console.access import admin_required, sections_for, viewer_required
from apps.console.forms import TokenCreateForm, UserCreateForm, UserRolesForm
from apps.core.errors import Conflict, Unprocessable
from apps.runs import services as run_services
from apps.workflows import selectors as workflow_selectors

User = get_user_model()
LIST_LIMIT = 200  # rows on the users and tokens pages; search narrows the list


@require_GET
@viewer_required
def home(request):
    """The first section this user may open (admins: the audit log)."""
    return redirect(sections_for(request.user)[0]["url"])


# --- Audit log ---------------------------------------------------------------------

@require_GET
@admin_required
def audit_list(request):
    filters = parse_filters(request.GET)
    try:
        before, after = parse_seq(request.GET, "before"), parse_seq(request.GET, "after")
    except ValueError as exc:
        filters.errors["page"] = str(exc)
        before = after = None
    page = selectors.event_page(filters=filters, before=before, after=after)
    query = filters.as_dict()
    return render(request, "console/audit_list.html", {
        "section": "audit", "page": page, "filters": filters, "query": query,
        "form": {name: request.GET.get(name, "") for name in (
            "actor", "actor_type", "action", "target_type", "target_id", "request_id",
            "run_id", "since", "until", "q")},
        "actor_types": ACTOR_TYPES, "known_actions": selectors.KNOWN_ACTIONS,
        "last_verification": selectors.last_verification(),
    })


@require_GET
@admin_required
def audit_detail(request, seq: int):
    try:
        event = selectors.event_get(seq=seq)
    except AuditEvent.DoesNotExist as exc:
        raise Http404("No such event.") from exc
    previous = AuditEvent.objects.filter(seq=seq - 1).values_list("hash", flat=True).first()
    computed = chain.event_hash(event.prev_hash, chain.content_of(event.content()))
    return render(request, "console/audit_detail.html", {
        "section": "audit", "event": event,
        "payload": json.dumps(event.data, indent=2, ensure_ascii=False, sort_keys=True),
        "hash_ok": computed == event.hash, "computed": computed,
        "link_ok": (previous == event.prev_hash) if seq > 1 else
                   event.prev_hash == chain.GENESIS,
        "has_previous": previous is not None,
        "has_next": AuditEvent.objects.filter(seq=seq + 1).exists(),
    })


EXPORTS = {"csv": ("text/csv; charset=utf-8", csv_lines),
           "jsonl": ("application/x-ndjson; charset=utf-8", jsonl_lines)}


@require_GET
@admin_required
def audit_export(request, fmt: str):
    if fmt not in EXPORTS:
        raise Http404
    filters = parse_filters(request.GET)
    if filters.errors:
        messages.error(request, "Fix the filter before exporting: " +
                       "; ".join(filters.errors.values()))
        return redirect(reverse("console:audit") + "?" + request.GET.urlencode())
    audit_record(action="audit.export", request=request,
                 data={"format": fmt, "filters": filters.as_dict()})
    content_type, render_lines = EXPORTS[fmt]
    response = StreamingHttpResponse(render_lines(selectors.event_iter(filters=filters)),
                                     content_type=content_type)
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="weft-audit-{stamp}.{fmt}"'
    return response


@require_POST
@admin_required
def audit_verify(request):
    result, event = audit_chain_verify_and_record(request=request)
    (messages.success if result.ok else messages.error)(request, result.summary())
    return redirect(reverse("console:audit"))


# --- Users and roles ----------------------------------------------------------------

def _users_page(request, form, created=None, password=None, status=200):
    users = account_selectors.user_list(search=request.GET.get("search", "").strip())
    total = users.count()
    rows = [{"user": u, "roles": sorted(g.name for g in u.groups.all() if g.name in ROLES)}
            for u in users[:LIST_LIMIT]]
    return render(request, "console/users.html", {
        "section": "users", "rows": rows, "form": form, "roles": ROLES,
        "created": created, "password": password, "total": total, "limit": LIST_LIMIT,
        "search": request.GET.get("search", ""),
        "lockouts": account_selectors.signin_lockouts(),
    }, status=status)


@require_http_methods(["GET", "POST"])
@admin_required
def users(request):
    if request.method == "GET":
        return _users_page(request, UserCreateForm())
    form = UserCreateForm(request.POST)
    if not form.is_valid():
        return _users_page(request, form, status=400)
    generated = None
    password = form.cleaned_data["password"]
    if not password:
        generated = password = secrets.token_urlsafe(12)
    user = account_services.user_create(username=form.cleaned_data["username"],
                                        email=form.cleaned_data["email"], password=password,
                                        roles=form.cleaned_data["roles"])
    # The generated password is in this response only; it is stored hashed.
    return _users_page(request, UserCreateForm(), created=user, password=generated,
                       status=200)


@require_POST
@admin_required
def user_roles(request, user_id: int):
    user = get_object_or_404(User, pk=user_id)
    form = UserRolesForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Unknown role.")
        return redirect("console:users")
    roles = set(form.cleaned_data["roles"])
    try:
        account_services.user_update(user=user, actor=request.user, roles=roles)
    except (Unprocessable, Conflict) as exc:
        messages.error(request, str(exc.detail))
        return redirect("console:users")
    messages.success(request, f"Roles of {user.username}: {', '.join(sorted(roles)) or 'none'}.")
    return redirect("console:users")


@require_POST
@admin_required
def user_active(request, user_id: int):
    user = get_object_or_404(User, pk=user_id)
    activate = request.POST.get("active") == "1"
    was_active = user.is_active
    try:
        account_services.user_update(user=user, actor=request.user, is_active=activate,
                                     request=request)
    except (Unprocessable, Conflict) as exc:
        messages.error(request, str(exc.detail))
        return redirect("console:users")
    if activate and not was_active:
        messages.success(request, f"{user.username} can sign in again.")
    elif not activate and was_active:
        messages.success(request, f"{user.username} is deactivated; their tokens are revoked.")
    return redirect("console:users")


@require_POST
@admin_required
def lockout_clear(request):
    """Let a locked-out account or client address sign in again at once."""
    kind, value = request.POST.get("kind", ""), request.POST.get("value", "").strip()
    if kind not in account_services.LOCKOUT_KINDS or not value:
        messages.error(request, "Say which account or address to unlock.")
        return redirect("console:users")
    account_services.signin_lockout_clear(kind=kind, value=value)
    what = "Account" if kind == "username" else "Address"
    messages.success(request, f"{what} {value} may sign in again.")
    return redirect("console:users")


# --- API tokens -----------------------------------------------------------------------

def _tokens_page(request, form, *, created=None, raw=None, status=200):
    show = request.GET.get("show", "active")
    everyone = has_role(request.user, ADMIN) and request.GET.get("owner") != "me"
    qs = account_selectors.token_list(user=request.user, include_all=everyone)
    if show == "active":
        qs = qs.filter(revoked_at__isnull=True).exclude(expires_at__lte=timezone.now())
    return render(request, "console/tokens.html", {
        "section": "tokens", "tokens": qs[:LIST_LIMIT], "show": show, "total": qs.count(),
        "limit": LIST_LIMIT, "form": form, "created": created, "raw": raw,
        "everyone": everyone, "now": timezone.now(),
    }, status=status)


@require_http_methods(["GET", "POST"])
@viewer_required
def tokens(request):
    """Your tokens (admins: everyone's); create one with a name and an optional expiry.
    The token itself is in the creating response only."""
    if request.method == "GET":
        # Just created (POST, then this GET): shown this once, then gone from the session,
        # so a reload neither shows it again nor creates another.
        created = request.session.pop("token_created", None)
        token = created and ApiToken.objects.filter(pk=created["id"], user=request.user).first()
        return _tokens_page(request, TokenCreateForm(), created=token,
                            raw=created["raw"] if token else None)
    form = TokenCreateForm(request.POST)
    if not form.is_valid():
        return _tokens_page(request, form, status=400)
    try:
        token, raw = account_services.token_create(user=request.user,
                                                   name=form.cleaned_data["name"],
                                                   expires_at=form.cleaned_data["expires_at"])
    except Unprocessable as exc:
        for field, problems in (exc.extra.get("errors") or {}).items():
            for problem in problems:
                form.add_error(field if field in form.fields else None, problem)
        return _tokens_page(request, form, status=400)
    request.session["token_created"] = {"id": token.pk, "raw": raw}
    return redirect("console:tokens")


@require_POST
@viewer_required
def token_revoke(request, token_id: int):
    qs = account_selectors.token_list(user=request.user,
                                      include_all=has_role(request.user, ADMIN))
    token = get_object_or_404(qs, pk=token_id)
    account_services.token_revoke(token=token)
    messages.success(request, f"Token {token.name} of {token.user.username} is revoked.")
    return redirect("console:tokens")


# --- Operations -----------------------------------------------------------------------

@require_GET
@admin_required
def operations(request):
    return render(request, "console/operations.html", {
        "section": "operations", "depths": ops.queue_depths(), "workers": ops.workers_alive(),
        "health": ops.health(),
        "last_verification": selectors.last_verification(),
        "switch": ops.kill_switch(), "failing": ops.runs_failing(),
        "workflows": workflow_selectors.workflow_list().values("id", "name")[:LIST_LIMIT],
    })


@require_POST
@admin_required
def kill_switch(request):
    """Pause or resume new work: all workflows, or one (`workflow` = its id)."""
    workflow_id = request.POST.get("workflow", "").strip()
    workflow = None
    if workflow_id:
        try:
            workflow = workflow_selectors.workflow_get(workflow_id=workflow_id)
        except (Http404, ValidationError):
            messages.error(request, "No such workflow.")
            return redirect("console:operations")
    scope = f"workflow {workflow.name}" if workflow else "all workflows"
    if request.POST.get("paused") == "1":
        reason = request.POST.get("reason", "").strip()[:500]
        run_services.engine_pause(workflow=workflow, user=request.user, reason=reason)
        messages.success(request, f"Paused {scope}: no new runs start and runs in flight "
                                  "stop dispatching nodes.")
    else:
        run_services.engine_resume(workflow=workflow, user=request.user)
        messages.success(request, f"Resumed {scope}; paused runs go on.")
    return redirect("console:operations")
