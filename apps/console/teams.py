"""The console's Teams pages: admins list, create, edit and delete reviewer teams and
manage their members. Views parse the form, call one approvals service, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from apps.approvals import selectors, services
from apps.approvals.models import Team
from apps.console.access import admin_required
from apps.console.forms import TeamForm, TeamMemberForm
from apps.core.errors import Conflict

User = get_user_model()


def _conflict_into(form, exc: Conflict) -> None:
    errors = exc.extra.get("errors") or {}
    for field, problems in errors.items():
        for problem in problems:
            form.add_error(field if field in form.fields else None, problem)
    if not errors:
        form.add_error(None, str(exc.detail))


def _team_page(request, team: Team, form: TeamForm, *, status: int = 200):
    return render(request, "console/team_detail.html", {
        "section": "teams", "team": team, "form": form,
        "member_form": TeamMemberForm(team=team),
        "open_tasks": team.tasks.filter(status="open").count(),
    }, status=status)


@require_http_methods(["GET", "POST"])
@admin_required
def teams(request):
    form = TeamForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                team = services.team_create(user=request.user, **form.cleaned_data)
            except Conflict as exc:
                _conflict_into(form, exc)
            else:
                messages.success(request, f"Team {team.name} was created; add its members.")
                return redirect("console:team-detail", team_id=team.pk)
        status = 400
    return render(request, "console/teams.html", {
        "section": "teams", "teams": selectors.team_list(), "form": form}, status=status)


@require_http_methods(["GET", "POST"])
@admin_required
def team_detail(request, team_id):
    team = get_object_or_404(selectors.team_list(), pk=team_id)
    if request.method == "GET":
        initial = {"name": team.name, "description": team.description, "lead": team.lead,
                   "webhook_url": team.webhook_url}
        return _team_page(request, team, TeamForm(initial=initial))
    form = TeamForm(request.POST)
    if form.is_valid():
        try:
            services.team_update(team=team, user=request.user, **form.cleaned_data)
        except Conflict as exc:
            _conflict_into(form, exc)
        else:
            messages.success(request, f"Team {form.cleaned_data['name']} was saved.")
            return redirect("console:team-detail", team_id=team.pk)
    return _team_page(request, team, form, status=400)


@require_POST
@admin_required
def team_delete(request, team_id):
    team = get_object_or_404(Team, pk=team_id)
    try:
        services.team_delete(team=team, user=request.user)
    except Conflict as exc:
        messages.error(request, str(exc.detail))
        return redirect("console:team-detail", team_id=team.pk)
    messages.success(request, f"Team {team.name} was deleted.")
    return redirect("console:teams")


@require_POST
@admin_required
def team_member_add(request, team_id):
    team = get_object_or_404(Team, pk=team_id)
    form = TeamMemberForm(request.POST, team=team)
    if not form.is_valid():
        messages.error(request, "Pick an active user who is not a member yet.")
    else:
        member = form.cleaned_data["user"]
        services.team_member_add(team=team, user=request.user, member=member)
        messages.success(request, f"{member.username} joined {team.name}.")
    return redirect("console:team-detail", team_id=team.pk)


@require_POST
@admin_required
def team_member_remove(request, team_id, user_id: int):
    team = get_object_or_404(Team, pk=team_id)
    member = get_object_or_404(team.members.all(), pk=user_id)
    try:
        services.team_member_remove(team=team, user=request.user, member=member)
    except Conflict as exc:
        messages.error(request, str(exc.detail))
    else:
        messages.success(request, f"{member.username} left {team.name}.")
    return redirect("console:team-detail", team_id=team.pk)
