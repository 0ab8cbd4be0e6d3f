"""Personal data: a workflow's fields and detectors, the `personal-data` permission of
users and teams, and the erase operation (admins)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.permissions import IsAdmin
from apps.approvals.models import Team
from apps.audit.personal import Detector
from apps.core.schema import error_responses
from apps.core.serializers import StrictSerializer
from apps.privacy import services
from apps.privacy.models import PersonalDataGrant, PersonalDataPolicy
from apps.workflows.selectors import workflow_get


class PolicySerializer(StrictSerializer):
    paths = serializers.ListField(
        child=serializers.CharField(max_length=300), max_length=100, default=list,
        help_text="JSON paths that hold personal data: input.<field>... in the run's input, "
                  "nodes.<node id>.output.<field>... in a node's output; * matches any key "
                  "or list item. Example: input.customer.email.")
    detectors = serializers.ListField(
        child=serializers.ChoiceField(choices=[d.value for d in Detector]), default=list,
        help_text="Find personal data anywhere: e-mail addresses, phone numbers, card "
                  "numbers (Luhn-checked).")


class WorkflowPersonalDataApi(APIView):
    """Which fields of this workflow's runs hold personal data. Values there (and what
    the detectors find) are masked where data leaves for anyone without the
    `personal-data` permission; the stored run is never changed."""

    permission_classes = [IsAdmin]

    @extend_schema(responses={200: PolicySerializer, **error_responses(404)})
    def get(self, request, workflow_id):
        workflow = workflow_get(workflow_id=workflow_id)
        row = PersonalDataPolicy.objects.filter(workflow=workflow).first()
        return Response({"paths": row.paths if row else [],
                         "detectors": row.detectors if row else []})

    @extend_schema(request=PolicySerializer, responses={200: PolicySerializer,
                                                        **error_responses(400, 404)})
    def put(self, request, workflow_id):
        workflow = workflow_get(workflow_id=workflow_id)
        data = PolicySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        row = services.policy_set(workflow=workflow, user=request.user, **data.validated_data)
        return Response({"paths": row.paths, "detectors": row.detectors})


class GrantSerializer(StrictSerializer):
    granted = serializers.BooleanField(help_text="Whether they see personal data.")


class _GrantApi(APIView):
    permission_classes = [IsAdmin]

    def _target(self, kwargs) -> dict:
        raise NotImplementedError

    @extend_schema(responses={200: GrantSerializer, **error_responses(404)})
    def get(self, request, **kwargs):
        return Response({"granted": PersonalDataGrant.objects.filter(
            **self._target(kwargs)).exists()})

    @extend_schema(request=GrantSerializer, responses={200: GrantSerializer,
                                                       **error_responses(400, 404)})
    def put(self, request, **kwargs):
        data = GrantSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        granted = services.grant_set(granted=data.validated_data["granted"],
                                     actor=request.user, **self._target(kwargs))
        return Response({"granted": granted})


class UserPersonalDataApi(_GrantApi):
    """The `personal-data` permission of one user."""

    def _target(self, kwargs) -> dict:
        return {"user": get_object_or_404(get_user_model(), pk=kwargs["user_id"])}


class TeamPersonalDataApi(_GrantApi):
    """The `personal-data` permission of every member of one team."""

    def _target(self, kwargs) -> dict:
        return {"team": get_object_or_404(Team, pk=kwargs["team_id"])}


class EraseSerializer(StrictSerializer):
    value = serializers.CharField(min_length=3, max_length=500,
                                  help_text="The person's value: an e-mail, a name, an id.")
    workflow = serializers.UUIDField(required=False, help_text="Every run of this workflow "
                                     "instead (else the runs, in any workflow, whose input or "
                                     "result hold it).")


class EraseResultSerializer(serializers.Serializer):
    runs = serializers.IntegerField()
    node_runs = serializers.IntegerField()
    map_items = serializers.IntegerField()
    tasks = serializers.IntegerField()


class PersonalDataEraseApi(APIView):
    """Erase a person's value from stored runs (replaced by "[erased]"); the audit
    event keeps only a keyed hash of it."""

    permission_classes = [IsAdmin]

    @extend_schema(request=EraseSerializer, responses={200: EraseResultSerializer,
                                                       **error_responses(400, 404)})
    def post(self, request):
        data = EraseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        workflow = data.validated_data.get("workflow")
        counts = services.personal_data_erase(
            value=data.validated_data["value"], actor=request.user, request=request,
            workflow=workflow_get(workflow_id=workflow) if workflow else None)
        return Response(counts)
