"""`make run` says it is ready only once the web server answers: config.launch.web_wait
against a real HTTP server that starts late, and a real supervisord whose web process
exits before it answers."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from config import supervision
from config.launch import web_wait
from config.supervision import Program


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Readyz(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        body = json.dumps({"status": "ok", "checks": {}, "down": []}).encode()
        self.send_response(200 if self.path == "/readyz" else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_waits_for_a_web_server_that_answers_late_and_says_it_is_waiting(tmp_path):
    port = _free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), _Readyz, bind_and_activate=False)
    server.allow_reuse_address = True

    def start_late():
        time.sleep(2.0)  # refused until then, as uvicorn before it listens
        server.server_bind()
        server.server_activate()
        server.serve_forever()

    threading.Thread(target=start_late, daemon=True).start()
    said: list[str] = []
    started = time.monotonic()
    try:
        body = web_wait(f"http://127.0.0.1:{port}/", state_file=tmp_path / "state.json",
                        timeout_s=60, poll_s=0.1, progress_s=0.5, say=said.append)
    finally:
        server.shutdown()
        server.server_close()
    assert time.monotonic() - started >= 2.0  # not before the server answered
    assert body == {"status": "ok", "checks": {}, "down": []}
    assert any(f"waiting for the web server on http://127.0.0.1:{port}/" in line
               for line in said), said  # not silent meanwhile
    assert not any("error" in line for line in said), said


def test_gives_up_after_its_bound_with_a_clear_error(tmp_path):
    port = _free_port()  # nothing listens there
    said: list[str] = []
    assert web_wait(f"http://127.0.0.1:{port}/", state_file=tmp_path / "state.json",
                    timeout_s=2, poll_s=0.1, progress_s=0.5, say=said.append) is None
    assert said[-1].endswith(f"error: the web server did not answer "
                             f"http://127.0.0.1:{port}/readyz within 2 s; its output is "
                             "above."), said


@pytest.mark.slow
def test_names_the_web_process_that_exits_before_it_answers(tmp_path):
    conf = supervision.write_config([
        Program("web", [sys.executable, "-c", "import time; time.sleep(1.5); "
                                              "raise SystemExit(3)"], priority=400),
    ], directory=tmp_path)
    log = open(tmp_path / "out.log", "ab")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-m", "config.supervision", "supervisord",
                             str(conf)], stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    said: list[str] = []
    try:
        ready = web_wait(f"http://127.0.0.1:{_free_port()}/", state_file=tmp_path / "state.json",
                         timeout_s=120, poll_s=0.2, say=said.append,
                         alive=lambda: proc.poll() is None)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        log.close()
    assert ready is None
    errors = [line for line in said if "error" in line]
    assert errors[0].endswith("error: web exited unexpectedly (exit status 3) before the "
                              "web server answered; its output is above."), said
    assert errors[-1].endswith(f"error: the web server exited {supervision.LOOP_FAILURES} "
                               "times in a row without answering; stopping."), said
