"""One failure policy for every node type that can fail (DESIGN.md contract 12): retries
are due-time rows (no sleep in a worker slot), never sooner than a Retry-After, then the
run fails, continues on the `error` port, or takes a default output. Driven through real
runs: PostgreSQL, a local HTTP server, the real Triton server."""

from __future__ import annotations

from datetime import timedelta

from apps.runs import services
from tests.fixtures.runs import flow, node_execute, node_row, retry_due_now


def _http_flow(url, policy, *, wired=True):
    nodes = [("start", "trigger.manual"),
             ("call", "http.request", {"url": url, "policy": policy}), ("after", "core.noop")]
    edges = [("start", "call"), ("call", "after")]
    if wired:
        nodes.append(("handled", "core.noop"))
        edges.append(("call", "error", "handled", "in"))
    return flow(*nodes, edges=edges)


def test_http_503_is_retried_by_the_engine_no_sooner_than_retry_after(publish, scripted):
    server = scripted((503, {"Retry-After": "120"}, {"busy": True}),
                      (429, {"Retry-After": "30"}, {"slow": "down"}))
    run = services.run_start(workflow=publish(_http_flow(
        server.url, {"retries": 2, "backoff_s": 0.01})))
    assert node_execute(run, "call") == "failed"
    retry = node_row(run, "call")
    assert (retry.attempt, retry.status) == (2, "pending")
    first = node_row(run, "call", attempt=1)
    # The backoff alone would be 10 ms: the server's Retry-After wins.
    assert retry.due_at - first.finished_at >= timedelta(seconds=119)
    assert first.error["type"] == "http_status"
    retry_due_now(run, "call")
    assert node_execute(run, "call") == "failed"
    third = node_row(run, "call")
    assert third.attempt == 3
    assert third.due_at - node_row(run, "call", attempt=2).finished_at >= timedelta(seconds=29)
    retry_due_now(run, "call")
    assert node_execute(run, "call") == "succeeded"
    run.refresh_from_db()
    assert run.status == "succeeded"
    assert server.requests == 3
    assert node_row(run, "call").outputs["out"]["attempts"] == 3
    assert node_row(run, "after").status == "succeeded"


def test_http_outage_past_the_retries_takes_the_error_port(publish, scripted):
    server = scripted(*[(503, {}, {"down": True})] * 5)
    run = services.run_start(workflow=publish(_http_flow(
        server.url, {"retries": 1, "backoff_s": 0.01, "on_error": "error_port"})))
    assert node_execute(run, "call") == "failed"
    retry_due_now(run, "call")
    assert node_execute(run, "call") == "succeeded"  # continued on its error port
    run.refresh_from_db()
    assert run.status == "succeeded"
    assert server.requests == 2
    handled = node_row(run, "handled")
    assert handled.status == "succeeded"
    assert handled.outputs["out"]["type"] == "http_status"
    assert handled.outputs["out"]["details"]["status"] == 503
    assert node_row(run, "after").status == "skipped"


def test_a_failure_that_retrying_cannot_fix_takes_the_error_port_at_once(publish, scripted):
    server = scripted((404, {}, {"missing": True}))
    run = services.run_start(workflow=publish(_http_flow(
        server.url, {"retries": 3, "on_error": "error_port"})))
    assert node_execute(run, "call") == "succeeded"
    assert server.requests == 1  # a 404 is not retried
    assert node_row(run, "handled").outputs["out"]["details"]["status"] == 404


def test_an_error_port_with_nothing_connected_fails_the_run(publish, scripted):
    server = scripted((404, {}, {"missing": True}))
    run = services.run_start(workflow=publish(_http_flow(
        server.url, {"on_error": "error_port"}, wired=False)))
    assert node_execute(run, "call") == "failed"
    run.refresh_from_db()
    assert run.status == "failed"


def test_a_default_output_stands_in_for_the_failed_call(publish, scripted):
    server = scripted((500, {}, {"boom": True}))
    run = services.run_start(workflow=publish(_http_flow(
        server.url, {"on_error": "default_output", "default_output": {"status": 0}},
        wired=False)))
    assert node_execute(run, "call") == "succeeded"
    assert node_row(run, "call").outputs == {"out": {"status": 0}}
    assert node_row(run, "after").inputs == {"in": {"status": 0}}


def test_a_result_postgresql_refuses_fails_the_node_once_without_repeating_it(
        publish, scripted):
    """A NUL character in a response cannot be stored as jsonb text: the node fails at
    once with a clear error, and the request is never sent again."""
    server = scripted((200, {}, b'{"text": "a\\u0000b"}'))
    run = services.run_start(workflow=publish(_http_flow(
        server.url, {"retries": 2}, wired=False)))
    assert node_execute(run, "call") == "failed"
    row = node_row(run, "call")
    assert (row.attempt, row.delivery_count) == (1, 1)
    assert "store" in row.error["message"] or "NUL" in row.error["message"]
    run.refresh_from_db()
    assert run.status == "failed"
    # A second delivery of the same message changes nothing and sends nothing.
    assert services.node_run_execute(node_run_id=row.pk, worker="test") == "ignored"
    assert server.requests == 1


def test_a_published_version_1_http_node_keeps_running_under_the_policy(publish, scripted):
    server = scripted((503, {}, {}), (200, {}, {"fine": True}))
    graph = flow(("start", "trigger.manual"),
                 ("call", "http.request", {"url": server.url, "retries": 1, "backoff_s": 5}),
                 edges=[("start", "call")])
    graph["nodes"][1]["version"] = 1
    run = services.run_start(workflow=publish(graph))
    assert node_execute(run, "call") == "failed"
    retry_due_now(run, "call")
    assert node_execute(run, "call") == "succeeded"
    assert node_row(run, "call").outputs["out"]["body"] == {"fine": True}
