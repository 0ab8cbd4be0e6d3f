"""Run every benchmark in turn (`make bench`). Each prints its own figures;
none passes or fails on time. Record figures in bench/RESULTS.md."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = ["engine.py", "expressions.py", "inference.py", "audit.py", "editor.py",
           "runs_page.py"]

if __name__ == "__main__":
    failed = []
    for name in BENCHES:
        path = HERE / name
        if not path.exists():
            continue
        print(f"\n=== {name} ===", flush=True)
        if subprocess.run([sys.executable, str(path)], cwd=HERE.parent).returncode:
            failed.append(name)
    if failed:
        print(f"\nbenchmarks that crashed: {', '.join(failed)}")
        sys.exit(1)
