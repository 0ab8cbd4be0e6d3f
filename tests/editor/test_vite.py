"""The `{% vite_assets %}` tag and the manifest reader behind it."""

import json

import pytest
from django.template import Context, Template

from apps.editor.vite import entry_assets, load_manifest

MANIFEST = {
    "src/main.tsx": {
        "file": "assets/main-DUFXOhKK.js",
        "src": "src/main.tsx",
        "isEntry": True,
        "css": ["assets/main-C-CfcMdh.css"],
        "imports": ["_vendor-BxT1.js"],
    },
    "_vendor-BxT1.js": {"file": "assets/vendor-BxT1.js", "css": ["assets/vendor-9a8b.css"]},
}


@pytest.fixture
def manifest(tmp_path, settings):
    """Writes a manifest and points the tag at it: manifest(data) -> path."""

    def write(data):
        path = tmp_path / "manifest.json"
        path.write_text(json.dumps(data))
        settings.WEFT_VITE_MANIFEST = str(path)
        return path

    return write


def render(entry="src/main.tsx") -> str:
    return Template('{% load vite %}{% vite_assets "' + entry + '" %}').render(Context())


def test_tag_emits_the_hashed_script_stylesheets_and_preloads(manifest):
    manifest(MANIFEST)
    html = render()
    assert '<script type="module" src="/static/dist/assets/main-DUFXOhKK.js"></script>' in html
    assert '<link rel="stylesheet" href="/static/dist/assets/main-C-CfcMdh.css">' in html
    assert '<link rel="stylesheet" href="/static/dist/assets/vendor-9a8b.css">' in html
    assert '<link rel="modulepreload" href="/static/dist/assets/vendor-BxT1.js">' in html


def test_tag_follows_a_rebuild(manifest):
    path = manifest(MANIFEST)
    assert "main-DUFXOhKK.js" in render()
    rebuilt = json.loads(json.dumps(MANIFEST))
    rebuilt["src/main.tsx"]["file"] = "assets/main-NEWHASH1.js"
    path.write_text(json.dumps(rebuilt))
    import os

    stat = path.stat()
    os.utime(path, (stat.st_atime, stat.st_mtime + 5))
    assert "main-NEWHASH1.js" in render()


@pytest.mark.parametrize("debug", [True, False])
def test_a_missing_build_shows_a_message_instead_of_a_broken_page(tmp_path, settings, debug):
    settings.WEFT_VITE_MANIFEST = str(tmp_path / "missing.json")
    settings.DEBUG = debug
    html = render()
    assert 'role="alert"' in html
    assert "not built" in html
    # the build command is a hint for developers only
    assert ("npm run build" in html) is debug
    assert "<script" not in html


def test_an_unknown_entry_shows_the_message_too(manifest):
    manifest(MANIFEST)
    assert "not built" in render("src/other.tsx")


def test_entry_assets_visits_shared_chunks_once():
    data = {
        "a.ts": {"file": "a.js", "imports": ["_s.js", "_t.js"]},
        "_s.js": {"file": "s.js", "css": ["s.css"]},
        "_t.js": {"file": "t.js", "imports": ["_s.js"], "css": ["s.css", "t.css"]},
    }
    assets = entry_assets(data, "a.ts")
    assert assets.script == "dist/a.js"
    assert assets.css == ["dist/s.css", "dist/t.css"]
    assert assets.preload.count("dist/s.js") >= 1
    assert set(assets.preload) == {"dist/s.js", "dist/t.js"}


def test_the_real_build_manifest_names_files_that_exist(settings):
    """Against the bundle `make frontend` built: every file the tag names is on disk."""
    from pathlib import Path

    path = Path(settings.BASE_DIR) / "static" / "dist" / ".vite" / "manifest.json"
    if not path.exists():
        pytest.skip("the front end is not built (make frontend)")
    assets = entry_assets(load_manifest(path), "src/main.tsx")
    for name in [assets.script, *assets.css, *assets.preload]:
        assert (Path(settings.BASE_DIR) / "static" / name).is_file(), name
    assert "-" in Path(assets.script).stem  # hashed
