"""Support-ticket urgency: hashed bag of words -> softmax regression.

The same featuriser serves training (`models.train`) and serving
(`apps.inference.demo_models`), so the two can never drift apart.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

LABELS: tuple[str, ...] = ("low", "normal", "high", "critical")
N_FEATURES = 4096
WEIGHTS_PATH = Path(__file__).parent / "weights" / "ticket_urgency.npz"

_TOKEN = re.compile(r"[a-z0-9']+")


def tokens(text: str) -> list[str]:
    """Lower-cased words plus adjacent-word bigrams."""
    words = _TOKEN.findall(text.lower())
    return words + [f"{a}_{b}" for a, b in zip(words, words[1:], strict=False)]


def featurize(texts: list[str]) -> np.ndarray:
    """Rows of L2-normalised, log-scaled hashed token counts (stable across processes)."""
    x = np.zeros((len(texts), N_FEATURES), dtype=np.float32)
    for row, text in enumerate(texts):
        for token in tokens(text):
            x[row, zlib.crc32(token.encode()) % N_FEATURES] += 1.0
    np.log1p(x, out=x)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-6)


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class TicketUrgencyModel:
    weights: np.ndarray  # (N_FEATURES, len(LABELS))
    bias: np.ndarray  # (len(LABELS),)
    labels: tuple[str, ...] = LABELS

    @classmethod
    def load(cls, path: Path = WEIGHTS_PATH) -> TicketUrgencyModel:
        with np.load(path) as data:
            labels = tuple(str(label) for label in data["labels"])
            return cls(weights=data["weights"], bias=data["bias"], labels=labels)

    def save(self, path: Path = WEIGHTS_PATH) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            path,
            weights=self.weights.astype(np.float32),
            bias=self.bias.astype(np.float32),
            labels=np.array(self.labels),
        )

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        return softmax(featurize(texts) @ self.weights + self.bias).astype(np.float32)

    def outputs(self, texts: list[str]) -> dict[str, np.ndarray]:
        """Every output tensor the served model answers for a batch of texts, by name:
        the demo server and the exported Triton repository both serve this."""
        probabilities = self.predict_proba(texts)
        names = np.array([label.encode() for label in self.labels], dtype=object)
        return {"probabilities": probabilities,
                "label": names[probabilities.argmax(axis=1)].reshape(-1, 1)}
