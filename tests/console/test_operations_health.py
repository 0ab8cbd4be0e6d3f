"""The operations page's health panel: Redis memory against its limit, and the
processes that `make run` supervises (one restarting in a loop is flagged)."""

import time

import pytest

pytestmark = pytest.mark.django_db


def test_operations_shows_redis_memory_and_warns_before_it_is_full(
        admin_browser, settings, throwaway_redis):
    throwaway_redis.fill(2_000_000)
    used = throwaway_redis.client.info("memory")["used_memory"]
    throwaway_redis.client.config_set("maxmemory", int(used / 0.9))
    settings.CACHE_URL = f"{throwaway_redis.url}/1"
    page = admin_browser.get("/console/operations/")
    health = page.context["health"]
    assert health.redis_memory["limit_bytes"] == int(used / 0.9)
    assert "Redis memory is at" in health.redis_warning
    assert b"redis-warning" in page.content


def test_operations_says_when_redis_is_down(admin_browser, settings):
    settings.CACHE_URL = "redis://127.0.0.1:9/1"
    health = admin_browser.get("/console/operations/").context["health"]
    assert health.redis_error.startswith("Redis unreachable")


def test_operations_flags_a_process_restarting_in_a_loop(admin_browser, supervision_state):
    now = time.time()
    supervision_state({
        "web": {"state": "RUNNING", "pid": 10, "since": now - 100, "failures": 0},
        "worker": {"state": "EXITED", "failures": 5, "restarts": 4,
                   "exits": [now - 30, now - 20, now - 5], "next_start_at": now + 16},
    })
    page = admin_browser.get("/console/operations/")
    processes = page.context["health"].processes
    assert processes["worker"]["down"]
    assert not processes["web"]["down"]
    assert b"restarting in a loop" in page.content
    assert b'data-process="worker"' in page.content
