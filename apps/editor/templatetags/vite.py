"""`{% vite_assets "src/main.tsx" %}`: the script and stylesheet tags of a Vite entry."""

from __future__ import annotations

import logging
from pathlib import Path

from django import template
from django.conf import settings
from django.templatetags.static import static
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from apps.editor.vite import ManifestMissing, entry_assets, load_manifest

register = template.Library()
logger = logging.getLogger(__name__)

BUILD_HINT = "cd frontend && npm ci && npm run build"


def manifest_path() -> Path:
    configured = getattr(settings, "WEFT_VITE_MANIFEST", None)
    return Path(configured) if configured else Path(settings.BASE_DIR) / "static" / "dist" / ".vite" / "manifest.json"


@register.simple_tag
def vite_assets(entry: str) -> SafeString:
    path = manifest_path()
    try:
        assets = entry_assets(load_manifest(path), entry)
    except (ManifestMissing, KeyError) as exc:
        logger.error("front end assets missing", extra={"manifest": str(path), "error": str(exc)})
        detail = (
            format_html(" Looked for <code>{}</code>. Build it with <code>{}</code> (<code>make run</code> does this).",
                        path, BUILD_HINT)
            if settings.DEBUG else ""
        )
        return format_html(
            '<link rel="stylesheet" href="{}">'
            '<div class="weft-build-missing" role="alert">'
            '<strong>The editor\'s front end is not built.</strong>{}</div>',
            static("css/weft.css"),
            detail,
        )
    css = format_html_join("\n", '<link rel="stylesheet" href="{}">', ((static(c),) for c in assets.css))
    preload = format_html_join("\n", '<link rel="modulepreload" href="{}">', ((static(p),) for p in assets.preload))
    script = format_html('<script type="module" src="{}"></script>', static(assets.script))
    return format_html("{}\n{}\n{}", css, preload, script)
