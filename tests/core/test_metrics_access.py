"""/metrics names workflows: in production it answers only to WEFT_METRICS_TOKEN or a
client in WEFT_METRICS_ALLOW; in development it is open unless one of them is set."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def production(settings):
    settings.PRODUCTION = True
    settings.WEFT_METRICS_TOKEN = ""
    settings.WEFT_METRICS_ALLOW = []
    settings.WEFT_TRUSTED_PROXIES = []
    return settings


def _get(peer="198.51.100.20", **headers):
    return Client(REMOTE_ADDR=peer).get("/metrics", **headers)


def test_development_stays_open(settings):
    settings.PRODUCTION = False
    settings.WEFT_METRICS_TOKEN = ""
    settings.WEFT_METRICS_ALLOW = []
    response = _get()
    assert response.status_code == 200
    assert b"weft_queue_depth" in response.content


def test_production_without_a_token_or_network_is_closed(production):
    assert _get().status_code == 404


def test_production_answers_to_the_token_only(production):
    production.WEFT_METRICS_TOKEN = "s3cret-scrape"
    assert _get().status_code == 403
    assert _get(HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    ok = _get(HTTP_AUTHORIZATION="Bearer s3cret-scrape")
    assert ok.status_code == 200
    assert b"weft_queue_depth" in ok.content


def test_production_answers_to_the_allowed_network(production):
    production.WEFT_METRICS_ALLOW = ["10.20.0.0/16", "192.0.2.9"]
    assert _get(peer="10.20.3.4").status_code == 200
    assert _get(peer="192.0.2.9").status_code == 200
    assert _get(peer="10.21.0.1").status_code == 403
    # a forged X-Forwarded-For from an untrusted peer does not get in
    assert _get(peer="203.0.113.1", HTTP_X_FORWARDED_FOR="10.20.0.1").status_code == 403
    # through a trusted proxy, the client behind it counts
    production.WEFT_TRUSTED_PROXIES = ["203.0.113.1"]
    assert _get(peer="203.0.113.1", HTTP_X_FORWARDED_FOR="10.20.0.1").status_code == 200
