"""The per-process TTL cache of hot reads (the kill switch, the latest version, a
webhook's settings): one thread loads an expired key again, however many ask at once,
and no caller ever waits for another's load."""

import threading
import time

from apps.core.cache import TtlCache


def _at_once(count, call):
    start, got, errors = threading.Barrier(count), [], []

    def ask():
        start.wait()
        try:
            got.append(call())
        except Exception as exc:  # collected for the test
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return got, errors


def _slow_load(loads, value):
    def load():
        loads.append(value)
        time.sleep(0.2)
        return value
    return load


def test_an_expired_entry_is_loaded_once_while_the_others_get_the_old_value():
    cache, loads = TtlCache(0.5), []
    cache.get("switch", lambda: "before")
    time.sleep(0.51)
    got, errors = _at_once(16, lambda: cache.get("switch", _slow_load(loads, "after")))
    assert errors == []
    assert loads == ["after"]  # one query, not sixteen
    assert sorted(got) == ["after"] + ["before"] * 15
    assert cache.get("switch", _slow_load(loads, "again")) == "after"


def test_no_caller_waits_for_another_callers_load():
    # A webhook thread waiting for another's load holds its database connection while
    # the load waits for one from the same pool: with every connection so held, the
    # webhooks hung until the pool gave up (PoolTimeout after 10 s).
    cache, released = TtlCache(10), threading.Event()
    blocked = {}

    def first():
        blocked["released"] = released.wait(5)  # a load that waits for a connection
        return "first"

    loader = threading.Thread(target=lambda: cache.get("hook", first))
    loader.start()
    time.sleep(0.1)
    began = time.monotonic()
    assert cache.get("hook", lambda: "second") == "second"
    assert time.monotonic() - began < 1
    released.set()
    loader.join(10)
    assert blocked == {"released": True}
    cache.data["hook"] = (0.0, "stale")
    released.clear()
    loader = threading.Thread(target=lambda: cache.get("hook", first))
    loader.start()
    time.sleep(0.1)
    assert cache.get("hook", lambda: "third") == "stale"
    released.set()
    loader.join(10)
    assert cache.get("hook", lambda: "fourth") == "first"


def test_a_failed_load_fails_its_caller_only_and_the_next_call_loads_again():
    cache, loads = TtlCache(0.2), []
    cache.get("version", lambda: 2)
    time.sleep(0.21)

    def broken():
        loads.append("broken")
        time.sleep(0.2)
        raise ConnectionError("database away")

    got, errors = _at_once(8, lambda: cache.get("version", broken))
    assert loads == ["broken"]
    assert [type(e) for e in errors] == [ConnectionError]
    assert got == [2] * 7
    assert cache.get("version", lambda: 3) == 3


def test_a_load_that_reads_its_own_key_does_not_wait_for_itself():
    cache = TtlCache(10)
    assert cache.get("k", lambda: cache.get("k", lambda: 1) + 1) == 2


def test_with_no_ttl_every_call_loads():
    cache, loads = TtlCache(0.0), []
    for n in range(3):
        assert cache.get("k", _slow_load(loads, n)) == n
    assert loads == [0, 1, 2]
