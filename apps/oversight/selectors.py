"""What the model pages and the alert evaluation read: hourly aggregates summed over
windows, drift against the reference window, the workflows that use a model version,
and the comparison of a model with its shadow. Everything here reads `ModelHour` (a
row per version and hour) except the shadow comparison, which joins call records of
one window."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from apps.oversight.buckets import (
    CONFIDENCE_BINS,
    LATENCY_BUCKETS,
    confidence_bin,
    counts_add,
    hist_add,
    latency_bucket,
    latency_percentile,
)
from apps.oversight.drift import DriftResult, drift_compute
from apps.oversight.models import Alert, AlertRule, ModelHour, ModelVersion

CURRENT_WINDOW = timedelta(hours=24)
REFERENCE_WINDOW = timedelta(days=7)


@dataclass
class Window:
    calls: int = 0
    errors: int = 0
    latency_sum_ms: float = 0.0
    latency_hist: list[int] = field(default_factory=lambda: [0] * LATENCY_BUCKETS)
    confidence_hist: list[int] = field(default_factory=lambda: [0] * CONFIDENCE_BINS)
    labels: dict[str, int] = field(default_factory=dict)

    def add(self, row: ModelHour) -> None:
        self.calls += row.calls
        self.errors += row.errors
        self.latency_sum_ms += row.latency_sum_ms
        self.latency_hist = hist_add(self.latency_hist, row.latency_hist, LATENCY_BUCKETS)
        self.confidence_hist = hist_add(self.confidence_hist, row.confidence_hist,
                                        CONFIDENCE_BINS)
        self.labels = counts_add(self.labels, row.labels)

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.calls if self.calls else None

    def percentile(self, q: float) -> float | None:
        return latency_percentile(self.latency_hist, q)

    def summary(self) -> dict[str, Any]:
        return {"calls": self.calls, "errors": self.errors,
                "error_rate": None if self.error_rate is None else round(self.error_rate, 4),
                "p50_ms": self.percentile(0.5), "p99_ms": self.percentile(0.99)}


def _hours(version: ModelVersion):
    return ModelHour.objects.filter(server=version.server, model=version.model,
                                    model_version=version.model_version)


def model_version_window(*, version: ModelVersion, start: datetime, end: datetime) -> Window:
    window = Window()
    for row in _hours(version).filter(hour__gte=start, hour__lt=end):
        window.add(row)
    return window


def reference_bounds(version: ModelVersion) -> tuple[datetime, datetime]:
    if version.reference_start and version.reference_end:
        return version.reference_start, version.reference_end
    start = version.first_seen_at.replace(minute=0, second=0, microsecond=0)
    return start, start + REFERENCE_WINDOW


def model_version_drift_windows(*, version: ModelVersion, now: datetime | None = None
                                ) -> dict[str, Window]:
    """The current window (the last 24 hours) and the reference window; a reference
    that overlaps the current window ends where the current one starts."""
    now = now or timezone.now()
    current_start = now - CURRENT_WINDOW
    ref_start, ref_end = reference_bounds(version)
    ref_end = min(ref_end, current_start)
    current = model_version_window(version=version, start=current_start, end=now)
    reference = (model_version_window(version=version, start=ref_start, end=ref_end)
                 if ref_end > ref_start else Window())
    return {"current": current, "reference": reference}


def model_version_drift(*, version: ModelVersion, now: datetime | None = None) -> DriftResult:
    windows = model_version_drift_windows(version=version, now=now)
    current, reference = windows["current"], windows["reference"]
    return drift_compute(current_conf=current.confidence_hist,
                         reference_conf=reference.confidence_hist,
                         current_labels=current.labels, reference_labels=reference.labels,
                         current_calls=current.calls, reference_calls=reference.calls)


def drift_state(version: ModelVersion) -> str:
    """The badge: "drift", "ok", "too few calls", or "" before the first check."""
    if not version.drift_checked_at:
        return ""
    if not version.drift.get("enough"):
        return "too few calls"
    return "drift" if version.drift.get("drifted") else "ok"


def model_versions_list(*, now: datetime | None = None) -> list[dict[str, Any]]:
    """Every model version seen, by server and model, with its last 24 hours."""
    now = now or timezone.now()
    windows: dict[tuple[str, str, str], Window] = defaultdict(Window)
    for row in ModelHour.objects.filter(hour__gte=now - CURRENT_WINDOW, hour__lt=now):
        windows[(row.server, row.model, row.model_version)].add(row)
    out = []
    for version in ModelVersion.objects.all():
        window = windows.get((version.server, version.model, version.model_version), Window())
        out.append({"id": version.pk, "server": version.server, "model": version.model,
                    "version": version.model_version, "first_seen_at": version.first_seen_at,
                    "drift": drift_state(version), **window.summary()})
    return out


def model_version_series(*, version: ModelVersion, hours: int = 168,
                         now: datetime | None = None) -> list[dict[str, Any]]:
    """Per hour of the last `hours`: calls, errors, latency percentiles, label counts."""
    now = now or timezone.now()
    series = []
    for row in _hours(version).filter(hour__gte=now - timedelta(hours=hours)).order_by("hour"):
        series.append({"hour": row.hour.isoformat(), "calls": row.calls, "errors": row.errors,
                       "p50_ms": latency_percentile(row.latency_hist, 0.5),
                       "p95_ms": latency_percentile(row.latency_hist, 0.95),
                       "p99_ms": latency_percentile(row.latency_hist, 0.99),
                       "labels": row.labels})
    return series


def model_version_usage(*, version: ModelVersion) -> list[dict[str, Any]]:
    """The workflows whose latest version calls this model version (a node naming its
    server and model with this version, or with none: the latest), and those nodes."""
    from apps.workflows.models import WorkflowVersion

    latest = WorkflowVersion.objects.filter(workflow=OuterRef("workflow")).exclude(
        number__isnull=True).order_by("-number").values("pk")[:1]
    wanted = {"type": "inference.triton",
              "config": {"server": version.server, "model": version.model}}
    versions = (WorkflowVersion.objects.filter(workflow__deleted_at__isnull=True,
                                               graph__contains={"nodes": [wanted]})
                .filter(pk=Subquery(latest)).select_related("workflow"))
    out = []
    for workflow_version in versions:
        nodes = [node for node in workflow_version.graph.get("nodes", [])
                 if node.get("type") == "inference.triton"
                 and (node.get("config") or {}).get("server") == version.server
                 and (node.get("config") or {}).get("model") == version.model
                 and (node.get("config") or {}).get("version", "") in ("", version.model_version)]
        if nodes:
            out.append({"workflow_id": str(workflow_version.workflow_id),
                        "workflow": workflow_version.workflow.name,
                        "version": workflow_version.number,
                        "nodes": [{"id": n["id"], "name": n.get("name") or n["id"]}
                                  for n in nodes]})
    return out


_SHADOW_SQL = """
SELECT p.label, s.label, p.latency_ms, s.latency_ms, p.confidence, s.confidence,
       s.error_type, s.model, s.model_version, s.server
FROM oversight_modelcall p
JOIN oversight_modelcall s ON s.run_id = p.run_id AND s.node_id = p.node_id
     AND s.item = p.item AND s.role = 'shadow'
WHERE p.server = %s AND p.model = %s AND p.model_version = %s AND p.role = 'primary'
  AND p.at >= %s AND p.run_id IS NOT NULL AND NOT p.is_test
LIMIT 200000
"""


def shadow_compare(*, version: ModelVersion, hours: int = 24,
                   now: datetime | None = None) -> list[dict[str, Any]]:
    """This version against each shadow that got its inputs in the last `hours`:
    agreement rate, label confusion, latency, confidence histograms."""
    now = now or timezone.now()
    shadows: dict[tuple[str, str, str], dict[str, Any]] = {}
    with connection.cursor() as cursor:
        cursor.execute(_SHADOW_SQL, [version.server, version.model, version.model_version,
                                     now - timedelta(hours=hours)])
        rows = cursor.fetchall()
    for p_label, s_label, p_ms, s_ms, p_conf, s_conf, s_error, s_model, s_ver, s_srv in rows:
        entry = shadows.setdefault((s_srv, s_model, s_ver), {
            "server": s_srv, "model": s_model, "version": s_ver, "pairs": 0, "agree": 0,
            "shadow_errors": 0, "confusion": defaultdict(lambda: defaultdict(int)),
            "primary_latency": [0] * LATENCY_BUCKETS, "shadow_latency": [0] * LATENCY_BUCKETS,
            "primary_confidence": [0] * CONFIDENCE_BINS,
            "shadow_confidence": [0] * CONFIDENCE_BINS})
        entry["primary_latency"][latency_bucket(p_ms)] += 1
        entry["shadow_latency"][latency_bucket(s_ms)] += 1
        if s_error:
            entry["shadow_errors"] += 1
            continue
        entry["pairs"] += 1
        entry["agree"] += int(p_label == s_label)
        entry["confusion"][p_label or ""][s_label or ""] += 1
        if p_conf is not None:
            entry["primary_confidence"][confidence_bin(p_conf)] += 1
        if s_conf is not None:
            entry["shadow_confidence"][confidence_bin(s_conf)] += 1
    out = []
    for entry in shadows.values():
        pairs = entry["pairs"]
        out.append({
            "server": entry["server"], "model": entry["model"], "version": entry["version"],
            "pairs": pairs, "shadow_errors": entry["shadow_errors"],
            "agreement": round(entry["agree"] / pairs, 4) if pairs else None,
            "confusion": {k: dict(v) for k, v in entry["confusion"].items()},
            "primary_p50_ms": latency_percentile(entry["primary_latency"], 0.5),
            "shadow_p50_ms": latency_percentile(entry["shadow_latency"], 0.5),
            "primary_p99_ms": latency_percentile(entry["primary_latency"], 0.99),
            "shadow_p99_ms": latency_percentile(entry["shadow_latency"], 0.99),
            "primary_confidence": entry["primary_confidence"],
            "shadow_confidence": entry["shadow_confidence"]})
    return out


def alerts_list(*, status: str = "", limit: int = 200):
    alerts = Alert.objects.select_related("rule", "rule__version", "acknowledged_by",
                                          "resolved_by")
    if status:
        alerts = alerts.filter(status=status)
    return alerts[:limit]


def alert_rules_for(*, version: ModelVersion):
    return AlertRule.objects.filter(version=version).select_related("notify_team")
