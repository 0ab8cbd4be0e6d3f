"""The console's reviewer-agreement page (/console/models/agreement/, editors and
admins): per model version, the share of reviewer decisions that kept the model's label,
as bars over time, and the confusion of model labels against reviewer labels. Drawn as
SVG on the server (no script, no inline style: CSP)."""

from __future__ import annotations

from typing import Any

from django.shortcuts import render
from django.views.decorators.http import require_GET

from apps.accounts.roles import ADMIN, has_role
from apps.console.access import editor_required
from apps.feedback import selectors
from apps.feedback.apis import AgreementApi

CHART_W, CHART_H, BAR_GAP = 640, 160, 2


def _bars(over_time: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Geometry of one bar per bucket, height = share kept."""
    if not over_time:
        return []
    width = max(4, CHART_W // len(over_time) - BAR_GAP)
    bars = []
    for i, point in enumerate(over_time):
        share = point["share"] or 0
        height = round(share * (CHART_H - 20))
        bars.append({"x": i * (width + BAR_GAP), "y": CHART_H - height, "width": width,
                     "height": height, "share": point["share"], "at": point["at"],
                     "compared": point["compared"], "low": share < 0.8})
    return bars


def _heat(confusion: dict[str, Any]) -> list[dict[str, Any]]:
    counts = confusion["counts"]
    top = max((max(row) for row in counts if row), default=0) or 1
    return [{"label": label, "cells": [
        {"n": n, "level": min(5, round(5 * n / top)), "diagonal": i == j}
        for j, n in enumerate(row)]} for i, (label, row) in enumerate(
        zip(confusion["labels"], counts, strict=True))]


@require_GET
@editor_required
def agreement_page(request):
    models = selectors.feedback_models()
    context: dict[str, Any] = {"section": "model-agreement", "models": models, "chosen": None,
                               "can_export": has_role(request.user, ADMIN),
                               "chart_w": CHART_W, "chart_h": CHART_H}
    if request.GET.get("model"):
        filters = AgreementApi.FilterSerializer(data=request.GET)
        if not filters.is_valid():
            context["errors"] = filters.errors
            return render(request, "feedback/agreement.html", context, status=400)
        data = dict(filters.validated_data)
        bucket = data.pop("bucket")
        result = selectors.agreement(queryset=selectors.feedback_filter(**data),
                                     bucket=bucket)
        context.update(chosen=data, result=result, bars=_bars(result["over_time"]),
                       heat=_heat(result["confusion"]), bucket=bucket,
                       query=request.GET.urlencode())
    return render(request, "feedback/agreement.html", context)
