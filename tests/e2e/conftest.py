import shutil
import sys

import pytest

from apps.accounts.services import token_create
from tests.e2e.editor import Editor
from tests.fixtures.live import ARTIFACTS, web_serving
from tests.fixtures.runs import _worker_running

EMPTY_GRAPH = {"nodes": [], "edges": [], "notes": []}


def spaced(graph: dict, *, dx: int = 300) -> dict:
    """The graph with its nodes in a row `dx` apart (flow's 200 overlaps 220-wide nodes)."""
    for i, node in enumerate(graph["nodes"]):
        node["position"] = {"x": i * dx, "y": 0}
    return graph


def sign_in(page, url: str, user) -> None:
    """Sign `user` in through the login form (its password is the fixtures' PASSWORD)."""
    from tests.fixtures.accounts import PASSWORD

    page.goto(f"{url}/login/")
    page.get_by_label("Username or e-mail").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{url}/")


@pytest.fixture
def open_editor(live_web):
    """open_editor(page, workflow) -> an Editor on /editor/<id>/, loaded."""

    def open_(page, workflow) -> Editor:
        return Editor(page=page, base_url=live_web.url, workflow_id=str(workflow.pk)).open()

    return open_


@pytest.fixture
def api_token():
    """api_token(user) -> a raw API token for reading what the server holds."""

    def make(user) -> str:
        _, raw = token_create(user=user, name="e2e")
        return raw

    return make


@pytest.fixture(autouse=True)
def _wide_viewport(page):
    # The editor has three columns; leave the canvas room to work with.
    page.set_viewport_size({"width": 1440, "height": 900})
    page.set_default_timeout(10_000)


@pytest.fixture
def screenshot(page, request):
    """screenshot("step") saves test-artifacts/<test>/<nn>-<step>.png of the test's page;
    screenshot("step", of=other_page) does the same for a second tab. Returns the path."""
    folder = ARTIFACTS / request.node.name.replace("/", "_")
    shutil.rmtree(folder, ignore_errors=True)  # no stale steps from an earlier run
    folder.mkdir(parents=True)
    counter = {"n": 0}

    def take(step: str, *, of=None):
        counter["n"] += 1
        path = folder / f"{counter['n']:02d}-{step}.png"
        (of or page).screenshot(path=str(path), full_page=True)
        return path

    return take


# --- One worker and one web server on it for the modules that run workflows ----------
# They are started once for tests/e2e (package scope): the modules that use them run
# after the others (pytest_collection_modifyitems below), so that no test written for a
# database without a worker meets this one, and they stop when tests/e2e is done.

WORKER_FIXTURES = ("live_web_on_worker", "loopback_web", "celery_worker_process")
LOOPBACK = {"WEFT_HTTP_ALLOW_HOSTS": "127.0.0.1/32"}  # HTTP nodes may call local servers


def pytest_collection_modifyitems(items):
    """Stable: the e2e modules with a test that uses the worker move behind the other
    e2e modules, in the same slots; items of other directories stay where they are."""
    slots = [i for i, item in enumerate(items) if "tests/e2e/" in item.path.as_posix()]
    e2e = [items[i] for i in slots]
    with_worker = {item.path for item in e2e
                   if any(name in item.fixturenames for name in WORKER_FIXTURES)}
    e2e.sort(key=lambda item: item.path in with_worker)
    for slot, item in zip(slots, e2e, strict=True):
        items[slot] = item


@pytest.fixture(scope="package")
def celery_worker_process(django_db_setup, django_db_blocker, tmp_path_factory):
    """The e2e tests' worker (and beat) against the test database, on a Redis of its own."""
    yield from _worker_running(tmp_path_factory.mktemp("worker"), env=LOOPBACK)


@pytest.fixture(scope="package")
def live_web_on_worker(celery_worker_process, tmp_path_factory):
    """uvicorn on the worker's Redis (broker and channel layer), so the runs it starts reach
    the worker and the worker's events reach the browser's WebSocket."""
    yield from web_serving(celery_worker_process.env["REDIS_URL"],
                           tmp_path_factory.mktemp("live-worker"), WEFT_TEST_NODES="1",
                           PYTHON=celery_worker_process.env.get("PYTHON", sys.executable),
                           **LOOPBACK)


@pytest.fixture
def loopback_web(live_web_on_worker):
    """The worker's web server; loopback is allowed for the HTTP node there."""
    return live_web_on_worker


# Recorded in the page before any of its own scripts run (an init script is the
# browser's, not the page's: the policy does not apply to it).
LISTEN = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber} ${e.sample}`);
});
"""


@pytest.fixture
def csp_watch(page):
    """Collects CSP violations (DOM events and console reports) of every page loaded."""
    console = []
    page.on("console", lambda msg: console.append(msg.text) if msg.type == "error" else None)
    page.add_init_script(LISTEN)

    def violations() -> list[str]:
        events = page.evaluate("window.__csp || []")
        reports = [text for text in console if "Content Security Policy" in text]
        return events + reports

    return violations
