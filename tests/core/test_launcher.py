"""`make run`'s launcher supervises what it starts: real processes, killed for real.

One launcher (its own var/, PostgreSQL, Redis, Triton and ports) serves the tests of
this module in order; the last one stops it with SIGTERM."""

from __future__ import annotations

import os
import signal
import time

import psutil
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def _wait(predicate, timeout_s: float, what: str, launcher):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"{what} within {timeout_s} s\n{launcher.log()[-6000:]}")


def _restarted(launcher, name: str, old_pid: int):
    def check():
        info = launcher.processes().get(name, {})
        return info.get("state") == "RUNNING" and info.get("pid") not in (None, old_pid) \
            and info
    return check


def _workflow_id(launcher, name: str) -> str:
    status, body = launcher.get(f"/api/workflows/?search={name.replace(' ', '+')}")
    assert status == 200, body
    return next(w["id"] for w in body["results"] if w["name"] == name)


def _run_to_the_end(launcher, workflow: str, timeout_s: float = 120) -> dict:
    status, run = launcher.post(f"/api/workflows/{_workflow_id(launcher, workflow)}/runs/",
                                {"input": {"subject": "Outage", "body": "Nothing works."}})
    assert status == 201, run

    def finished():
        code, body = launcher.get(f"/api/runs/{run['id']}/")
        return code == 200 and body["status"] in ("succeeded", "failed") and body

    return _wait(finished, timeout_s, f"run {run['id']} of {workflow!r} finished", launcher)


def test_a_killed_worker_comes_back_and_the_web_keeps_serving(launcher):
    worker = launcher.processes()["worker"]
    os.kill(worker["pid"], signal.SIGKILL)
    answers = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # the web server answers throughout
        answers.append(launcher.get("/healthz", timeout=5)[0])
        time.sleep(0.2)
    assert set(answers) == {200}
    info = _wait(_restarted(launcher, "worker", worker["pid"]), 60, "the worker came back",
                 launcher)
    assert info["restarts"] >= 1
    assert "worker exited unexpectedly" in launcher.log()
    run = _run_to_the_end(launcher, "Hello, Weft")
    assert run["status"] == "succeeded", (run.get("error"), launcher.log()[-4000:])


def test_a_killed_triton_server_comes_back_and_inference_succeeds(launcher):
    triton = launcher.processes()["triton"]
    group = [p.pid for p in psutil.Process(triton["pid"]).children(recursive=True)]
    os.kill(triton["pid"], signal.SIGKILL)
    _wait(_restarted(launcher, "triton", triton["pid"]), 60, "Triton came back", launcher)
    # What the dead server left behind (its tritonserver binary) was killed and reaped.
    _wait(lambda: not [pid for pid in group if psutil.pid_exists(pid)
                       and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE],
          30, "the old Triton processes were gone", launcher)
    _wait(lambda: launcher.get("/readyz")[1]["checks"].get("triton:local") == "ok", 180,
          "Triton was ready again", launcher)
    # A worker may still hold a connection to the dead server: the inference node's own
    # retries (issue 11, item 2) are not this test's subject, so a run is started again.
    errors = []
    for _ in range(3):
        run = _run_to_the_end(launcher, "Ticket urgency")
        if run["status"] == "succeeded":
            break
        errors.append(run.get("error"))
    assert run["status"] == "succeeded", errors


@pytest.mark.parametrize(("program", "check", "other"),
                         [("redis", "redis", "postgresql"), ("postgres", "postgresql", "redis")])
def test_readyz_names_what_is_stopped_within_a_second(launcher, program, check, other):
    assert "stopped" in launcher.supervisorctl("stop", program)
    try:
        for _ in range(3):
            started = time.monotonic()
            status, body = launcher.get("/readyz", timeout=5)
            elapsed = time.monotonic() - started
            assert status == 503, body
            assert check in body["down"]
            assert body["checks"][other] == "ok"
            assert elapsed < 1.0
    finally:
        launcher.supervisorctl("start", program)
    _wait(lambda: launcher.get("/readyz")[0] == 200, 60, "readyz was 200 again", launcher)


def test_sigterm_stops_everything_and_leaves_no_process(launcher):
    descendants = psutil.Process(launcher.proc.pid).children(recursive=True)
    assert len(descendants) > 6
    launcher.proc.send_signal(signal.SIGTERM)
    assert launcher.proc.wait(150) == 0
    log = launcher.log()
    order = [log.rindex(f"stopped: {name}") for name in ("web", "worker", "triton", "postgres")]
    assert order == sorted(order)
    left = [p for p in descendants if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    zombies = [p for p in descendants if p.is_running() and p.status() == psutil.STATUS_ZOMBIE]
    assert left == []
    assert zombies == []
