"""The demo Triton server runs one BLAS thread per process (apps/inference/server.py):
with one per core, every call woke them all to spin, and on a 16-core machine the demo
server spent 60-250 ms of CPU per call against 3-5 ms (bench/RESULTS.md)."""

from __future__ import annotations

import os
import subprocess
import sys

import psutil

from apps.inference.launcher import ROOT, TritonProcess

# What OpenBLAS (numpy's BLAS) itself reports, in a process that loads the server module
# as `python -m apps.inference.server` does, then numpy.
BLAS_THREADS = """
import ctypes
import apps.inference.server
import numpy
path = next(line.split()[-1] for line in open("/proc/self/maps") if "openblas" in line)
library = ctypes.CDLL(path)
get = getattr(library, "openblas_get_num_threads64_", None) or library.openblas_get_num_threads
print(get())
"""


def _blas_threads(**environment: str) -> int:
    env = {key: value for key, value in os.environ.items()
           if key not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    done = subprocess.run([sys.executable, "-c", BLAS_THREADS], cwd=ROOT, check=True,
                          capture_output=True, text=True, env={**env, **environment})
    return int(done.stdout.strip().splitlines()[-1])


def test_the_server_process_runs_one_blas_thread_unless_the_operator_sets_more() -> None:
    assert _blas_threads() == 1
    assert _blas_threads(OPENBLAS_NUM_THREADS="2") == 2


def test_the_backends_the_server_starts_inherit_one_blas_thread(triton: TritonProcess) -> None:
    server = psutil.Process(triton.process.pid)
    children = server.children(recursive=True)
    names = {p.name() for p in children}
    assert "tritonserver" in names
    assert any("stub" in name for name in names)  # a Python backend per model
    for process in children:
        assert process.environ().get("OPENBLAS_NUM_THREADS") == "1", process.name()
