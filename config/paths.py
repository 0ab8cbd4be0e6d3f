"""Where Weft keeps its files: the checkout and `var/` (WEFT_VAR_DIR), for settings,
the embedded services and supervision alike. Standard library only."""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("WEFT_VAR_DIR", BASE_DIR / "var"))
