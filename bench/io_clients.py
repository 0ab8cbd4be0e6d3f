"""CPU per HTTP call of the io executor's clients, by calls in flight (figures only).

    .venv/bin/python -m bench.io_clients [--rounds 5]

N calls at once (N = 32, 100, 200), in --rounds bursts after a warm-up burst, from one
event loop to a local API answering after 0.2 s (tests/fixtures/slow_http.py), through:
- `spread`: IOClients.http_lease, as the http.request node calls: the calls in flight
  spread over clients of POOL_REQUESTS calls and kept-alive connections each;
- `one pool`: every call through one client of 32 kept-alive connections (the baseline:
  how the executor called before), behind the same SSRF guard.
Prints the CPU time of the loop's thread per call and the connections the bursts after
the warm-up opened (0 when the kept-alive ones are reused). No database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import httpx  # noqa: E402

from apps.nodes.io import IOClients, _pooled  # noqa: E402
from apps.nodes.ssrf import AsyncGuardedTransport  # noqa: E402
from tests.fixtures.slow_http import SlowReceiver  # noqa: E402

ALLOW = ["127.0.0.1/32"]


async def burst(receiver: SlowReceiver, way: str, calls: int, rounds: int) -> tuple[float, int]:
    """(ms of the loop thread's CPU per call, connections opened after the warm-up)."""
    io = IOClients(max_connections=200)
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=32, keepalive_expiry=15)
    single = httpx.AsyncClient(transport=_pooled(AsyncGuardedTransport(allow=ALLOW, limits=limits)),
                               follow_redirects=False, trust_env=False)

    async def one() -> int:
        if way == "spread":
            with io.http_lease(allow=ALLOW) as client:
                return (await client.get(receiver.url)).status_code
        return (await single.get(receiver.url)).status_code

    try:
        await asyncio.gather(*[one() for _ in range(calls)])  # warm up: the connections
        cpu, opened = time.thread_time(), receiver.connections
        for _ in range(rounds):
            statuses = await asyncio.gather(*[one() for _ in range(calls)])
            assert set(statuses) == {200}
        return (time.thread_time() - cpu) * 1000 / (calls * rounds), receiver.connections - opened
    finally:
        await io.aclose()
        await single.aclose()


def main(argv: list[str] | None = None) -> None:
    import django

    django.setup()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    receiver = SlowReceiver(delay_s=0.2)
    try:
        print(f"{'in flight':>9} {'way':>9} {'CPU ms/call':>12} {'new connections':>16}")
        for calls in (32, 100, 200):
            figures = {}
            for way in ("one pool", "spread", "one pool", "spread"):  # in turn: noise alike
                cpu, opened = asyncio.run(burst(receiver, way, calls, args.rounds))
                figures.setdefault(way, []).append(cpu)
                print(f"{calls:>9} {way:>9} {cpu:>12.3f} {opened:>16}")
            ratio = min(figures["one pool"]) / min(figures["spread"])
            print(f"{'':>9} one pool against spread, best of each: x{ratio:.2f}")
    finally:
        receiver.close()


if __name__ == "__main__":
    main()
