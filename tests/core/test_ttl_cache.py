"""The per-process TTL cache of hot reads (the kill switch, the latest version, a
webhook's settings): one thread loads a key at a time, however many ask at once."""

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


def test_a_key_nobody_has_loaded_is_loaded_once_and_every_caller_gets_it():
    cache, loads = TtlCache(10), []
    got, errors = _at_once(16, lambda: cache.get("hook", _slow_load(loads, "settings")))
    assert errors == []
    assert loads == ["settings"]
    assert got == ["settings"] * 16


def test_a_failed_load_fails_its_waiters_and_the_next_call_loads_again():
    cache, loads = TtlCache(10), []

    def broken():
        loads.append("broken")
        time.sleep(0.2)
        raise ConnectionError("database away")

    got, errors = _at_once(8, lambda: cache.get("version", broken))
    assert got == []
    assert len(errors) == 8
    assert all(isinstance(e, ConnectionError) for e in errors)
    assert loads == ["broken"]
    assert cache.get("version", lambda: 3) == 3


def test_a_load_that_reads_its_own_key_does_not_wait_for_itself():
    cache = TtlCache(10)
    assert cache.get("k", lambda: cache.get("k", lambda: 1) + 1) == 2


def test_with_no_ttl_every_call_loads():
    cache, loads = TtlCache(0.0), []
    for n in range(3):
        assert cache.get("k", _slow_load(loads, n)) == n
    assert loads == [0, 1, 2]
