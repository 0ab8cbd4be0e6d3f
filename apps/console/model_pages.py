"""Console pages of model oversight: the models seen, a model version (charts drawn by
the `src/models.ts` bundle from the API), its alert rules and drift settings, and the
alert list. Admins and editors open them; admins set thresholds and pin windows."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from apps.accounts.roles import ADMIN, has_role
from apps.approvals.models import Team
from apps.console.access import admin_required, editor_required
from apps.core.errors import Conflict, Unprocessable
from apps.oversight import alerts, selectors, services
from apps.oversight.models import Alert, AlertRule, AlertStatus, ModelVersion, RuleKind


class RuleForm(forms.Form):
    name = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=RuleKind.choices)
    threshold = forms.FloatField(required=False, min_value=0,
                                 help_text="Error rate 0..1, latency in ms; drift: empty "
                                           "uses the model's PSI threshold.")
    window_hours = forms.IntegerField(min_value=1, max_value=24 * 30, initial=24)
    pause_workflows = forms.BooleanField(required=False,
                                         label="Pause the workflows that use this version")
    notify_team = forms.ModelChoiceField(queryset=Team.objects.all(), required=False,
                                         empty_label="The admins (e-mail)")


class SettingsForm(forms.Form):
    psi_threshold = forms.FloatField(min_value=0, max_value=100)
    kl_threshold = forms.FloatField(min_value=0, max_value=100)
    reference_start = forms.DateTimeField(required=False, help_text="UTC, e.g. 2026-11-01 00:00")
    reference_end = forms.DateTimeField(required=False)


@editor_required
def models_list(request):
    return render(request, "console/models.html", {
        "section": "models", "versions": selectors.model_versions_list(),
        "open_alerts": Alert.objects.exclude(status=AlertStatus.RESOLVED).count()})


def _detail(request, version: ModelVersion, *, rule_form=None, settings_form=None, status=200):
    windows = selectors.model_version_drift_windows(version=version)
    start, end = selectors.reference_bounds(version)
    return render(request, "console/model_detail.html", {
        "section": "models", "version": version, "drift_state": selectors.drift_state(version),
        "summary": windows["current"].summary(), "reference_calls": windows["reference"].calls,
        "reference_start": start, "reference_end": end,
        "usage": selectors.model_version_usage(version=version),
        "rules": selectors.alert_rules_for(version=version),
        "rule_form": rule_form or RuleForm(),
        "settings_form": settings_form or SettingsForm(initial={
            "psi_threshold": version.psi_threshold, "kl_threshold": version.kl_threshold,
            "reference_start": version.reference_start, "reference_end": version.reference_end}),
        "manage": has_role(request.user, ADMIN)}, status=status)


@editor_required
def model_detail(request, version_id: int):
    return _detail(request, get_object_or_404(ModelVersion, pk=version_id))


@require_POST
@editor_required
def model_rule_create(request, version_id: int):
    version = get_object_or_404(ModelVersion, pk=version_id)
    form = RuleForm(request.POST)
    if form.is_valid():
        data = dict(form.cleaned_data)
        team = data.pop("notify_team")
        try:
            services.alert_rule_create(version=version, user=request.user,
                                       notify_team=team.pk if team else None, **data)
        except Unprocessable as exc:
            form.add_error("threshold", str(exc.detail))
        else:
            messages.success(request, f"Alert rule {data['name']} was added.")
            return redirect("console:model-detail", version_id=version.pk)
    return _detail(request, version, rule_form=form, status=400)


@require_POST
@editor_required
def model_rule_delete(request, rule_id: int):
    rule = get_object_or_404(AlertRule, pk=rule_id)
    version_id = rule.version_id
    services.alert_rule_delete(rule=rule, user=request.user)
    messages.success(request, f"Alert rule {rule.name} was deleted.")
    return redirect("console:model-detail", version_id=version_id)


@require_POST
@admin_required
def model_settings(request, version_id: int):
    version = get_object_or_404(ModelVersion, pk=version_id)
    form = SettingsForm(request.POST)
    if form.is_valid():
        try:
            services.model_version_update(version=version, user=request.user,
                                          **form.cleaned_data)
        except Unprocessable as exc:
            form.add_error("reference_end", str(exc.detail))
        else:
            messages.success(request, "Drift settings were saved.")
            return redirect("console:model-detail", version_id=version.pk)
    return _detail(request, version, settings_form=form, status=400)


@editor_required
def model_alerts(request):
    wanted = request.GET.get("status", "")
    wanted = wanted if wanted in AlertStatus.values else ""
    return render(request, "console/model_alerts.html", {
        "section": "models", "alerts": selectors.alerts_list(status=wanted), "status": wanted,
        "statuses": AlertStatus.values})


@require_POST
@editor_required
def model_alert_change(request, alert_id: int, action: str):
    alert = get_object_or_404(Alert.objects.select_related("rule"), pk=alert_id)
    change = alerts.alert_acknowledge if action == "acknowledge" else alerts.alert_resolve
    try:
        change(alert=alert, user=request.user)
    except Conflict as exc:
        messages.error(request, str(exc.detail))
    return redirect("console:model-alerts")
