"""Train the demo models on generated data and write their weights.

    uv run python -m models.train          # both models, reports held-out accuracy

Plain numpy: full-batch gradient descent with L2, deterministic from the seeds.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np

from models import datasets, invoice_risk, ticket_urgency


@dataclass(frozen=True)
class Report:
    name: str
    train_size: int
    test_size: int
    accuracy: float
    baseline: float  # accuracy of always predicting the most common class

    def line(self) -> str:
        return (
            f"{self.name}: held-out accuracy {self.accuracy:.3f} on {self.test_size} rows "
            f"(majority baseline {self.baseline:.3f}; trained on {self.train_size})"
        )


def split(n: int, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    cut = int(n * (1 - test_fraction))
    return order[:cut], order[cut:]


def fit_softmax(
    x: np.ndarray,
    y: np.ndarray,
    classes: int,
    *,
    epochs: int = 300,
    lr: float = 2.0,
    l2: float = 1e-4,
) -> tuple[np.ndarray, np.ndarray]:
    w = np.zeros((x.shape[1], classes), dtype=np.float32)
    b = np.zeros(classes, dtype=np.float32)
    onehot = np.eye(classes, dtype=np.float32)[y]
    for _ in range(epochs):
        grad = (ticket_urgency.softmax(x @ w + b) - onehot) / len(x)
        w -= lr * (x.T @ grad + l2 * w)
        b -= lr * grad.sum(axis=0)
    return w, b


def fit_logistic(
    x: np.ndarray, y: np.ndarray, *, epochs: int = 500, lr: float = 0.5, l2: float = 1e-3
) -> tuple[np.ndarray, float]:
    w = np.zeros(x.shape[1])
    b = 0.0
    for _ in range(epochs):
        err = invoice_risk.sigmoid(x @ w + b) - y
        w -= lr * (x.T @ err / len(x) + l2 * w)
        b -= lr * float(err.mean())
    return w, b


def majority(y: np.ndarray) -> float:
    return float(np.bincount(y).max() / len(y))


def train_tickets(n: int = 6000, seed: int = 7) -> tuple[ticket_urgency.TicketUrgencyModel, Report]:
    data = datasets.tickets(n, seed=seed)
    train, test = split(n, 0.2, seed)
    x = ticket_urgency.featurize(data.texts)
    w, b = fit_softmax(x[train], data.labels[train], len(ticket_urgency.LABELS))
    model = ticket_urgency.TicketUrgencyModel(weights=w, bias=b)
    predicted = model.predict_proba([data.texts[i] for i in test]).argmax(axis=1)
    accuracy = float((predicted == data.labels[test]).mean())
    return model, Report(
        "ticket_urgency", len(train), len(test), accuracy, majority(data.labels[test])
    )


def train_invoices(n: int = 8000, seed: int = 11) -> tuple[invoice_risk.InvoiceRiskModel, Report]:
    data = datasets.invoices(n, seed=seed)
    train, test = split(n, 0.2, seed)
    mean = data.features[train].mean(axis=0)
    std = data.features[train].std(axis=0) + 1e-6
    w, b = fit_logistic((data.features[train] - mean) / std, data.labels[train])
    model = invoice_risk.InvoiceRiskModel(mean=mean, std=std, weights=w, bias=b)
    predicted = model.predict_proba(data.features[test]).argmax(axis=1)
    accuracy = float((predicted == data.labels[test]).mean())
    return model, Report(
        "invoice_risk", len(train), len(test), accuracy, majority(data.labels[test])
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="train and report, write nothing")
    args = parser.parse_args(argv)
    for train_fn, path in (
        (train_tickets, ticket_urgency.WEIGHTS_PATH),
        (train_invoices, invoice_risk.WEIGHTS_PATH),
    ):
        model, report = train_fn()
        print(report.line())
        if not args.dry_run:
            model.save(path)
            print(f"  wrote {path.relative_to(path.parents[2])} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
