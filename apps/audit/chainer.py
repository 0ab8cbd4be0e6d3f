"""The thread that moves this process's pending audit events onto the chain right after
they commit (apps.audit.services.audit_record_later), a batch at a time: woken by each
commit that recorded one, it waits LINGER_S for the next few, then chains everything
pending (any process's). One per process, started on first use. A process that dies
before its thread ran leaves its events pending: the scheduled `audit.chain_pending`
task chains them (celery_worker/app.py). With WEFT_AUDIT_CHAIN_THREAD off (the test
process), the committing thread chains them itself, right after its commit."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

from django.conf import settings

logger = logging.getLogger("weft.audit")

LINGER_S = 0.05  # gathers the events of the next few commits into one lock

_wake = threading.Event()
_started: dict = {"pid": 0, "chain": None}
_lock = threading.Lock()


def chain_soon(chain: Callable[[], int]) -> None:
    """An event was recorded for the chain and has committed: `chain` (the audit
    service's audit_pending_chain, handed in so that this module does not import the
    services, which import it) moves it there."""
    _started["chain"] = chain
    if not settings.WEFT_AUDIT_CHAIN_THREAD:
        _chain()
        return
    if _started["pid"] != os.getpid():
        with _lock:
            if _started["pid"] != os.getpid():
                threading.Thread(target=_loop, name="weft-audit-chainer", daemon=True).start()
                _started["pid"] = os.getpid()
    _wake.set()


def _loop() -> None:
    from django.db import close_old_connections

    while True:
        _wake.wait()
        time.sleep(LINGER_S)
        _wake.clear()
        try:
            _chain()
        finally:
            close_old_connections()


def _chain() -> None:
    try:
        _started["chain"]()
    except Exception:  # still pending: the next commit's wake-up or the schedule chains it
        logger.warning("could not move pending audit events onto the chain", exc_info=True)
