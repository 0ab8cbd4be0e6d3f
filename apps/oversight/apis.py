"""Model oversight's JSON: the models seen, a version's figures and charts' data, its
drift settings and alert rules, the alerts. Editors read and write rules; admins set
thresholds and pin the reference window (apps.oversight.services)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.permissions import IsEditor
from apps.accounts.roles import ADMIN, EDITOR, has_role
from apps.approvals.models import Team
from apps.core.schema import error_responses
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

    @extend_schema(operation_id="models_list", responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description="Every model version seen: calls and errors in the last 24 hours, latency p50/p99, drift.")})
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

    @extend_schema(operation_id="model_retrieve", responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description="A model version: drift settings, its last 24 hours, the workflows that use it, its alert rules."), **error_responses(404)})
    def get(self, request, version_id: int):
        version = get_object_or_404(ModelVersion, pk=version_id)
        window = selectors.model_version_drift_windows(version=version)
        return Response({**version_data(version), "last_24h": window["current"].summary(),
                         "usage": selectors.model_version_usage(version=version),
                         "rules": [rule_data(r) for r in selectors.alert_rules_for(
                             version=version)]})

    @extend_schema(operation_id="model_update", request=InputSerializer, responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description="The model version."), **error_responses(400, 403, 404)})
    def patch(self, request, version_id: int):
        version = get_object_or_404(ModelVersion, pk=version_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        version = services.model_version_update(version=version, user=request.user,
                                                **data.validated_data)
        return Response(version_data(version))


class ModelSeriesApi(APIView):
    permission_classes = [IsEditor]

    @extend_schema(operation_id="model_series", parameters=[OpenApiParameter("hours", int, description="Hours back (1 to 2160; default 168).")], responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description="Hourly calls, errors and latency; confidence and label distributions now and in the reference window; shadow comparisons."), **error_responses(404)})
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
        notify_team = serializers.PrimaryKeyRelatedField(
            queryset=Team.objects.all(), required=False, allow_null=True,
            pk_field=serializers.UUIDField())

    @extend_schema(operation_id="model_rules_list", responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description="The version's alert rules."), **error_responses(404)})
    def get(self, request, version_id: int):
        version = get_object_or_404(ModelVersion, pk=version_id)
        return Response({"results": [rule_data(r) for r in
                                     selectors.alert_rules_for(version=version)]})

    @extend_schema(operation_id="model_rules_create", request=InputSerializer, responses={201: OpenApiResponse(OpenApiTypes.OBJECT, description="The rule."), **error_responses(400, 404)})
    def post(self, request, version_id: int):
        version = get_object_or_404(ModelVersion, pk=version_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        team = data.validated_data.pop("notify_team", None)
        rule = services.alert_rule_create(version=version, user=request.user,
                                          notify_team=team.pk if team else None,
                                          **data.validated_data)
        return Response(rule_data(rule), status=status.HTTP_201_CREATED)


class RuleDetailApi(APIView):
    permission_classes = [IsEditor]

    @extend_schema(operation_id="model_rule_delete", responses={204: None, **error_responses(404)})
    def delete(self, request, rule_id: int):
        rule = get_object_or_404(AlertRule, pk=rule_id)
        services.alert_rule_delete(rule=rule, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AlertListApi(APIView):
    permission_classes = [IsEditor]

    @extend_schema(operation_id="model_alerts_list", parameters=[OpenApiParameter("status", str, description="open, acknowledged or resolved; all when left out.")], responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description="Alerts, newest first.")})
    def get(self, request):
        wanted = request.query_params.get("status", "")
        wanted = wanted if wanted in AlertStatus.values else ""
        return Response({"results": [alert_data(a) for a in
                                     selectors.alerts_list(status=wanted)]})


class AlertActionApi(APIView):
    """POST acknowledge or resolve (`action` in the path)."""

    permission_classes = [IsEditor]
    action = ""

    @extend_schema(request=None, responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description="The alert, acknowledged or resolved, with who and when."), **error_responses(404, 409)})
    def post(self, request, alert_id: int):
        alert = get_object_or_404(Alert.objects.select_related("rule", "rule__version"),
                                  pk=alert_id)
        change = alerts.alert_acknowledge if self.action == "acknowledge" else \
            alerts.alert_resolve
        return Response(alert_data(change(alert=alert, user=request.user)))
