"""Walk the chain and report the first event that does not match.

Reads in keyset batches (`seq > last ORDER BY seq LIMIT n`), so memory stays
constant whatever the size of the log."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from django.db import connection

from apps.audit.chain import GENESIS, canonical_json

GAP, LINK, HASH = "gap", "link", "hash"

_SELECT = (
    # `at` is formatted by PostgreSQL exactly as chain.canonical_time does (faster).
    "SELECT seq, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "
    "actor_type, actor_id, actor_label, user_id, action, target_type, target_id, "
    "target_label, request_id, run_id, data::text, prev_hash, hash "
    "FROM audit_event WHERE seq > %s ORDER BY seq LIMIT %s"
)


@dataclass
class Failure:
    seq: int
    kind: str  # gap | link | hash
    detail: str


@dataclass
class VerifyResult:
    ok: bool
    count: int
    last_seq: int
    last_hash: str
    seconds: float
    failure: Failure | None = None

    def as_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        if self.ok:
            return (f"Chain valid: {self.count} event(s), last #{self.last_seq}, "
                    f"verified in {self.seconds:.2f} s")
        assert self.failure is not None
        return (f"Chain broken at event #{self.failure.seq} ({self.failure.kind}): "
                f"{self.failure.detail}; {self.count} event(s) before it verified")


def chain_verify(*, batch_size: int = 20_000,
                 progress: Callable[[int], None] | None = None) -> VerifyResult:
    started = time.perf_counter()
    expected, prev_hash, count = 1, GENESIS, 0
    sha256, dumps, loads = hashlib.sha256, canonical_json, json.loads

    def result(failure: Failure | None = None) -> VerifyResult:
        return VerifyResult(ok=failure is None, count=count, last_seq=expected - 1,
                            last_hash=prev_hash, seconds=time.perf_counter() - started,
                            failure=failure)

    with connection.cursor() as cursor:
        while True:
            cursor.execute(_SELECT, [expected - 1, batch_size])
            rows = cursor.fetchall()
            if not rows:
                return result()
            for row in rows:
                seq, stored_prev, stored_hash = row[0], row[13], row[14]
                if seq != expected:
                    missing = (f"#{expected}" if seq == expected + 1
                               else f"#{expected} to #{seq - 1}")
                    return result(Failure(expected, GAP, f"event {missing} missing: the "
                                          f"next stored event is #{seq}"))
                if stored_prev != prev_hash:
                    return result(Failure(seq, LINK, f"prev_hash {stored_prev[:12]}… does not "
                                          f"match the hash of #{seq - 1} ({prev_hash[:12]}…)"))
                content = list(row[:13])
                content[12] = loads(content[12])
                computed = sha256((prev_hash + dumps(content)).encode()).hexdigest()
                if computed != stored_hash:
                    return result(Failure(seq, HASH, f"content does not match its hash: stored "
                                          f"{stored_hash[:12]}…, computed {computed[:12]}…"))
                prev_hash = stored_hash
                expected += 1
                count += 1
            if progress is not None:
                progress(count)
