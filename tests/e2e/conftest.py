import pytest

from apps.accounts.services import token_create
from tests.e2e.editor import Editor

EMPTY_GRAPH = {"nodes": [], "edges": [], "notes": []}


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
