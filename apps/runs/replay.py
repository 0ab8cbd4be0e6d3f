"""A repeated request answers with its first run instead of starting another.

Two things identify a repeat: a signed webhook's signature (its timestamp and body), for
as long as the timestamp is within the tolerance window, and an `Idempotency-Key`
header (on a webhook or on the run-start API), for 24 hours. Both webhook fronts (the
Django view and the ASGI front, through `triggers.webhook_handle`) and the run-start API
go through `run_start_once`; the memory is `RequestReceipt` rows in PostgreSQL, written
in the run's own INSERT statement, stamped and compared with PostgreSQL's clock (DESIGN.md
contract 13, DECISIONS.md "Webhook retries are idempotent").

The signature scheme is Stripe's and Slack's: the trigger's signature header (the
README uses `Weft-Signature`) holds `t=<unix seconds>,v1=<hex HMAC-SHA256(signing key,
"<t>.<body>")>`. Several `v1=` values may be sent (one match is enough) so that a sender
can sign with an old and a new key while rotating; other schemes (`v0=`...) are ignored.
The legacy scheme (the HMAC of the body alone, hex, optionally `sha256=`-prefixed) can
be replayed forever, so it is accepted only where the workflow's
`webhook_legacy_signature` is on.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from apps.core.errors import Unprocessable
from apps.runs.models import ReceiptKind, Run

IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_V1 = 8  # v1 values checked per request: enough to rotate keys, bounded in CPU
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")
_KEY = re.compile(r"^[\x20-\x7e]{1,255}$")


@dataclass(frozen=True)
class Signature:
    """A verified signature: its timestamp, or None for the legacy body-only scheme."""

    timestamp: int | None


@dataclass(frozen=True)
class Claim:
    """What a request claims to be the first of: a SHA-256 key of a kind, remembered for
    `max_age_s`; a signature's claim also carries its timestamp, which must be within
    the tolerance window of the database's clock."""

    kind: str
    key: str
    max_age_s: int
    timestamp: int | None = None
    label: str = ""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def body_digest(body: bytes) -> str:
    return _sha256(body)


def input_digest(value: Any) -> str:
    """The digest of a JSON value, whatever the order of its keys."""
    return _sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode())


# --- Signatures -------------------------------------------------------------------------

def _refused(header: str, detail: str, code: str, status_code: int = 401) -> Unprocessable:
    return Unprocessable(detail, code=code, status_code=status_code, header=header)


def signature_verify(*, header: str, value: str | None, body: bytes, signing_key: str,
                     legacy_allowed: bool) -> Signature:
    """Check the signature header `header` (its value `value`, None when absent)
    against the body. Raises Unprocessable naming the header: 401 when missing, legacy
    where refused, or not matching; 400 when malformed. The timestamp's age is checked
    against the database's clock by `run_start_once`, not here."""
    expected_form = "t=<unix time>,v1=<hex HMAC-SHA256 of '<t>.<body>'>"
    value = (value or "").strip()
    if not value:
        raise _refused(header, f"The request has no {header!r} header; signed webhooks "
                       f"must carry {expected_form}.", "signature_missing")
    parts = [part.strip() for part in value.split(",")]
    if not any(part.startswith(("t=", "v1=")) for part in parts):
        legacy = value[7:] if value.lower().startswith("sha256=") else value
        if not _HEX64.match(legacy):
            raise _refused(header, f"The {header!r} header is malformed: expected "
                           f"{expected_form}.", "signature_malformed", 400)
        if not legacy_allowed:
            raise _refused(header, f"The {header!r} header holds a signature of the body "
                           "alone (the legacy scheme), which this workflow does not accept: "
                           f"send {expected_form}.", "signature_legacy_refused")
        digest = hmac.new(signing_key.encode(), body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(legacy.lower(), digest):
            raise _refused(header, f"The signature in {header!r} does not match the body.",
                           "bad_signature")
        return Signature(timestamp=None)
    timestamps = [part[2:] for part in parts if part.startswith("t=")]
    candidates = [part[3:] for part in parts if part.startswith("v1=")]
    if len(timestamps) != 1 or not _TIMESTAMP.match(timestamps[0]) or not candidates \
            or len(candidates) > MAX_V1 or not all(_HEX64.match(c) for c in candidates):
        raise _refused(header, f"The {header!r} header is malformed: expected "
                       f"{expected_form} (one t, 1 to {MAX_V1} v1 values of 64 hex "
                       "digits).", "signature_malformed", 400)
    timestamp = int(timestamps[0])
    digest = hmac.new(signing_key.encode(), f"{timestamp}.".encode() + body,
                      hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(c.lower(), digest) for c in candidates):
        raise _refused(header, f"No v1 signature in {header!r} matches the timestamp and "
                       "body.", "bad_signature")
    return Signature(timestamp=timestamp)


def _signature_max_age() -> int:
    # A timestamp may lie the tolerance ahead of the clock: its row outlives both sides.
    return 2 * settings.WEFT_WEBHOOK_TOLERANCE_S + 60


def signature_claim(*, signature: Signature, body_sha256: str) -> Claim | None:
    """The claim of a verified timestamped signature (None for the legacy scheme, which
    carries nothing to tell a repeat by)."""
    if signature.timestamp is None:
        return None
    return Claim(kind=ReceiptKind.SIGNATURE,
                 key=_sha256(f"{signature.timestamp}.{body_sha256}".encode()),
                 max_age_s=_signature_max_age(), timestamp=signature.timestamp)


def idempotency_claim(*, kind: str, value: str | None) -> Claim | None:
    """The claim of an Idempotency-Key header (None when absent); 400 naming the header
    when its value is empty, too long or not printable ASCII."""
    if value is None:
        return None
    value = value.strip()
    if not _KEY.match(value):
        raise Unprocessable(f"The {IDEMPOTENCY_HEADER} header must be 1 to 255 printable "
                            "ASCII characters.", code="invalid", header=IDEMPOTENCY_HEADER)
    return Claim(kind=kind, key=_sha256(value.encode()),
                 max_age_s=settings.WEFT_IDEMPOTENCY_TTL_S, label=value)


# --- Remembering the first run ----------------------------------------------------------

# Insert-or-read on the unique (workflow, kind, key): a concurrent twin waits on the
# unique index until the first request's statement or transaction ends, then finds the
# row. A row past its age (not swept yet) is taken over. A signature's timestamp is
# compared with PostgreSQL's clock in the same statement. It returns a row only when
# this request made the claim; it runs as the guard of the run's own INSERT (one
# statement, apps.runs.rows.StepWrite), or on its own when a request makes two claims.
_CLAIM = (
    "INSERT INTO runs_requestreceipt AS r (workflow_id, kind, key, body_sha256, run_id, "
    "created_at) SELECT %s, %s, %s, %s, %s, now() WHERE %s::bigint IS NULL OR "
    "abs(extract(epoch FROM now()) - %s::bigint) <= %s "
    "ON CONFLICT (workflow_id, kind, key) DO UPDATE SET body_sha256 = EXCLUDED.body_sha256, "
    "run_id = EXCLUDED.run_id, created_at = EXCLUDED.created_at "
    "WHERE r.created_at < now() - make_interval(secs => %s) RETURNING r.run_id")

_READ = """
SELECT extract(epoch FROM now())::float8, r.run_id, r.body_sha256
FROM (SELECT 1) AS one
LEFT JOIN runs_requestreceipt r ON r.workflow_id = %s AND r.kind = %s AND r.key = %s
"""


class ClaimTaken(Exception):
    """The request's claim was not made (made before, or refused by the clock): nothing
    was written. Raised by the runs service when a guarded run start did not happen."""


def _claim_sql(*, workflow_id, claim: Claim, run_id: uuid.UUID, body_sha256: str
               ) -> tuple[str, list[Any]]:
    return _CLAIM, [workflow_id, claim.kind, claim.key, body_sha256, run_id, claim.timestamp,
                    claim.timestamp, settings.WEFT_WEBHOOK_TOLERANCE_S, claim.max_age_s]


def _first_run(*, workflow_id, claims: list[Claim], body_sha256: str) -> uuid.UUID | None:
    """Why claims were not made: raises the clock's refusal (401) or the key's reuse
    with another body (422); else the first run's id, or None when the rows are gone
    (swept in between: claim again)."""
    tolerance = settings.WEFT_WEBHOOK_TOLERANCE_S
    with connection.cursor() as cursor:
        for claim in claims:
            cursor.execute(_READ, [workflow_id, claim.kind, claim.key])
            now, first_run, first_body = cursor.fetchone()
            if claim.timestamp is not None and abs(now - claim.timestamp) > tolerance:
                age = round(now - claim.timestamp)
                when = (f"{age} seconds old" if age > 0 else f"{-age} seconds in the future")
                raise Unprocessable(
                    f"The signature's timestamp is {when}; requests more than {tolerance} "
                    "seconds from the server's clock are refused (sign each request when "
                    "it is sent, and check the sender's clock).",
                    code="signature_expired" if age > 0 else "signature_in_future",
                    status_code=401, tolerance_s=tolerance)
            if first_run is None:
                continue
            if first_body != body_sha256:
                raise Unprocessable(
                    f"The {IDEMPOTENCY_HEADER} {claim.label!r} was first sent with a "
                    "different body; a key stands for one request (use a new key for a "
                    "new request).", code="idempotency_key_reused", status_code=422,
                    header=IDEMPOTENCY_HEADER, key=claim.label)
            return first_run
    return None


def run_start_once(*, workflow_id, claims: list[Claim | None], body_sha256: str,
                   start: Callable[[uuid.UUID | None, tuple[str, list[Any]] | None], Run]
                   ) -> tuple[uuid.UUID, Run | None]:
    """Start a run with `start(run_id, guard)` unless one of `claims` was made before,
    within its age. Returns the run's id and the new run, or the first run's id and
    None for a repeat. The claim is the guard of the run's own INSERT (one statement;
    with two claims, the first is its own statement in the same transaction): a start
    that is refused (paused, not published) leaves no claim behind, and two identical
    requests at once start one run. Without claims this is `start(None, None)`."""
    claims = [claim for claim in claims if claim is not None]
    if not claims:
        run = start(None, None)
        return run.pk, run
    for _attempt in range(3):
        run_id = uuid.uuid4()
        try:
            if len(claims) == 1:
                run = start(run_id, _claim_sql(workflow_id=workflow_id, claim=claims[0],
                                               run_id=run_id, body_sha256=body_sha256))
            else:
                with transaction.atomic():
                    for claim in claims[:-1]:
                        sql, params = _claim_sql(workflow_id=workflow_id, claim=claim,
                                                 run_id=run_id, body_sha256=body_sha256)
                        with connection.cursor() as cursor:
                            cursor.execute(sql, params)
                            if cursor.fetchone() is None:
                                raise ClaimTaken()
                    run = start(run_id, _claim_sql(workflow_id=workflow_id, claim=claims[-1],
                                                   run_id=run_id, body_sha256=body_sha256))
            return run.pk, run
        except ClaimTaken:
            first = _first_run(workflow_id=workflow_id, claims=claims,
                               body_sha256=body_sha256)
            if first is not None:
                return first, None
    raise RuntimeError("a request receipt could be neither claimed nor read")


def receipts_sweep() -> int:
    """Delete the receipts past their age (PostgreSQL's clock). Called by the runs sweep."""
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM runs_requestreceipt WHERE (kind = %s AND created_at < now() - "
            "make_interval(secs => %s)) OR (kind IN (%s, %s) AND created_at < now() - "
            "make_interval(secs => %s))",
            [ReceiptKind.SIGNATURE, _signature_max_age(), ReceiptKind.WEBHOOK_KEY,
             ReceiptKind.API_KEY, settings.WEFT_IDEMPOTENCY_TTL_S])
        return cursor.rowcount
