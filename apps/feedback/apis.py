"""Reviewer agreement per model version, and the labelled data export."""

from __future__ import annotations

import re

from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.permissions import IsAdmin, IsEditor
from apps.core.errors import Unprocessable
from apps.core.schema import error_responses
from apps.feedback import exports, selectors
from apps.privacy.selectors import personal_access


class FeedbackFilterSerializer(serializers.Serializer):
    model = serializers.CharField(max_length=200, help_text="The model's name.")
    version = serializers.CharField(required=False, allow_blank=True, max_length=50,
                                    help_text="Its version; empty: every version.")
    server = serializers.CharField(required=False, allow_blank=True, max_length=200,
                                   help_text="The Triton server's name; empty: any.")
    since = serializers.DateTimeField(required=False, help_text="Decided at or after.")
    until = serializers.DateTimeField(required=False, help_text="Decided before.")

    def validate(self, attrs):
        if attrs.get("since") and attrs.get("until") and attrs["until"] <= attrs["since"]:
            raise serializers.ValidationError({"until": ["Must be after since."]})
        return attrs


class FeedbackModelsApi(APIView):
    """Every model version reviewers decided on, with the share of decisions that kept
    the model's label."""

    permission_classes = [IsEditor]

    @extend_schema(responses=OpenApiResponse(description="[{server, model, version, "
                                                         "decisions, compared, kept, share, "
                                                         "last_decided_at}]"))
    def get(self, request):
        return Response(selectors.feedback_models())


class AgreementApi(APIView):
    """Reviewer agreement of one model (version): the share of decisions that kept the
    model's label, per hour, day or week, and the confusion matrix of model labels
    (rows) against reviewer labels (columns)."""

    permission_classes = [IsEditor]

    class FilterSerializer(FeedbackFilterSerializer):
        bucket = serializers.ChoiceField(choices=list(selectors.BUCKETS), default="day")

    @extend_schema(parameters=[FilterSerializer],
                   responses={200: OpenApiResponse(description="{decisions, compared, kept, "
                                                               "share, over_time, confusion}"),
                              **error_responses(400)})
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = dict(filters.validated_data)
        bucket = data.pop("bucket")
        return Response(selectors.agreement(queryset=selectors.feedback_filter(**data),
                                            bucket=bucket))


class FeedbackExportApi(APIView):
    """The labelled data of one model (version) in a time range, streamed as JSONL or
    CSV: the inputs it saw, its output, the reviewer's decision and corrections.
    Personal data is masked unless `personal_data=true`; every export is audited."""

    permission_classes = [IsAdmin]

    class FilterSerializer(FeedbackFilterSerializer):
        # Not `format`: DRF reads that one as its own renderer override.
        file_type = serializers.ChoiceField(choices=[f.value for f in exports.ExportFormat],
                                            default=exports.ExportFormat.JSONL.value,
                                            help_text="jsonl (one JSON object a line) or csv.")
        personal_data = serializers.BooleanField(
            default=False, help_text="true: export personal data unmasked (audited).")

    @extend_schema(parameters=[FilterSerializer],
                   responses={(200, "application/x-ndjson"): OpenApiResponse(
                       description="One JSON object a line (or CSV with a header row)."),
                              **error_responses(400, 403)})
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = dict(filters.validated_data)
        fmt = exports.ExportFormat(data.pop("file_type"))
        personal = data.pop("personal_data")
        if personal and not personal_access(request.user):
            why = "Exporting personal data unmasked needs the personal-data permission."
            raise Unprocessable(why, code="personal_data_permission", status_code=403,
                                errors={"personal_data": [why]})
        lines = exports.feedback_export(
            queryset=selectors.feedback_filter(**data), fmt=fmt, personal=personal,
            actor=request.user, request=request, filters=data)
        response = StreamingHttpResponse(lines, content_type=exports.CONTENT_TYPES[fmt])
        # A header value: only safe characters of the model's name and version.
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{data['model']}-{data.get('version') or 'all'}")
        name = f"feedback-{stem[:100]}.{fmt.value}"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
