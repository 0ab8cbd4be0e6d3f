"""python -m apps.inference.repository FOLDER: export the demo models there."""

from __future__ import annotations

import sys
from pathlib import Path

from apps.inference.repository.export import repository_export


def main(argv: list[str]) -> int:
    folder = Path(argv[0] if argv else "models/repository")
    names = repository_export(folder=folder)
    print(f"Triton model repository at {folder}: {', '.join(names)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
