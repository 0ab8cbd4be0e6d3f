"""Drift between two distributions (pure; no Django): the population stability index
and the Kullback-Leibler divergence of a current window against a reference, over the
same bins, each bin smoothed (add-½) so an empty bin never gives an infinite value.
Below `MIN_SAMPLE` calls in either window there is no verdict."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

MIN_SAMPLE = 100
SMOOTHING = 0.5


def _shares(counts: Sequence[float]) -> list[float]:
    total = sum(counts) + SMOOTHING * len(counts)
    return [(c + SMOOTHING) / total for c in counts]


def psi(current: Sequence[float], reference: Sequence[float]) -> float:
    cur, ref = _shares(current), _shares(reference)
    return sum((c - r) * math.log(c / r) for c, r in zip(cur, ref, strict=True))


def kl(current: Sequence[float], reference: Sequence[float]) -> float:
    cur, ref = _shares(current), _shares(reference)
    return sum(c * math.log(c / r) for c, r in zip(cur, ref, strict=True))


def aligned(current: Mapping[str, int], reference: Mapping[str, int]
            ) -> tuple[list[int], list[int]]:
    keys = sorted(set(current) | set(reference))
    return [current.get(k, 0) for k in keys], [reference.get(k, 0) for k in keys]


@dataclass(frozen=True)
class DriftResult:
    current_calls: int
    reference_calls: int
    psi_confidence: float | None = None
    kl_confidence: float | None = None
    psi_labels: float | None = None
    kl_labels: float | None = None

    @property
    def enough(self) -> bool:
        return self.current_calls >= MIN_SAMPLE and self.reference_calls >= MIN_SAMPLE

    def drifted(self, *, psi_threshold: float, kl_threshold: float) -> bool:
        if not self.enough:
            return False
        psis = [v for v in (self.psi_confidence, self.psi_labels) if v is not None]
        kls = [v for v in (self.kl_confidence, self.kl_labels) if v is not None]
        return any(v > psi_threshold for v in psis) or any(v > kl_threshold for v in kls)

    def worst(self) -> float:
        values = [v for v in (self.psi_confidence, self.psi_labels, self.kl_confidence,
                              self.kl_labels) if v is not None]
        return max(values, default=0.0)

    def as_dict(self) -> dict:
        return {"current_calls": self.current_calls, "reference_calls": self.reference_calls,
                "enough": self.enough, "psi_confidence": _round(self.psi_confidence),
                "kl_confidence": _round(self.kl_confidence),
                "psi_labels": _round(self.psi_labels), "kl_labels": _round(self.kl_labels)}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def drift_compute(*, current_conf: Sequence[int], reference_conf: Sequence[int],
                  current_labels: Mapping[str, int], reference_labels: Mapping[str, int],
                  current_calls: int, reference_calls: int) -> DriftResult:
    result: dict[str, float | None] = {}
    if sum(current_conf) and sum(reference_conf):
        result["psi_confidence"] = psi(current_conf, reference_conf)
        result["kl_confidence"] = kl(current_conf, reference_conf)
    if current_labels and reference_labels:
        cur, ref = aligned(current_labels, reference_labels)
        result["psi_labels"] = psi(cur, ref)
        result["kl_labels"] = kl(cur, ref)
    return DriftResult(current_calls, reference_calls, **result)
