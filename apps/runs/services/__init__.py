"""The runs service: the one place that changes a run's or a node's status.

A *step* is one transaction on one run: lock the run row, record what happened (a
node's result, a retry due, a resume), ask the pure scheduler what is ready, run ready
`pure` nodes inline at once (rows are born finished, inserted in bulk), queue the
others for Celery workers (dispatched after commit), and decide the run's status.
Events for the live view are sent after the commit.

One module per concern, each importing only those above it in this list:

| module | what it holds |
| --- | --- |
| `transitions` | the transition tables and the compare-and-set moves |
| `plans` | compiled plans of published versions (cached per process) |
| `runtime` | the kill switch, the latest version, concurrency limits (cached for a second) |
| `step` | the step: a run's rows in memory, their moves, what nodes may read |
| `execution` | executing a node: context, call, result, the failure policy |
| `dispatch` | the Celery side: node messages and maintenance tasks, after commit |
| `advance` | advancing a step: ready nodes, the run's status, the one write |
| `starts` | starting runs; queued runs and concurrency limits |
| `resume` | resuming a waiting node |
| `workers` | a worker's claim, lease, execution and settling of a node |
| `children` | sub-workflows and maps |
| `control` | cancel, retry, the kill switch |
| `hooks` | the engine's own entries in the hooks tables (apps.runs.engine_hooks) |
| `sweep` | what is due, every second: the top, calling all the others |

Other apps import the public names below from `apps.runs.services`.
"""

from apps.runs.refs import REF_KEY, is_ref
from apps.runs.services import hooks  # noqa: F401  (registers the engine's own hooks)
from apps.runs.services.children import (
    MAP_BATCH,
    MAP_INLINE_MAX,
    MapProgress,
    map_chunk_run,
    map_progress,
)
from apps.runs.services.control import (
    engine_pause,
    engine_resume,
    run_cancel,
    run_retry,
    runs_resume_paused,
)
from apps.runs.services.dispatch import (
    RETRY_POLICY,
    dispatch_job,
    dispatch_node_runs,
    in_process,
)
from apps.runs.services.execution import (
    NodeFailure,
    node_failure,
    node_result_checked,
    node_timeout,
    personal_masker,
    retry_delay_s,
)
from apps.runs.services.execution import policy_of as node_policy
from apps.runs.services.holding import node_run_defer, node_run_held_start, node_run_hold
from apps.runs.services.plans import Compiled, compile_version, compiled_by_id
from apps.runs.services.resume import node_run_resume
from apps.runs.services.runtime import engine_paused_reason, latest_version
from apps.runs.services.starts import run_start, runs_start_queued
from apps.runs.services.step import Outcome, db_clock
from apps.runs.services.sweep import runs_sweep
from apps.runs.services.transitions import (
    NODE_OPEN,
    NODE_TRANSITIONS,
    RUN_ACTIVE,
    RUN_FINISHED,
    RUN_TRANSITIONS,
)
from apps.runs.services.workers import (
    Claimed,
    database_back,
    node_run_claim,
    node_run_execute,
    node_run_finish,
    node_run_let_go,
    node_run_settle,
    node_run_take,
    worker_identity,
)

__all__ = [
    "MAP_BATCH", "MAP_INLINE_MAX", "NODE_OPEN", "NODE_TRANSITIONS", "REF_KEY", "RETRY_POLICY",
    "RUN_ACTIVE", "RUN_FINISHED", "RUN_TRANSITIONS", "Claimed", "Compiled", "MapProgress", "NodeFailure",
    "Outcome",     "compile_version", "compiled_by_id", "database_back", "db_clock",
    "dispatch_job", "dispatch_node_runs", "in_process", "engine_pause", "engine_paused_reason",
    "engine_resume", "is_ref", "latest_version", "map_chunk_run", "map_progress",
    "node_failure", "personal_masker", "node_policy", "node_result_checked", "node_run_claim",
    "node_run_defer", "node_run_execute", "node_run_finish", "node_run_held_start",
    "node_run_hold",
    "node_run_let_go", "node_run_resume",
    "node_run_settle", "node_run_take",
    "node_timeout", "retry_delay_s", "run_cancel", "run_retry",
    "run_start", "runs_resume_paused", "runs_start_queued", "runs_sweep", "worker_identity",
]
