"""Reads the Vite build manifest (static/dist/.vite/manifest.json) to find hashed asset names.

Plain Python, no template machinery, so it is easy to test.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from threading import Lock
from typing import Any

DIST_PREFIX = "dist/"


class ManifestMissing(Exception):
    pass


@dataclass(frozen=True)
class EntryAssets:
    script: str
    css: list[str] = field(default_factory=list)
    preload: list[str] = field(default_factory=list)


_cache: dict[Path, tuple[float, dict[str, Any]]] = {}
_lock = Lock()


def load_manifest(path: Path) -> dict[str, Any]:
    """The parsed manifest, re-read only when the file changes (a rebuild while running)."""
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError as exc:
        raise ManifestMissing(str(path)) from exc
    with _lock:
        cached = _cache.get(path)
        if cached and cached[0] == mtime:
            return cached[1]
        data = json.loads(path.read_text())
        _cache[path] = (mtime, data)
        return data


def entry_assets(manifest: dict[str, Any], entry: str) -> EntryAssets:
    """The entry's script, every stylesheet it needs and the chunks to preload,
    as paths relative to the static root (e.g. "dist/assets/main-abc.js")."""
    if entry not in manifest:
        raise KeyError(f"{entry!r} is not an entry of the Vite manifest (entries: {sorted(manifest)})")
    css: list[str] = []
    preload: list[str] = []
    seen: set[str] = set()

    def visit(key: str) -> None:
        if key in seen:
            return
        seen.add(key)
        chunk = manifest[key]
        for name in chunk.get("css", []):
            if DIST_PREFIX + name not in css:
                css.append(DIST_PREFIX + name)
        for imported in chunk.get("imports", []):
            if imported in manifest:
                preload.append(DIST_PREFIX + manifest[imported]["file"])
                visit(imported)

    visit(entry)
    return EntryAssets(script=DIST_PREFIX + manifest[entry]["file"], css=css, preload=preload)
