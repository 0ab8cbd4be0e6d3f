"""Synthetic but realistic labelled data for the demo models, generated from a seed.

Tickets: a subject and a body built from phrases typical of each urgency, mixed
with neutral filler, phrases borrowed from a neighbouring class and a little
label noise, so the task is learnable but not trivial.
Invoices: plausible feature distributions; the risk label is drawn from a hidden
logistic rule with noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models import invoice_risk, ticket_urgency

PRODUCTS = [
    "the dashboard",
    "the mobile app",
    "the API",
    "checkout",
    "the billing portal",
    "single sign-on",
    "the export job",
    "the reporting module",
    "the admin console",
    "email notifications",
    "the webhook integration",
    "the search page",
]
CUSTOMERS = [
    "Acme Corp",
    "our biggest client",
    "a new customer",
    "the Berlin office",
    "our finance team",
    "a trial user",
    "the sales team",
    "several enterprise accounts",
]

PHRASES: dict[str, list[str]] = {
    "critical": [
        "{p} is completely down for all users",
        "production outage since this morning",
        "we are losing orders every minute",
        "possible security breach, unknown logins detected",
        "customer data may have leaked",
        "database corruption after the update",
        "nobody can log in, everything returns 500",
        "payments are failing for every customer",
        "all services unreachable, please escalate immediately",
        "data loss in {p}",
        "site down, revenue impact, need help now",
        "ransomware warning on our servers",
    ],
    "high": [
        "{p} fails for {c}",
        "urgent: {c} cannot complete checkout",
        "{p} is very slow and timing out",
        "invoices are being sent twice to {c}",
        "we need a fix before tomorrow's deadline",
        "{c} is blocked and cannot work",
        "error 500 when saving in {p}",
        "sync has been broken since yesterday",
        "critical report shows wrong totals",
        "{c} threatens to cancel the contract",
        "password reset emails never arrive",
        "{p} crashes on every launch",
    ],
    "normal": [
        "how do I change the settings of {p}",
        "question about my latest invoice",
        "{p} shows a confusing message",
        "can you explain how exports work",
        "I would like to add a user to our account",
        "the date format in {p} looks wrong",
        "where can I download the receipt",
        "minor issue with filters in {p}",
        "please update the billing address for {c}",
        "the tooltip in {p} is cut off",
        "how can we connect {p} to our CRM",
        "is there a limit on uploads",
    ],
    "low": [
        "feature request: dark mode for {p}",
        "just wanted to say thanks",
        "small typo on the pricing page",
        "suggestion for {p}, no rush",
        "would be nice to have keyboard shortcuts",
        "whenever you have time, a small idea",
        "the logo looks a bit blurry",
        "nice work on the last release",
        "could you add more colour themes",
        "documentation has an outdated screenshot",
        "curious whether {p} will support emoji",
        "low priority: rename a label in {p}",
    ],
}
FILLER = [
    "Hello team,",
    "Hi,",
    "Thanks in advance.",
    "Best regards, Sam.",
    "See the attached screenshot.",
    "Our account id is 48213.",
    "This started after the last update.",
    "Kind regards,",
    "Let me know if you need more details.",
    "Reported by {c}.",
]
NEIGHBOURS = {"critical": "high", "high": "normal", "normal": "low", "low": "normal"}


@dataclass(frozen=True)
class TextDataset:
    texts: list[str]
    labels: np.ndarray  # class indices into ticket_urgency.LABELS


@dataclass(frozen=True)
class TabularDataset:
    features: np.ndarray  # (n, invoice_risk.N_FEATURES) float32
    labels: np.ndarray  # 0 = ok, 1 = risky


def _fill(rng: np.random.Generator, template: str) -> str:
    return template.format(p=rng.choice(PRODUCTS), c=rng.choice(CUSTOMERS))


def make_ticket(rng: np.random.Generator, label: str) -> str:
    own = [_fill(rng, rng.choice(PHRASES[label])) for _ in range(rng.integers(1, 3))]
    parts = [*own, *(_fill(rng, rng.choice(FILLER)) for _ in range(rng.integers(0, 3)))]
    if rng.random() < 0.3:  # a borrowed phrase blurs the boundary with the neighbouring class
        parts.append(_fill(rng, rng.choice(PHRASES[NEIGHBOURS[label]])))
    rng.shuffle(parts)
    subject = own[0].capitalize()
    return f"{subject}. " + " ".join(parts)


def tickets(n: int, seed: int = 7, label_noise: float = 0.04) -> TextDataset:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(ticket_urgency.LABELS), size=n)
    texts = [make_ticket(rng, ticket_urgency.LABELS[i]) for i in labels]
    flip = rng.random(n) < label_noise
    labels[flip] = rng.integers(0, len(ticket_urgency.LABELS), size=int(flip.sum()))
    return TextDataset(texts=texts, labels=labels)


# The hidden rule: centred features, so the bias sets the share of risky invoices (about 30 %).
HIDDEN_CENTRE = np.array([3.2, 45.0, 4.0, 0.4, 0.08, 0.15, 0.1, 0.7])
HIDDEN_WEIGHTS = np.array([2.8, -0.07, -0.5, 1.6, 4.4, 1.8, 1.4, -3.6])
HIDDEN_BIAS = -2.2


def invoices(n: int, seed: int = 11, shift: float = 0.0) -> TabularDataset:
    """`shift` (0..1) draws from a drifted population: larger amounts, more changed bank
    accounts, fewer purchase-order matches (model oversight's drift tests); 0 gives the
    training distribution, unchanged."""
    rng = np.random.default_rng(seed)
    x = np.column_stack(
        [
            rng.normal(3.2, 0.7, n).clip(1.0, 6.0),  # amount_log10: ~1.6k EUR, 10 EUR .. 1M EUR
            rng.integers(0, 91, n),  # days_until_due
            rng.exponential(4.0, n).clip(0, 30),  # vendor_age_years
            rng.poisson(0.4, n),  # prior_disputes
            rng.random(n) < 0.08,  # bank_account_changed
            rng.random(n) < 0.15,  # round_amount
            rng.random(n) < 0.1,  # weekend_submission
            rng.random(n) < 0.7,  # po_match
        ]
    ).astype(np.float32)
    if shift:
        x[:, 0] = (x[:, 0] + 1.5 * shift).clip(1.0, 6.0)
        x[:, 4] = np.logical_or(x[:, 4], rng.random(n) < 0.5 * shift)
        x[:, 7] = np.logical_and(x[:, 7], rng.random(n) >= 0.6 * shift)
    logit = (x - HIDDEN_CENTRE) @ HIDDEN_WEIGHTS + HIDDEN_BIAS
    risky = rng.random(n) < invoice_risk.sigmoid(logit + rng.normal(0, 0.5, n))
    return TabularDataset(features=x, labels=risky.astype(np.int64))
