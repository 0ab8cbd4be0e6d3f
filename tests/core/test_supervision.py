"""config/supervision.py with a real supervisord: a process that keeps dying is
restarted with growing delays and shows as restarting in a loop; one stopped on
purpose stays stopped; SIGTERM stops everything."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import psutil
import pytest

from config import supervision
from config.supervision import Program


def test_backoff_doubles_up_to_thirty_seconds():
    assert [supervision.backoff_s(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]


def test_a_process_up_for_a_while_is_not_in_a_loop():
    now = time.time()
    steady = supervision.summarize({"state": "RUNNING", "since": now - 5, "failures": 1,
                                    "exits": [now - 6]}, now=now)
    assert not steady["down"]
    assert steady["health"].startswith("running (restarted after 1 exit")
    waiting = supervision.summarize({"state": "EXITED", "failures": 1, "exits": [now]}, now=now)
    assert waiting["down"]
    looping = {"state": "RUNNING", "since": now - 5, "failures": 3, "exits": [now - 6]}
    assert supervision.summarize(looping, now=now)["down"]
    # Up for a minute since the last of its exits: out of the loop.
    assert not supervision.summarize(looping, now=now + supervision.STABLE_AFTER_S)["down"]


@pytest.mark.slow
def test_supervisord_restarts_with_backoff_and_stops_on_sigterm(tmp_path):
    conf = supervision.write_config([
        Program("crash", [sys.executable, "-c", "raise SystemExit(3)"], priority=100),
        Program("steady", [sys.executable, "-c", "import time; time.sleep(600)"],
                priority=200),
    ], directory=tmp_path)
    log = open(tmp_path / "out.log", "ab")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-m", "config.supervision", "supervisord",
                             str(conf)], stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    state_file = tmp_path / "state.json"
    try:
        deadline = time.monotonic() + 60
        while True:
            crash = supervision.read_state(state_file).get("processes", {}).get("crash", {})
            if crash.get("failures", 0) >= 4:
                break
            assert time.monotonic() < deadline, (tmp_path / "out.log").read_text()
            time.sleep(0.2)
        exits = crash["exits"]
        gaps = [later - earlier for earlier, later in zip(exits, exits[1:], strict=False)]
        assert gaps[0] >= 1.0
        assert gaps[1] >= 2.0
        assert gaps[2] >= 4.0
        summary = supervision.summarize(crash, now=time.time())
        assert summary["down"]
        assert summary["health"].startswith("restarting in a loop: exited 4 times in a row")
        steady = supervision.read_state(state_file)["processes"]["steady"]
        assert steady["state"] == "RUNNING"
        assert not supervision.summarize(steady, now=time.time())["down"]

        supervision.rpc(tmp_path).supervisor.stopProcess("steady")
        time.sleep(3)  # longer than a first restart's delay: none came
        steady_now = supervision.read_state(state_file)["processes"]["steady"]
        assert steady_now["state"] == "STOPPED"
        assert steady_now["restarts"] == 0
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
        log.close()
    assert not psutil.pid_exists(steady["pid"]) or \
        psutil.Process(steady["pid"]).status() == psutil.STATUS_ZOMBIE


def test_make_runs_worker_is_stopped_through_its_main_process(tmp_path):
    """A prefork child sent SIGTERM itself dies at once, its calls in flight cut off
    (Celery resets the signal in its children); sent to the main process only, it is a
    warm shutdown in which each child drains (tests/runs/test_io_shutdown.py). After
    the wait, SIGKILL still reaches the whole group."""
    from config.launch import programs

    worker = next(p for p in programs(postgres=None, redis=None, triton_token=None)
                  if p.name == "worker")
    conf = supervision.write_config([worker], directory=tmp_path).read_text()
    section = conf[conf.index("[program:worker]"):]
    assert "stopasgroup=false" in section
    assert "killasgroup=true" in section
    assert "stopsignal=TERM" in section
    assert "stopwaitsecs=30" in section  # over WEFT_IO_DRAIN_S's 15 s
