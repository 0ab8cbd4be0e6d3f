"""Where other apps plug into the engine, as two small tables filled at start-up.

- **Wait kinds**: a node that returns `Wait(kind=...)` waits on something outside the
  engine (a person, a child run, a timer). A kind may register a handler that runs
  inside the transaction of the step that made the node wait, after its row is written
  (so an approval task is created with its waiting node run, never without it), and
  may say that time spent waiting does not count toward the run's time limit.
- **Run statuses**: handlers called when a run reaches a status, each declaring
  whether it runs inside the transaction that moved the run (its writes commit or roll
  back with the move) or after that transaction commits (notifications, messages).
  This is where the side effects of a run's end live: the engine's own (counting it,
  resuming a parent run, error triggers, freeing a concurrency slot:
  apps.runs.services.hooks) and other apps' (apps.approvals.engine). Before the
  handlers of a finished status, the engine sets `run.result` (not stored): what the
  run gives its caller (the respond node's body, else its last node's output).

Plain Python: the runs service calls these; apps register from `AppConfig.ready()`,
and the tables are frozen with the node registry. Handlers take keyword arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class HookTime(StrEnum):
    IN_TRANSACTION = "in_transaction"
    AFTER_COMMIT = "after_commit"


@dataclass(frozen=True)
class WaitKind:
    name: str
    # on_wait(run=Run, node_run=NodeRun, payload=dict): in the step's transaction.
    on_wait: Callable[..., Any] | None = None
    # True: time spent in this wait is not counted toward the run's time limit.
    pauses_deadline: bool = False


@dataclass(frozen=True)
class RunStatusHook:
    name: str
    statuses: frozenset[str]
    when: HookTime
    # handler(run=Run, status=str)
    handler: Callable[..., Any]
    # Only for runs in which a node waited on this kind (skipped, with no query, for
    # every other run: the webhook hot path).
    wait_kind: str | None = None
    # Only for runs for which this holds (checked in memory, before the handler is
    # called or queued): e.g. child runs only.
    applies: Callable[[Any], bool] | None = None


class HooksFrozen(RuntimeError):
    pass


class EngineHooks:
    def __init__(self) -> None:
        self.wait_kinds: dict[str, WaitKind] = {}
        self.run_status: list[RunStatusHook] = []
        self._frozen = False

    def wait_kind_register(self, kind: WaitKind) -> WaitKind:
        self._check()
        if kind.name in self.wait_kinds:
            raise ValueError(f"wait kind {kind.name!r} is registered twice")
        self.wait_kinds[kind.name] = kind
        return kind

    def run_status_register(self, hook: RunStatusHook) -> RunStatusHook:
        self._check()
        self.run_status.append(hook)
        return hook

    def freeze(self) -> None:
        self._frozen = True

    def _check(self) -> None:
        if self._frozen:
            raise HooksFrozen("the engine's hooks are frozen once the apps are ready")

    def deadline_paused_kinds(self) -> list[str]:
        return sorted(k.name for k in self.wait_kinds.values() if k.pauses_deadline)

    def for_status(self, status: str, when: HookTime) -> list[RunStatusHook]:
        return [h for h in self.run_status if status in h.statuses and h.when == when]


engine_hooks = EngineHooks()
