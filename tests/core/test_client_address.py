"""X-Forwarded-For is believed only from configured proxies (WEFT_TRUSTED_PROXIES),
everywhere a client address is used: the API's throttle, sign-in lockouts, the audit log."""

import secrets

import pytest
from django.test import RequestFactory
from rest_framework.throttling import SimpleRateThrottle

from apps.audit.models import AuditEvent
from apps.core.net import client_ip

pytestmark = pytest.mark.django_db


def _request(peer, forwarded=None):
    extra = {"REMOTE_ADDR": peer}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_without_trusted_proxies_the_header_is_ignored(settings):
    settings.WEFT_TRUSTED_PROXIES = []
    assert client_ip(_request("203.0.113.9", "198.51.100.1")) == "203.0.113.9"


def test_a_trusted_proxy_hands_over_the_client(settings):
    settings.WEFT_TRUSTED_PROXIES = ["10.0.0.0/8", "192.0.2.7"]
    # the client's own claim (left) is never believed; the hop the proxy added is
    assert client_ip(_request("10.1.2.3", "6.6.6.6, 198.51.100.1")) == "198.51.100.1"
    # several trusted proxies in a row are skipped
    assert client_ip(_request("10.1.2.3", "198.51.100.1, 192.0.2.7")) == "198.51.100.1"
    # an untrusted peer's header is ignored
    assert client_ip(_request("203.0.113.9", "198.51.100.1")) == "203.0.113.9"
    # garbage in the header: only the peer is known
    assert client_ip(_request("10.1.2.3", "nonsense")) == "10.1.2.3"


@pytest.fixture
def login_rate():
    """login_rate("3/min"): the token endpoint's throttle rate for this test."""
    original = SimpleRateThrottle.THROTTLE_RATES

    def set_rate(rate):
        SimpleRateThrottle.THROTTLE_RATES = {**original, "login": rate}

    yield set_rate
    SimpleRateThrottle.THROTTLE_RATES = original


def test_the_token_throttle_cannot_be_dodged_with_a_forged_header(api_client, settings,
                                                                   login_rate):
    """Each request claims another address in X-Forwarded-For; without a trusted proxy
    they are all one client, and the throttle stops them."""
    settings.WEFT_TRUSTED_PROXIES = []
    login_rate("3/min")
    peer = f"2001:db8::{secrets.token_hex(2)}:{secrets.token_hex(2)}"  # a fresh bucket
    responses = [api_client.post("/api/auth/token/", {"username": "nobody", "password": "x"},
                                 format="json", REMOTE_ADDR=peer,
                                 HTTP_X_FORWARDED_FOR=f"198.51.100.{i}")
                 for i in range(5)]
    assert [r.status_code for r in responses] == [401, 401, 401, 429, 429]
    assert responses[-1].data["code"] == "throttled"
    assert int(responses[-1]["Retry-After"]) > 0


def test_the_audit_log_records_the_client_behind_a_trusted_proxy(settings, create_user):
    from django.test import Client

    from tests.fixtures.accounts import PASSWORD

    user = create_user(username="pia")
    settings.WEFT_TRUSTED_PROXIES = ["10.0.0.1"]
    Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.4").post(
        "/login/", {"username": "pia", "password": PASSWORD})
    Client(REMOTE_ADDR="203.0.113.8", HTTP_X_FORWARDED_FOR="198.51.100.99").post(
        "/login/", {"username": "pia", "password": PASSWORD})
    logins = AuditEvent.objects.filter(action="auth.login", user_id=user.pk).order_by("seq")
    assert [e.data["ip"] for e in logins] == ["198.51.100.4", "203.0.113.8"]
