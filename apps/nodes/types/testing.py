"""Node types for the engine's tests and benchmarks only: listed in
WEFT_NODE_MODULES when WEFT_TEST_NODES=1 (tests/services.py sets it)."""

from __future__ import annotations

import json
import logging
import os
import time
import urllib.request
from typing import Any

from pydantic import Field

from apps.audit.services import audit_record
from apps.nodes.base import (
    ExecutionPolicy,
    NodeConfig,
    NodeContext,
    NodeType,
    Outputs,
    Port,
    policy_field,
)
from apps.nodes.registry import registry


class SetConfig(NodeConfig):
    values: dict[str, Any] = Field(default_factory=dict)


@registry.register
class TestSet(NodeType):
    """Pure: merges `values` into its input object."""

    type = "test.set"
    pure = True
    Config = SetConfig

    def execute(self, context: NodeContext, config: SetConfig) -> Outputs:
        value = context.inputs.get("in")
        base = value if isinstance(value, dict) else {"value": value}
        return Outputs({"out": {**base, **config.values}})


class IfConfig(NodeConfig):
    field: str = "ok"


@registry.register
class TestIf(NodeType):
    """Pure: fires `true` when input[field] is truthy, else `false`."""

    type = "test.if"
    pure = True
    outputs = (Port("true"), Port("false"))
    Config = IfConfig

    def execute(self, context: NodeContext, config: IfConfig) -> Outputs:
        value = context.inputs.get("in") or {}
        port = "true" if isinstance(value, dict) and value.get(config.field) else "false"
        return Outputs({port: value})


class CallConfig(NodeConfig):
    url: str
    sleep_s: float = 0.0
    policy: ExecutionPolicy = policy_field()


@registry.register
class TestCall(NodeType):
    """Not pure (runs on a worker): POSTs its input to `url` with an idempotency key
    (run id / node id), sleeping first so a test can kill the worker mid-node.
    `fail_until` in the input makes the first N attempts raise."""

    type = "test.call"
    queue = "io"
    outputs = (Port("out"), Port("error", required=False))
    Config = CallConfig

    def execute(self, context: NodeContext, config: CallConfig) -> Outputs:
        value = context.inputs.get("in")
        if isinstance(value, dict) and context.attempt <= int(value.get("fail_until", 0)):
            raise RuntimeError(f"planned failure on attempt {context.attempt}")
        deadline = time.monotonic() + config.sleep_s
        while time.monotonic() < deadline:
            if context.should_stop():
                raise RuntimeError("stopped")
            time.sleep(0.02)
        key = f"{context.run_id}/{context.node_id}"
        request = urllib.request.Request(
            config.url, data=json.dumps({"key": key, "pid": os.getpid()}).encode(),
            headers={"Content-Type": "application/json", "Idempotency-Key": key,
                     "traceparent": f"00-{context.trace_id}-0000000000000001-01"},
            method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            answer = json.loads(response.read() or b"{}")
        return Outputs({"out": {"input": value, "answer": answer}})


class FailConfig(NodeConfig):
    message: str = "this node always fails"


@registry.register
class TestFail(NodeType):
    """Pure: always raises, with `message` (which may quote its input, as real errors do)."""

    type = "test.fail"
    pure = True
    Config = FailConfig

    def execute(self, context: NodeContext, config: FailConfig) -> Outputs:
        raise ValueError(config.message)


class SleepConfig(NodeConfig):
    seconds: float = 1.0


@registry.register
class TestSleep(NodeType):
    """Not pure: sleeps, checking should_stop."""

    type = "test.sleep"
    Config = SleepConfig

    def execute(self, context: NodeContext, config: SleepConfig) -> Outputs:
        deadline = time.monotonic() + config.seconds
        while time.monotonic() < deadline and not context.should_stop():
            time.sleep(0.02)
        return Outputs({"out": context.inputs.get("in")})


@registry.register
class TestCrash(NodeType):
    """Not pure: kills its own worker process, every time."""

    type = "test.crash"

    def execute(self, context: NodeContext, config: NodeConfig) -> Outputs:
        import signal

        os.kill(os.getpid(), signal.SIGKILL)
        raise AssertionError("unreachable")


@registry.register
class TestItems(NodeType):
    """Pure: outputs the list [0, 1, ..., input.count - 1]."""

    type = "test.items"
    pure = True

    def execute(self, context: NodeContext, config: NodeConfig) -> Outputs:
        value = context.inputs.get("in") or {}
        return Outputs({"out": list(range(int(value.get("count", 0))))})


class LeakConfig(NodeConfig):
    credential: str
    fail: bool = False


@registry.register
class TestLeak(NodeType):
    """A careless node: resolves a credential and puts its secret in its output, its
    log line and, with `fail`, its error, so tests can see the engine mask them."""

    type = "test.leak"
    Config = LeakConfig

    def execute(self, context: NodeContext, config: LeakConfig) -> Outputs:
        resolved = context.services["credentials"](credential_id=config.credential,
                                                   run_id=context.run_id,
                                                   node_id=context.node_id)
        logging.getLogger(__name__).warning("using %s", resolved.secret)
        if config.fail:
            raise RuntimeError(f"failed with {resolved.secret}")
        return Outputs({"out": {"secret": resolved.secret}})


@registry.register
class TestLog(NodeType):
    """A chatty node: logs what arrived and records it in the audit log, so tests can
    see personal data masked in both."""

    type = "test.log"

    def execute(self, context: NodeContext, config: NodeConfig) -> Outputs:
        value = context.inputs.get("in")
        logging.getLogger(__name__).warning("received %s", value, extra={"payload": value})
        audit_record(action="test.received", data={"received": value})
        return Outputs({"out": value})
