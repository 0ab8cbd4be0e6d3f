"""Model oversight's JSON: the models seen, a version's figures and charts' data, its
drift settings and alert rules, the alerts. Editors read and write rules; admins set
thresholds and pin the reference window (apps.oversight.services)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from rest_framework import serializers, status
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.permissions import IsEditor
from apps.accounts.roles import ADMIN, EDITOR, has_role
from apps.core.serializers import StrictSerializer
from apps.oversight import alerts, selectors, services
from apps.oversight.models import Alert, AlertRule, AlertStatus, ModelVersion, RuleKind


class ReadEditorWriteAdmin(BasePermission):
    def has_permission(self, request, view) -> bool:
        role = EDITOR if request.method in SAFE_METHODS else ADMIN
        self.message = f"This needs the role '{role}'."
        return has_role(request.user, role)


def alert_data(alert: Alert) -> dict:
    version = alert.rule.version
    return {"id": alert.pk, "status": alert.status, "value": alert.value,
            "message": alert.message, "rule": {"id": alert.rule_id, "name": alert.rule.name,
                                               "kind": alert.rule.kind},
            "model": {"id": version.pk, "server": version.server, "model": version.model,
                      "version": version.model_version},
            "paused_workflows": alert.paused_workflows,
            "created_at": alert.created_at.isoformat(),
            "acknowledged_by": alert.acknowledged_by.get_username() if alert.acknowledged_by
            else None,
            "acknowledged_at": alert.acknowledged_at.isoformat() if alert.acknowledged_at
            else None,
            "resolved_by": alert.resolved_by.get_username() if alert.resolved_by else None,
            "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None}


def rule_data(rule: AlertRule) -> dict:
    return {"id": rule.pk, "name": rule.name, "kind": rule.kind, "threshold": rule.threshold,
            "window_hours": rule.window_hours, "pause_workflows": rule.pause_workflows,
            "notify_team": str(rule.notify_team_id) if rule.notify_team_id else None,
            "is_active": rule.is_active}


def version_data(version: ModelVersion) -> dict:
    start, end = selectors.reference_bounds(version)
    return {"id": version.pk, "server": version.server, "model": version.model,
            "version": version.model_version, "first_seen_at": version.first_seen_at.isoformat(),
            "psi_threshold": version.psi_threshold, "kl_threshold": version.kl_threshold,
            "reference": {"start": start.isoformat(), "end": end.isoformat(),
                          "pinned": bool(version.reference_start)},
            "drift": version.drift, "drift_state": selectors.drift_state(version),
            "drift_checked_at": version.drift_checked_at.isoformat()
            if version.drift_checked_at else None}


class ModelListApi(APIView):
    permission_classes = [IsEditor]

    def get(self, request):
        rows = selectors.model_versions_list()
        for row in rows:
            row["first_seen_at"] = row["first_seen_at"].isoformat()
        return Response({"results": rows})


class ModelDetailApi(APIView):
    permission_classes = [ReadEditorWriteAdmin]

    class InputSerializer(StrictSerializer):
        psi_threshold = serializers.FloatField(min_value=0, max_value=100, required=False)
        kl_threshold = serializers.FloatField(min_value=0, max_value=100, required=False)
        reference_start = serializers.DateTimeField(required=False, allow_null=True)
        reference_end = serializers.DateTimeField(required=False, allow_null=True)

    def get(self, request, version_id: int):
        version = get_object_or_404(ModelVersion, pk=version_id)
        window = selectors.model_version_drift_windows(version=version)
        return Response({**version_data(version), "last_24h": window["current"].summary(),
                         "usage": selectors.model_version_usage(version=version),
                         "rules": [rule_data(r) for r in selectors.alert_rules_for(
                             version=version)]})

    def patch(self, request, version_id: int):
        version = get_object_or_404(ModelVersion, pk=version_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        version = services.model_version_update(version=version, user=request.user,
                                                **data.validated_data)
        return Response(version_data(version))


class ModelSeriesApi(APIView):
    permission_classes = [IsEditor]

    def get(self, request, version_id: int):
        version = get_object_or_404(ModelVersion, pk=version_id)
        try:
            hours = max(1, min(24 * 90, int(request.query_params.get("hours", 168))))
        except ValueError:
            hours = 168
        windows = selectors.model_version_drift_windows(version=version)
        return Response({
            "hours": selectors.model_version_series(version=version, hours=hours),
            "confidence": {"current": windows["current"].confidence_hist,
                           "reference": windows["reference"].confidence_hist},
            "labels": {"current": windows["current"].labels,
                       "reference": windows["reference"].labels},
            "shadows": selectors.shadow_compare(version=version)})


class RuleListApi(APIView):
    permission_classes = [IsEditor]

    class InputSerializer(StrictSerializer):
        name = serializers.CharField(max_length=200)
        kind = serializers.ChoiceField(choices=RuleKind.choices)
        threshold = serializers.FloatField(required=False, allow_null=True, min_value=0)
        window_hours = serializers.IntegerField(min_value=1, max_value=24 * 30, default=24)
        pause_workflows = serializers.BooleanField(default=False)
        notify_team = serializers.UUIDField(required=False, allow_null=True)

    def get(self, request, version_id: int):
        version = get_object_or_404(ModelVersion, pk=version_id)
        return Response({"results": [rule_data(r) for r in
                                     selectors.alert_rules_for(version=version)]})

    def post(self, request, version_id: int):
        version = get_object_or_404(ModelVersion, pk=version_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rule = services.alert_rule_create(version=version, user=request.user,
                                          **data.validated_data)
        return Response(rule_data(rule), status=status.HTTP_201_CREATED)


class RuleDetailApi(APIView):
    permission_classes = [IsEditor]

    def delete(self, request, rule_id: int):
        rule = get_object_or_404(AlertRule, pk=rule_id)
        services.alert_rule_delete(rule=rule, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AlertListApi(APIView):
    permission_classes = [IsEditor]

    def get(self, request):
        wanted = request.query_params.get("status", "")
        wanted = wanted if wanted in AlertStatus.values else ""
        return Response({"results": [alert_data(a) for a in
                                     selectors.alerts_list(status=wanted)]})


class AlertActionApi(APIView):
    """POST acknowledge or resolve (`action` in the path)."""

    permission_classes = [IsEditor]
    action = ""

    def post(self, request, alert_id: int):
        alert = get_object_or_404(Alert.objects.select_related("rule", "rule__version"),
                                  pk=alert_id)
        change = alerts.alert_acknowledge if self.action == "acknowledge" else \
            alerts.alert_resolve
        return Response(alert_data(change(alert=alert, user=request.user)))
