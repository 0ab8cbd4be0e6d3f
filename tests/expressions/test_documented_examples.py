"""Every example in docs/expressions.md evaluates as written, with the CEL library a run
uses, over data shaped as the doc describes (a builder copies them into a field)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from apps.expressions.core import evaluate, render_template

DOC = Path(__file__).resolve().parents[2] / "docs" / "expressions.md"

DATA = {
    "input": {"total": 1500, "number": "INV-7", "vendor": "ACME", "label": "critical",
              "confidence": 0.8, "customer": {"tier": "premium"}, "note": "rush",
              "email": "Ann.Lee@Example.COM", "amount": 10, "orders": [{"features": [1.0]}],
              "items": [{"label": "risky", "confidence": 0.4, "ok": True}]},
    "run": {"id": "run-1", "trigger": "manual",
            "input": {"customer": {"tier": "premium"}, "subject": "Outage", "body": "All down",
                      "orders": [{"features": [1.0, 2.0]}],
                      "created_at": "2026-11-01T09:00:00Z",
                      "claimant": {"name": "Ann"}, "claim_id": "C-1"}},
    "nodes": {"classify": {"output": {"label": "critical"}},
              "score": {"output": {"items": [{"label": "risky"}]}}},
    "vars": {"invoice_receiver_url": "https://example.com/invoices"},
    "index": 0,
}


def _section(title: str) -> str:
    text = DOC.read_text()
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else None]


def _table_examples() -> list[str]:
    """The code in the expression column of the Examples table."""
    examples = []
    for line in _section("Examples").splitlines():
        cells = re.split(r"(?<!\\)\|", line)
        if len(cells) < 4 or set(cells[1].strip()) <= {"-"} or cells[1].strip() == "goal":
            continue
        examples += [code.replace("\\|", "|") for code in re.findall(r"`([^`]+)`", cells[2])]
    return examples


def _templates() -> list[str]:
    return [code for line in DOC.read_text().splitlines() if line.startswith("Templates:")
            for code in re.findall(r"`([^`]+)`", line)]


EXAMPLES = _table_examples()


def test_the_doc_has_examples_to_check() -> None:
    assert len(EXAMPLES) >= 15
    assert _templates()


@pytest.mark.parametrize("expression", EXAMPLES)
def test_each_documented_example_evaluates(expression: str) -> None:
    evaluate(expression, DATA)  # raises ExpressionError when it does not


def test_the_lower_case_example_matches_whatever_the_case() -> None:
    (example,) = [e for e in EXAMPLES if "@example" in e]
    assert evaluate(example, DATA) is True
    assert evaluate(example, {**DATA, "input": {"email": "ann@other.org"}}) is False


@pytest.mark.parametrize("template", _templates())
def test_each_documented_template_renders(template: str) -> None:
    assert "{{" not in render_template(template, DATA)
