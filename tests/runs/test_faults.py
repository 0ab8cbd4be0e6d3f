"""Faults injected into a throwaway Weft of real processes (tests/fixtures/faults.py):
its own PostgreSQL, Redis, web server, beat and three workers, one with its clock five
minutes ahead and one five minutes behind (Debian's faketime). Leases and the requeue
delay are a minute each here, so anything that resumes in seconds was resumed by the
heartbeats and the outbox, not by a lapsed lease.

Wall times are asserted as liveness bounds with wide margins; bench/faults.py has
the figures."""

import threading
import time

import pytest

from tests.fixtures.runs import Receiver, flow

pytestmark = [pytest.mark.slow]

LEASE_S = 60
REQUEUE_S = 60
ENV = {"WEFT_NODE_LEASE_S": str(LEASE_S), "WEFT_REQUEUE_AFTER_S": str(REQUEUE_S),
       "WEFT_HOLDER_DEAD_S": "5", "WEFT_HEARTBEAT_S": "1", "WEFT_OUTBOX_GRACE_S": "1",
       "WEFT_OUTBOX_EVERY_S": "1", "WEFT_MAX_DELIVERIES": "6"}
WORKERS = {"w1": None, "ahead": "+5m", "behind": "-5m"}
DELAY_S = 3


def _graphs(url: str) -> dict[str, dict]:
    def hook(*nodes, edges):
        return flow(("hook", "trigger.webhook"), *nodes, edges=edges)

    return {
        "quick": hook(("call", "test.call", {"url": url}), ("after", "core.noop"),
                      edges=[("hook", "call"), ("call", "after")]),
        "slow": hook(("call", "test.call", {"url": url, "sleep_s": 2.5}),
                     ("after", "core.noop"), edges=[("hook", "call"), ("call", "after")]),
        "timer": hook(("wait", "control.delay", {"amount": DELAY_S, "unit": "seconds"}),
                      ("call", "test.call", {"url": url}),
                      edges=[("hook", "wait"), ("wait", "call")]),
    }


@pytest.fixture(scope="module")
def faults_receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture(scope="module")
def stack(fault_stack_factory, faults_receiver):
    return fault_stack_factory(_graphs(faults_receiver.url), workers=WORKERS, env=ENV)


def _start(stack, name, count, **body):
    ids = []
    for i in range(count):
        status, _, answer = stack.post(name, {"n": i, **body})
        assert status == 202, (status, answer, stack.log("web"))
        ids.append(answer["run_id"])
    return ids


def _sent_once(stack, receiver, run_ids, node="call"):
    keys = receiver.keys()
    counts = [keys.get(f"{run_id}/{node}", 0) for run_id in run_ids]
    assert counts == [1] * len(run_ids), counts
    committed = stack.sql("SELECT count(*) FROM runs_noderun WHERE run_id::text = ANY(%s) "
                          "AND node_id = %s AND status = 'succeeded'", [run_ids, node])
    assert committed == [(len(run_ids),)]


def _wait_rows(stack, query, params, predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = stack.sql(query, params)
        if predicate(rows):
            return rows
        time.sleep(0.1)
    raise AssertionError(f"timed out: {stack.sql(query, params)}\n"
                         + "\n".join(stack.log(name)[-1500:] for name in stack.procs))


def test_a_stranded_node_resumes_within_seconds_of_its_workers_loss(stack, faults_receiver):
    """A whole worker (main process and children) killed mid-node: its nodes are taken
    over once its heartbeats stop, far sooner than its lease plus the requeue delay."""
    ids = _start(stack, "slow", 6)
    held = _wait_rows(stack, "SELECT id FROM runs_noderun WHERE run_id::text = ANY(%s) AND "
                      "node_id = 'call' AND status = 'running' AND worker LIKE 'w1@%%'", [ids],
                      bool, 60)
    stack.kill("w1")
    killed_at = time.monotonic()
    try:
        stranded = [pk for (pk,) in held]
        _wait_rows(stack, "SELECT count(*) FROM runs_noderun WHERE id = ANY(%s) AND "
                   "status = 'succeeded'", [stranded], lambda r: r[0][0] == len(stranded),
                   LEASE_S + REQUEUE_S)
        resumed = time.monotonic() - killed_at
        assert resumed < 30, resumed  # the lease alone would hold them 120 s
        stack.wait_finished(ids, 60)
        assert set(stack.statuses(ids).values()) == {"succeeded"}
        committed = stack.sql("SELECT count(*) FROM runs_noderun WHERE run_id::text = ANY(%s)"
                              " AND node_id = 'call' AND status = 'succeeded'", [ids])
        assert committed == [(len(ids),)]
        assert set(faults_receiver.keys()) >= {f"{run_id}/call" for run_id in ids}
    finally:
        stack.start_worker("w1")
        stack.wait_workers(["w1"])


def test_webhooks_answer_at_once_while_redis_is_down_and_their_runs_finish_after(
        stack, faults_receiver):
    before = _start(stack, "slow", 3)  # in flight (or in the broker) when it stops
    stack.stop_redis()
    answers = []
    try:
        for i in range(10):
            status, seconds, answer = stack.post("quick", {"n": i}, timeout=30)
            answers.append((status, seconds, answer.get("run_id")))
            time.sleep(0.4)
    finally:
        stack.start_redis()
    assert [a[0] for a in answers] == [202] * 10, answers
    slowest = max(a[1] for a in answers)
    assert slowest < 1.0, answers  # 21 s each before the outbox
    during = [a[2] for a in answers]
    # Workers that kombu ended when the broker went away ("Unrecoverable error") are
    # started again by the supervision; the outbox sends what was never published.
    stack.wait_finished(before + during, 60)
    assert set(stack.statuses(before + during).values()) == {"succeeded"}
    _sent_once(stack, faults_receiver, during)
    _sent_once(stack, faults_receiver, before)


def test_workers_with_skewed_clocks_take_no_live_lease_and_fire_timers_on_time(
        stack, faults_receiver):
    """Beside a normal worker, one five minutes ahead and one five minutes behind: no
    node is executed twice, and every delay fires within the sweep's second of its
    due time by PostgreSQL's clock (observed here, from outside)."""
    stack.wait_workers(list(WORKERS))  # those a Redis outage ended are back
    slow = _start(stack, "slow", 6)
    timers = _start(stack, "timer", 9)
    claimed: dict[int, float] = {}
    fired: dict[int, float] = {}
    holders: set[str] = set()
    stop = threading.Event()

    def watch():
        while True:  # one last look after `stop`: a timer that fired since is counted
            last = stop.is_set()
            now = time.monotonic()
            for pk, status, worker in stack.sql(
                    "SELECT id, status, worker FROM runs_noderun WHERE run_id::text = ANY(%s)"
                    " AND node_id = 'wait'", [timers]):
                if status in ("running", "waiting", "succeeded"):
                    claimed.setdefault(pk, now)
                    holders.add(worker.split("@")[0])
                if status == "succeeded":
                    fired.setdefault(pk, now)
            if last:
                return
            time.sleep(0.1)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        stack.wait_finished(slow + timers, 60)
    finally:
        stop.set()
        watcher.join(5)
    assert set(stack.statuses(slow + timers).values()) == {"succeeded"}
    _sent_once(stack, faults_receiver, slow)
    _sent_once(stack, faults_receiver, timers)
    doubled = stack.sql("SELECT count(*) FROM runs_noderun WHERE run_id::text = ANY(%s) "
                        "AND delivery_count > 1", [slow + timers])
    assert doubled == [(0,)]
    lateness = sorted(round(fired[pk] - claimed[pk] - DELAY_S, 2) for pk in fired)
    assert len(lateness) == len(timers)
    # Early or late by no more than the sweep's interval (1 s), with room for a
    # loaded machine: a skewed clock would make it 5 minutes either way.
    assert lateness[0] > -1.5, lateness
    assert lateness[-1] < 4, lateness
    executed_by = {holder.split("@")[0] for (holder,) in stack.sql(
        "SELECT DISTINCT worker FROM runs_noderun WHERE run_id::text = ANY(%s) "
        "AND worker <> ''", [slow + timers])}
    assert {"ahead", "behind"} <= executed_by | holders, (
        executed_by, holders, stack.restarts, stack.log("ahead"), stack.log("behind"))


def test_a_worker_whose_clock_runs_ahead_still_fires_timers_on_its_own(stack):
    """The sweep that fires timers is delivered to whichever worker takes it; one whose
    clock runs five minutes ahead must not discard it as expired (a message's expiry is
    judged by the receiving worker's clock), or timers wait while it is the one free."""
    stack.wait_workers(["ahead"])
    stack.kill("w1")
    stack.kill("behind")
    try:
        timers = _start(stack, "timer", 3)
        # Each delay that began waiting fires within a few seconds of its due time by
        # PostgreSQL's clock (before: never, while the worker ahead took the sweeps).
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            fired = stack.sql(
                "SELECT count(*) FROM runs_noderun WHERE run_id::text = ANY(%s) AND "
                "node_id = 'wait' AND status = 'succeeded'", [timers])[0][0]
            late = stack.sql(
                "SELECT count(*) FROM runs_noderun WHERE run_id::text = ANY(%s) AND "
                "node_id = 'wait' AND status = 'waiting' AND due_at < now() - "
                "interval '10 s'", [timers])[0][0]
            assert late == 0, "a due timer is more than 10 s late"
            if fired == len(timers):
                break
            time.sleep(0.2)
        # (A delivery can still be held by a worker that was killed; the sweep sends
        # such a node again after WEFT_REQUEUE_AFTER_S.)
        stack.wait_finished(timers, LEASE_S + REQUEUE_S)
        assert set(stack.statuses(timers).values()) == {"succeeded"}
    finally:
        stack.start_worker("w1")
        stack.start_worker("behind", clock=WORKERS["behind"])
        stack.wait_workers(["w1", "behind"])


def test_nodes_in_flight_commit_within_seconds_of_postgresqls_return(stack, faults_receiver):
    """Last in the module: after PostgreSQL's restart the web server's pooled
    connections are dead, and its first requests may fail once each."""
    ids = _start(stack, "slow", 4)
    _wait_rows(stack, "SELECT count(*) FROM runs_noderun WHERE run_id::text = ANY(%s) AND "
               "node_id = 'call' AND status = 'running'", [ids], lambda r: r[0][0] >= 2, 60)
    in_flight = [pk for (pk,) in stack.sql(
        "SELECT id FROM runs_noderun WHERE run_id::text = ANY(%s) AND node_id = 'call' "
        "AND status = 'running'", [ids])]
    stack.stop_postgres()
    time.sleep(5)  # the nodes finish their work meanwhile; their results wait
    stack.start_postgres()
    back = time.monotonic()
    _wait_rows(stack, "SELECT count(*) FROM runs_noderun WHERE id = ANY(%s) AND "
               "status = 'succeeded'", [in_flight], lambda r: r[0][0] == len(in_flight),
               LEASE_S + 30)
    committed_after = time.monotonic() - back
    assert committed_after < 10, committed_after  # the lease (60 s) before
    stack.wait_finished(ids, 60)
    assert set(stack.statuses(ids).values()) == {"succeeded"}
    _sent_once(stack, faults_receiver, ids)
