"""HTML pages carry a Content-Security-Policy without 'unsafe-inline' or 'unsafe-eval'
and hold no inline script (data blocks of type application/json are not executed)."""

import re

import pytest

pytestmark = pytest.mark.django_db

SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S | re.I)


def _directives(response) -> dict[str, list[str]]:
    header = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def _inline_scripts(html: str) -> list[str]:
    return [body.strip()[:80] for attrs, body in SCRIPT.findall(html)
            if "src=" not in attrs and "application/json" not in attrs]


@pytest.fixture
def pages(admin_browser, create_workflow):
    workflow = create_workflow()
    return {path: admin_browser.get(path) for path in [
        "/", "/workflows/", f"/editor/{workflow.pk}/", "/console/audit/", "/console/users/",
        "/console/tokens/", "/console/operations/", "/api/docs/"]}


def test_every_page_has_a_strict_policy_and_no_inline_script(pages, client):
    pages["/login/"] = client.get("/login/")
    for path, response in pages.items():
        assert response.status_code == 200, path
        policy = _directives(response)
        for directive in ("script-src", "style-src", "default-src"):
            assert "'unsafe-inline'" not in policy[directive], (path, directive)
            assert "'unsafe-eval'" not in policy[directive], (path, directive)
        assert policy["object-src"] == ["'none'"]
        assert policy["frame-ancestors"] == ["'none'"]
        html = response.content.decode()
        assert _inline_scripts(html) == [], path
        assert not re.search(r"<style\b", html), path
        assert not re.search(r"\sstyle=\"", html), path


def test_the_editor_data_reaches_the_bundle_as_a_json_block(pages):
    html = next(r for p, r in pages.items() if p.startswith("/editor/")).content.decode()
    assert '<script id="weft-boot" type="application/json">' in html


def test_the_api_docs_load_their_start_up_script_from_a_url(admin_browser):
    script = admin_browser.get("/api/docs/?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in script.content.decode()


def test_hsts_is_sent_over_https_when_configured(client, settings):
    settings.SECURE_HSTS_SECONDS = 3600
    response = client.get("/login/", secure=True)
    assert response.headers["Strict-Transport-Security"] == "max-age=3600"
