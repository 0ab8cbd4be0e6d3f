"""The demo models train on generated data to a useful accuracy (small runs)."""

from __future__ import annotations

from models import datasets, train
from models.ticket_urgency import TicketUrgencyModel, featurize


def test_ticket_model_learns_urgency() -> None:
    _, report = train.train_tickets(n=1500)
    assert report.accuracy > 0.85
    assert report.accuracy > report.baseline + 0.5


def test_invoice_model_beats_the_majority_class() -> None:
    _, report = train.train_invoices(n=3000)
    assert report.accuracy > report.baseline + 0.1


def test_featurizer_is_stable_and_committed_weights_load() -> None:
    texts = datasets.tickets(3, seed=1).texts
    assert (featurize(texts) == featurize(texts)).all()
    model = TicketUrgencyModel.load()
    assert model.labels == ("low", "normal", "high", "critical")
    assert model.predict_proba(texts).shape == (3, 4)
