from __future__ import annotations

from urllib.parse import urlencode

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.permissions import IsAdmin
from apps.audit import selectors, services
from apps.audit.exports import event_as_dict
from apps.audit.filters import TEXT_FIELDS, parse_filters, parse_seq
from apps.audit.models import AuditEvent
from apps.core.errors import Unprocessable


class AuditEventOutputSerializer(serializers.Serializer):
    seq = serializers.IntegerField()
    at = serializers.DateTimeField()
    actor_type = serializers.CharField()
    actor_id = serializers.CharField()
    actor_label = serializers.CharField()
    user_id = serializers.IntegerField(allow_null=True)
    action = serializers.CharField()
    target_type = serializers.CharField()
    target_id = serializers.CharField()
    target_label = serializers.CharField()
    request_id = serializers.CharField()
    run_id = serializers.CharField()
    data = serializers.JSONField()
    prev_hash = serializers.CharField()
    hash = serializers.CharField()


class AuditEventPageOutputSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True, help_text="older events (keyset: before=)")
    previous = serializers.URLField(allow_null=True, help_text="newer events (keyset: after=)")
    results = AuditEventOutputSerializer(many=True)


class AuditVerifyOutputSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    count = serializers.IntegerField()
    last_seq = serializers.IntegerField()
    last_hash = serializers.CharField()
    seconds = serializers.FloatField()
    failure = serializers.DictField(allow_null=True, help_text="seq, kind (gap|hash|link), detail")
    summary = serializers.CharField()
    event = serializers.IntegerField(help_text="seq of the audit.verify event recorded")


FILTER_PARAMETERS = [OpenApiParameter(name, str) for name in TEXT_FIELDS] + [
    OpenApiParameter("since", str, description="ISO 8601; UTC when no offset is given"),
    OpenApiParameter("until", str, description="ISO 8601, exclusive"),
    OpenApiParameter("before", int, description="keyset cursor: events older than this seq"),
    OpenApiParameter("after", int, description="keyset cursor: events newer than this seq"),
    OpenApiParameter("page_size", int),
]


class AuditEventListApi(APIView):
    """The audit log, newest first, keyset-paginated on `seq` (follow `next`)."""

    permission_classes = [IsAdmin]

    @extend_schema(operation_id="audit_events_list", parameters=FILTER_PARAMETERS,
                   responses=AuditEventPageOutputSerializer)
    def get(self, request):
        params = request.query_params
        filters = parse_filters(params)
        try:
            before, after = parse_seq(params, "before"), parse_seq(params, "after")
            size = parse_seq(params, "page_size") or selectors.PAGE_SIZE
        except ValueError as exc:
            raise Unprocessable(str(exc), code="invalid") from exc
        if filters.errors:
            raise Unprocessable("Invalid filter.", code="invalid",
                                errors={k: [v] for k, v in filters.errors.items()})
        page = selectors.event_page(filters=filters, before=before, after=after, size=size)
        base = {**filters.as_dict(), **({"page_size": size} if "page_size" in params else {})}

        def link(**cursor):
            return request.build_absolute_uri(request.path) + "?" + urlencode({**base, **cursor})

        return Response({
            "next": link(before=page.older) if page.older is not None else None,
            "previous": link(after=page.newer) if page.newer is not None else None,
            "results": [event_as_dict(e) for e in page.events],
        })


class AuditEventDetailApi(APIView):
    permission_classes = [IsAdmin]

    @extend_schema(responses=AuditEventOutputSerializer)
    def get(self, request, seq: int):
        try:
            return Response(event_as_dict(selectors.event_get(seq=seq)))
        except AuditEvent.DoesNotExist as exc:
            raise Http404 from exc


class AuditVerifyApi(APIView):
    """Verify the whole chain now; the outcome is also recorded as `audit.verify`."""

    permission_classes = [IsAdmin]

    @extend_schema(request=None, responses=AuditVerifyOutputSerializer)
    def post(self, request):
        result, event = services.audit_chain_verify_and_record(request=request)
        return Response({**result.as_dict(), "summary": result.summary(), "event": event.seq})
