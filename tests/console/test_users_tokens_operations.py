import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from apps.accounts.models import ApiToken
from apps.accounts.roles import roles_of
from apps.accounts.services import token_create

pytestmark = pytest.mark.django_db
User = get_user_model()


def test_create_a_user_with_a_generated_password_shown_once(admin_browser, audit_since):
    response = admin_browser.post("/console/users/", {"username": "maya", "email": "m@x.org",
                                                      "roles": ["editor", "reviewer"]})
    assert response.status_code == 200
    password = response.context["password"]
    assert password
    assert password.encode() in response.content
    maya = User.objects.get(username="maya")
    assert roles_of(maya) >= {"editor", "reviewer"}
    assert Client().login(username="maya", password=password)
    again = admin_browser.get("/console/users/")
    assert password.encode() not in again.content
    create = audit_since(action="user.create")[0]
    assert (create.user_id, create.target_label) == (admin_browser.user.pk, "maya")
    assert password not in str([e.data for e in audit_since()])


def test_create_a_user_with_a_chosen_password_and_bad_input(admin_browser, create_user):
    create_user(username="taken")
    bad = admin_browser.post("/console/users/", {"username": "taken", "password": "123"})
    assert bad.status_code == 400
    assert set(bad.context["form"].errors) == {"username", "password"}
    good = admin_browser.post("/console/users/", {"username": "omar",
                                                  "password": "a-long-pass-phrase"})
    assert good.status_code == 200
    assert good.context["password"] is None
    assert Client().login(username="omar", password="a-long-pass-phrase")


def test_assign_roles_and_deactivate(admin_browser, create_user, audit_since):
    user = create_user(username="ivy", roles=["viewer"])
    token_create(user=user, name="script")
    admin_browser.post(f"/console/users/{user.pk}/roles/", {"roles": ["editor", "admin"]})
    user = User.objects.get(pk=user.pk)
    assert {"editor", "admin"} <= roles_of(user)
    admin_browser.post(f"/console/users/{user.pk}/active/", {"active": "0"})
    user.refresh_from_db()
    assert not user.is_active
    assert not ApiToken.objects.filter(user=user, revoked_at__isnull=True).exists()
    admin_browser.post(f"/console/users/{user.pk}/active/", {"active": "1"})
    user.refresh_from_db()
    assert user.is_active
    by_admin = audit_since(user_id=admin_browser.user.pk, target_id=str(user.pk))
    assert [e.action for e in by_admin] == ["user.roles_change", "user.deactivate",
                                           "user.reactivate"]
    assert by_admin[0].data == {"from": ["viewer"], "to": ["admin", "editor"]}


def test_an_admin_cannot_lock_themselves_out(admin_browser):
    me = admin_browser.user
    roles = admin_browser.post(f"/console/users/{me.pk}/roles/", {"roles": ["viewer"]},
                               follow=True)
    assert "own admin role" in " ".join(str(m) for m in roles.context["messages"])
    admin_browser.post(f"/console/users/{me.pk}/active/", {"active": "0"})
    me.refresh_from_db()
    assert me.is_active
    assert "admin" in roles_of(User.objects.get(pk=me.pk))


def test_list_all_tokens_and_revoke_one(admin_browser, create_user, audit_since):
    owner = create_user(username="bot-owner")
    token, _ = token_create(user=owner, name="nightly")
    page = admin_browser.get("/console/tokens/")
    assert b"nightly" in page.content
    assert b"bot-owner" in page.content
    admin_browser.post(f"/console/tokens/{token.pk}/revoke/", follow=True)
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert b"nightly" not in admin_browser.get("/console/tokens/").content
    assert b"nightly" in admin_browser.get("/console/tokens/", {"show": "all"}).content
    (revoke,) = audit_since(action="token.revoke")
    assert (revoke.target_id, revoke.user_id) == (str(token.pk), admin_browser.user.pk)


@pytest.fixture
def broker():
    """The real Redis broker; what a test puts in a queue is taken out again."""
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    pushed = []

    def push(queue, count):
        for i in range(count):
            payload = f"weft-test-{i}"
            client.rpush(queue, payload)
            pushed.append((queue, payload))

    yield push
    for queue, payload in pushed:
        client.lrem(queue, 1, payload)
    client.close()


def test_operations_shows_queue_depths_and_no_workers(admin_browser, broker):
    before = admin_browser.get("/console/operations/").context["depths"].queues
    broker("maintenance", 3)
    broker("io\x06\x166", 2)  # a priority step of the io queue
    page = admin_browser.get("/console/operations/")
    depths = page.context["depths"]
    assert depths.error == ""
    assert depths.queues["maintenance"] == before["maintenance"] + 3
    assert depths.queues["io"] == before["io"] + 2
    assert set(depths.queues) == {"default", "io", "inference", "maintenance"}
    assert page.context["workers"].alive == []  # no worker runs during the tests
    assert b"No workers answered" in page.content
    assert b'data-queue="maintenance"' in page.content


def test_operations_says_when_the_broker_is_down(settings):
    from apps.console.selectors import queue_depths

    depths = queue_depths(broker_url="redis://127.0.0.1:1/0")
    assert depths.error.startswith("broker unreachable")


@pytest.mark.slow
def test_operations_lists_a_live_worker_and_its_queues(admin_browser, tmp_path):
    """A real Celery worker (solo pool) consuming the maintenance queue."""
    import os
    import subprocess
    import sys
    import time

    from apps.console.selectors import workers_alive

    name = f"weft-test-{os.getpid()}@localhost"
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "celery_worker", "worker", "-P", "solo",
         "-Q", "maintenance", "-n", name, "--without-gossip", "--without-mingle",
         "--without-heartbeat", "-l", "WARNING"],
        env={**os.environ, "WEFT_LOG_LEVEL": "WARNING"}, stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "worker.log", "w"))  # noqa: SIM115
    try:
        deadline = time.monotonic() + 60
        while not any(w.name == name for w in workers_alive(timeout=0.5).alive):
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()
            assert time.monotonic() < deadline, "the worker did not answer in 60 s"
        page = admin_browser.get("/console/operations/")
        (alive,) = [w for w in page.context["workers"].alive if w.name == name]
        assert alive.queues == ["maintenance"]
        assert name.encode() in page.content
        assert b"No workers answered" not in page.content
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def test_credentials_page_shows_hosts_flags_any_host_and_edits_them(
        admin_browser, create_credential, audit_since):
    legacy = create_credential(name="Legacy", allowed_hosts=["*"],
                               secret={"token": "tok-never-shown-1"})
    page = admin_browser.get("/console/credentials/")
    assert page.status_code == 200
    assert b"Legacy" in page.content
    assert b"any host" in page.content
    assert b"tok-never-shown-1" not in page.content
    saved = admin_browser.post(f"/console/credentials/{legacy.pk}/hosts/",
                               {"allowed_hosts": "api.example.com\n*.cdn.example.com, "})
    assert saved.status_code == 302
    legacy.refresh_from_db()
    assert legacy.allowed_hosts == ["api.example.com", "*.cdn.example.com"]
    assert audit_since(action="credential.update")[0].data["allowed_hosts"] == legacy.allowed_hosts
    refused = admin_browser.post(f"/console/credentials/{legacy.pk}/hosts/",
                                 {"allowed_hosts": "https://x.example.com/path"}, follow=True)
    assert b"is not a host name" in refused.content
    empty = admin_browser.post(f"/console/credentials/{legacy.pk}/hosts/",
                               {"allowed_hosts": ""}, follow=True)
    assert b"at least one host" in empty.content
    legacy.refresh_from_db()
    assert legacy.allowed_hosts == ["api.example.com", "*.cdn.example.com"]
    assert b"any host</span>" not in admin_browser.get("/console/credentials/").content
