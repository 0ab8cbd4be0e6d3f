"""The inference node follows the engine's failure policy through real runs against
the real Triton server: retries while the server is unreachable, then succeeds when it
answers again; an outage past the retries takes the `error` port; a published graph of
the node's first version (its own retry fields) keeps running."""

from __future__ import annotations

import contextlib
import socket
import threading

import pytest

from apps.inference.client import auth_headers
from apps.runs import services
from apps.runs.models import Run
from tests.fixtures.runs import flow, node_execute, node_row, retry_due_now


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Forwarder:
    """The network path to the real Triton server: a TCP forwarder on a port of its own.
    `down()` refuses new connections and cuts the open ones (Triton is unreachable);
    `up()` serves again on the same port."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.port = _free_port()
        self.listener = None
        self.open: list[socket.socket] = []
        self.up()

    def up(self):
        self.listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def down(self):
        with contextlib.suppress(OSError):  # wakes the accepting thread (Linux)
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        for sock in self.open:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self.open.clear()

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def reachable_triton(triton, create_triton_server):
    """A Triton server row reached through a Forwarder (publish checks it is up)."""
    forwarder = Forwarder(("127.0.0.1", triton.http_port))
    server = create_triton_server(name=f"via{forwarder.port}", url=f"127.0.0.1:{forwarder.port}",
                                  protocol="http",
                                  secret_headers=auth_headers("http", triton.access_token),
                                  model_names=list(triton.models))
    yield server, forwarder
    forwarder.down()


def _classify_flow(server_name, policy=None, *, version=None, config=None):
    graph = flow(("start", "trigger.manual"),
                 ("classify", "inference.triton",
                  {"server": server_name, "model": "ticket_urgency",
                   "inputs": {"text": "input.text"}, **({"policy": policy} if policy else {}),
                   **(config or {})}),
                 ("after", "core.noop"), ("handled", "core.noop"),
                 edges=[("start", "classify"), ("classify", "after"),
                        ("classify", "error", "handled", "in")])
    if version is not None:
        graph["nodes"][1]["version"] = version
    return graph


def test_inference_retries_while_triton_is_down_then_succeeds(publish, reachable_triton):
    server, forwarder = reachable_triton
    workflow = publish(_classify_flow(server.name, {"retries": 3, "backoff_s": 0.01}))
    forwarder.down()
    run = services.run_start(workflow=workflow, input={"text": "Everything is down"})
    assert node_execute(run, "classify") == "failed"  # refused: Triton is unreachable
    assert node_row(run, "classify", attempt=1).error["type"] == "server_unavailable"
    forwarder.up()
    retry_due_now(run, "classify")
    assert node_execute(run, "classify") == "succeeded"
    run.refresh_from_db()
    assert run.status == "succeeded"
    assert node_row(run, "classify").outputs["out"]["label"] == "critical"
    assert node_row(run, "after").status == "succeeded"


def test_a_triton_outage_past_the_retries_takes_the_inference_error_port(
        publish, reachable_triton):
    server, forwarder = reachable_triton
    workflow = publish(_classify_flow(
        server.name, {"retries": 1, "backoff_s": 0.01, "on_error": "error_port"}))
    forwarder.down()
    run = services.run_start(workflow=workflow, input={"text": "hello"})
    assert node_execute(run, "classify") == "failed"
    retry_due_now(run, "classify")
    assert node_execute(run, "classify") == "succeeded"
    run.refresh_from_db()
    assert run.status == "succeeded"
    handled = node_row(run, "handled")
    assert handled.outputs["out"]["type"] == "server_unavailable"
    assert handled.outputs["out"]["details"]["model"] == "ticket_urgency"
    assert node_row(run, "after").status == "skipped"


def test_a_published_version_1_inference_node_keeps_running_under_the_policy(
        publish, reachable_triton):
    """A stored graph of the node's first version (its own retry fields) runs: the
    fields become the policy, and its drawn error port now takes the failure."""
    server, forwarder = reachable_triton
    graph = _classify_flow(server.name, version=1, config={
        "max_attempts": 2, "backoff_s": 0.01, "backoff_max_s": 1})
    workflow = publish(graph)
    stored = workflow.versions.get().graph["nodes"][1]
    assert (stored["version"], stored["config"]["max_attempts"]) == (1, 2)
    forwarder.down()
    run = services.run_start(workflow=workflow, input={"text": "hello"})
    assert node_execute(run, "classify") == "failed"
    retry_due_now(run, "classify")  # max_attempts 2: one retry
    assert node_execute(run, "classify") == "succeeded"
    assert node_row(run, "handled").outputs["out"]["type"] == "server_unavailable"
    assert Run.objects.get(pk=run.pk).status == "succeeded"
