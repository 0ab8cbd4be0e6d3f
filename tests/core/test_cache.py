"""A cache outage degrades with a log line, never a 500 or a hang."""

import time

import pytest

pytestmark = pytest.mark.django_db


def test_signing_in_works_while_the_cache_is_down(api_client, create_user, dead_cache, caplog):
    user = create_user(username="ada", password="a-long-pass-phrase")
    started = time.monotonic()
    answer = api_client.post("/api/auth/token/", {"username": user.username,
                                                  "password": "a-long-pass-phrase"},
                             format="json")
    assert answer.status_code == 201, answer.content  # the login throttle's cache is away
    assert "token" in answer.json()
    assert time.monotonic() - started < 5
    assert "the cache is unreachable" in caplog.text
