"""Fault bench: prints figures, never fails on time.

    .venv/bin/python bench/faults.py [--runs 20] [--outage 5] [child] [main] [redis] [postgres]

A throwaway Weft of real processes (tests/fixtures/faults.py: its own PostgreSQL,
Redis, uvicorn, beat and two workers, leases and the requeue delay a minute each, so
that what resumes in seconds was resumed by heartbeats and the outbox). Runs are
started by webhook (webhook -> test.call -> noop; the call POSTs to a local receiver
that counts requests by run and node, and takes `--sleep` seconds first). For each
fault it prints the runs started, lost (not succeeded a minute after the fault),
committed twice (a node with two succeeded rows), requests sent twice, and the time
to resume:

- child:    a worker child SIGKILLed mid-node; resume = kill -> the node committed.
- main:     a worker's main process and children SIGKILLed (a machine lost); resume =
            kill -> its stranded nodes committed (by the other worker).
- redis:    Redis stopped `--outage` s while webhooks arrive; also the slowest
            webhook answer; resume = Redis back -> every run finished.
- postgres: PostgreSQL stopped `--outage` s with nodes in flight; resume =
            PostgreSQL back -> the in-flight nodes committed.
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the checkout importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _arg(name: str, default: float) -> float:
    if name in sys.argv:
        return float(sys.argv[sys.argv.index(name) + 1])
    return default


RUNS = int(_arg("--runs", 20))
OUTAGE = _arg("--outage", 5)
SLEEP = _arg("--sleep", 1.5)
ENV = {"WEFT_NODE_LEASE_S": "60", "WEFT_REQUEUE_AFTER_S": "60", "WEFT_HOLDER_DEAD_S": "5",
       "WEFT_HEARTBEAT_S": "1", "WEFT_OUTBOX_GRACE_S": "1", "WEFT_OUTBOX_EVERY_S": "1",
       "WEFT_MAX_DELIVERIES": "6", "WEFT_LOG_LEVEL": "WARNING"}


def _wait(predicate, timeout: float, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except Exception:
            value = None
        if value:
            return value
        time.sleep(step)
    return None


class Fault:
    def __init__(self, stack, receiver) -> None:
        self.stack = stack
        self.receiver = receiver
        self.ids: list[str] = []
        self.slowest = 0.0

    def start(self, count: int, *, spacing: float = 0.0) -> None:
        for i in range(count):
            status, seconds, answer = self.stack.post("call", {"n": i}, timeout=60)
            self.slowest = max(self.slowest, seconds)
            if status == 202:
                self.ids.append(answer["run_id"])
            time.sleep(spacing)

    def running(self, worker: str | None = None) -> list[int]:
        query = ("SELECT id FROM runs_noderun WHERE run_id::text = ANY(%s) AND node_id = 'call'"
                 " AND status = 'running'")
        params: list = [self.ids]
        if worker:
            query += " AND worker LIKE %s"
            params.append(f"{worker}@%")
        return [pk for (pk,) in self.stack.sql(query, params)]

    def committed(self, pks: list[int]) -> bool:
        return self.stack.sql("SELECT count(*) FROM runs_noderun WHERE id = ANY(%s) AND "
                              "status = 'succeeded'", [pks])[0][0] == len(pks)

    def report(self, name: str, resume: float | None, extra: str = "") -> dict:
        _wait(lambda: all(s in ("succeeded", "failed", "cancelled")
                          for s in self.stack.statuses(self.ids).values()), 60)
        statuses = self.stack.statuses(self.ids)
        lost = sum(1 for run_id in self.ids if statuses.get(run_id) != "succeeded")
        twice = self.stack.sql(
            "SELECT count(*) FROM (SELECT run_id, node_id FROM runs_noderun WHERE "
            "run_id::text = ANY(%s) AND status = 'succeeded' GROUP BY run_id, node_id "
            "HAVING count(*) > 1) AS doubled", [self.ids])[0][0]
        keys = self.receiver.keys()
        sent_twice = sum(1 for run_id in self.ids if keys.get(f"{run_id}/call", 0) > 1)
        row = {"fault": name, "runs": len(self.ids), "lost": lost, "committed twice": twice,
               "requests twice": sent_twice,
               "resume s": "-" if resume is None else f"{resume:.1f}", "note": extra}
        print(f"| {name} | {row['runs']} | {lost} | {twice} | {sent_twice} | "
              f"{row['resume s']} | {extra} |", flush=True)
        return row


def fault_child(stack, receiver) -> None:
    fault = Fault(stack, receiver)
    fault.start(RUNS)
    held = _wait(lambda: fault.running("w1"), 60) or []
    children = stack.children("w1")
    resume = None
    if held and children:
        for pid in children:  # the node's holder is one of them: kill both
            os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()
        if _wait(lambda: fault.committed(held), 120):
            resume = time.monotonic() - killed
    fault.report("worker children SIGKILL", resume, f"{len(held)} node(s) held")


def fault_main(stack, receiver) -> None:
    fault = Fault(stack, receiver)
    fault.start(RUNS)
    held = _wait(lambda: fault.running("w1"), 60) or []
    stack.kill("w1")
    killed = time.monotonic()
    resume = time.monotonic() - killed if _wait(lambda: fault.committed(held), 150) else None
    fault.report("worker main SIGKILL", resume, f"{len(held)} node(s) held; lease 60 s")
    stack.start_worker("w1")
    stack.wait_workers(["w1"])


def fault_redis(stack, receiver) -> None:
    fault = Fault(stack, receiver)
    fault.start(RUNS // 2)
    stack.stop_redis()
    stopped = time.monotonic()
    while time.monotonic() - stopped < OUTAGE:
        fault.start(1, spacing=OUTAGE / max(1, RUNS // 2))
    stack.start_redis()
    back = time.monotonic()
    done = _wait(lambda: all(s == "succeeded" for s in stack.statuses(fault.ids).values()), 120)
    resume = time.monotonic() - back if done else None
    fault.report(f"Redis stopped {OUTAGE:.0f} s", resume,
                 f"slowest webhook answer {fault.slowest * 1000:.0f} ms")


def fault_postgres(stack, receiver) -> None:
    fault = Fault(stack, receiver)
    fault.start(RUNS // 2)
    _wait(lambda: len(fault.running()) >= 2, 60)
    in_flight = fault.running()
    stack.stop_postgres()
    time.sleep(OUTAGE)
    stack.start_postgres()
    back = time.monotonic()
    resume = time.monotonic() - back if _wait(lambda: fault.committed(in_flight), 120) else None
    fault.report(f"PostgreSQL stopped {OUTAGE:.0f} s", resume,
                 f"{len(in_flight)} node(s) in flight")


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from tests.fixtures.faults import FaultStack
    from tests.fixtures.runs import Receiver, flow

    receiver = Receiver()
    graph = flow(("hook", "trigger.webhook"),
                 ("call", "test.call", {"url": receiver.url, "sleep_s": SLEEP}),
                 ("after", "core.noop"), edges=[("hook", "call"), ("call", "after")])
    stack = FaultStack(Path(tempfile.mkdtemp(prefix="weft-faults-")), env=ENV)
    chosen = [n for n in ("child", "main", "redis", "postgres") if n in sys.argv] or [
        "child", "main", "redis", "postgres"]
    try:
        stack.start({"call": graph}, workers={"w1": None, "w2": None})
        print(f"\n{RUNS} runs per fault (webhook -> call ({SLEEP} s) -> noop), 2 workers "
              "x 2 children, lease 60 s, requeue 60 s, holder dead after 5 s\n")
        print("| fault | runs | lost | committed twice | requests twice | resume s | note |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
        for name in chosen:
            {"child": fault_child, "main": fault_main, "redis": fault_redis,
             "postgres": fault_postgres}[name](stack, receiver)
    finally:
        stack.stop()
        receiver.close()


if __name__ == "__main__":
    main()
