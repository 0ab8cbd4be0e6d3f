"""Invoice payment risk: standardised numeric features -> logistic regression."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

FEATURES: tuple[str, ...] = (
    "amount_log10",  # log10 of the invoice amount in EUR
    "days_until_due",
    "vendor_age_years",
    "prior_disputes",
    "bank_account_changed",  # 0/1: the vendor's bank details changed recently
    "round_amount",  # 0/1: a suspiciously round amount
    "weekend_submission",  # 0/1
    "po_match",  # 0/1: matches an open purchase order
)
N_FEATURES = len(FEATURES)
LABELS: tuple[str, ...] = ("ok", "risky")
WEIGHTS_PATH = Path(__file__).parent / "weights" / "invoice_risk.npz"


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30.0, 30.0)))


@dataclass(frozen=True)
class InvoiceRiskModel:
    mean: np.ndarray  # (N_FEATURES,)
    std: np.ndarray  # (N_FEATURES,)
    weights: np.ndarray  # (N_FEATURES,)
    bias: float
    labels: tuple[str, ...] = LABELS

    @classmethod
    def load(cls, path: Path = WEIGHTS_PATH) -> InvoiceRiskModel:
        with np.load(path) as data:
            return cls(
                mean=data["mean"],
                std=data["std"],
                weights=data["weights"],
                bias=float(data["bias"]),
                labels=tuple(str(label) for label in data["labels"]),
            )

    def save(self, path: Path = WEIGHTS_PATH) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            path,
            mean=self.mean.astype(np.float32),
            std=self.std.astype(np.float32),
            weights=self.weights.astype(np.float32),
            bias=np.float32(self.bias),
            labels=np.array(self.labels),
        )

    def explain(self, x: np.ndarray) -> np.ndarray:
        """Each feature's contribution to the log-odds of "risky", per row: exact for a
        linear model (they sum, with the bias, to the logit of P(risky))."""
        return (((x - self.mean) / self.std) * self.weights).astype(np.float32)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Rows of [P(ok), P(risky)]."""
        z = ((x - self.mean) / self.std) @ self.weights + self.bias
        risky = sigmoid(z)
        return np.stack([1.0 - risky, risky], axis=1).astype(np.float32)

    def outputs(self, features: np.ndarray) -> dict[str, np.ndarray]:
        """Every output tensor the served model answers for a batch of feature rows, by
        name: the demo server and the exported Triton repository both serve this."""
        x = features.astype(np.float32)
        probabilities = self.predict_proba(x)
        names = np.array([label.encode() for label in self.labels], dtype=object)
        features_names = np.array([name.encode() for name in FEATURES], dtype=object)
        return {
            "probabilities": probabilities,
            "label": names[probabilities.argmax(axis=1)].reshape(-1, 1),
            # Why: each feature's exact contribution to the log-odds of "risky".
            "explanation": self.explain(x),
            "explanation_features": np.tile(features_names, (len(x), 1)),
        }
