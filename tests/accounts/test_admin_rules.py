"""The admin rules live in the accounts service: nobody deactivates themselves or drops
their own admin role, and the last active admin stays, whoever calls (API or console)."""

import threading
import time

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction

from apps.accounts import services
from apps.accounts.roles import roles_of
from apps.core.errors import Conflict

User = get_user_model()


def _admin(user_id) -> bool:
    return "admin" in roles_of(User.objects.get(pk=user_id))


@pytest.mark.django_db
def test_the_api_refuses_to_deactivate_yourself(admin_client):
    me = admin_client.user
    response = admin_client.patch(f"/api/users/{me.pk}/", {"is_active": False}, format="json")
    assert response.status_code == 400
    assert response.data["code"] == "cannot_deactivate_self"
    assert "is_active" in response.data["errors"]
    me.refresh_from_db()
    assert me.is_active


@pytest.mark.django_db
def test_the_api_refuses_to_drop_your_own_admin_role(admin_client):
    me = admin_client.user
    response = admin_client.patch(f"/api/users/{me.pk}/", {"roles": ["editor"]}, format="json")
    assert response.status_code == 400
    assert response.data["code"] == "cannot_drop_own_admin"
    assert "roles" in response.data["errors"]
    assert _admin(me.pk)


@pytest.mark.django_db
def test_a_refused_part_changes_nothing(admin_client):
    me = admin_client.user
    response = admin_client.patch(f"/api/users/{me.pk}/",
                                  {"roles": ["admin", "reviewer"], "is_active": False},
                                  format="json")
    assert response.status_code == 400
    assert roles_of(User.objects.get(pk=me.pk)) == {"admin", "editor", "reviewer", "viewer"}
    assert sorted(User.objects.get(pk=me.pk).groups.values_list("name", flat=True)) == ["admin"]


@pytest.mark.django_db
def test_the_last_active_admin_stays(create_user):
    only = create_user(roles=["admin"])
    # a command or any caller without an actor gets the rule too
    with pytest.raises(Conflict) as refused:
        services.user_set_roles(user=only, roles=["viewer"])
    assert refused.value.extra["errors"] == {"roles": [refused.value.detail]}
    with pytest.raises(Conflict):
        services.user_deactivate(user=only)
    only.refresh_from_db()
    assert only.is_active
    assert _admin(only.pk)


@pytest.mark.django_db
def test_an_admin_may_demote_and_deactivate_another_admin(admin_client, create_user):
    other = create_user(roles=["admin"])
    response = admin_client.patch(f"/api/users/{other.pk}/", {"roles": ["editor"]},
                                  format="json")
    assert response.status_code == 200
    assert response.data["roles"] == ["editor"]
    again = create_user(roles=["admin"])
    assert admin_client.patch(f"/api/users/{again.pk}/", {"is_active": False},
                              format="json").status_code == 200


@pytest.mark.django_db
def test_an_inactive_admin_does_not_count(admin_client, create_user):
    me = admin_client.user
    other = create_user(roles=["admin"])
    services.user_deactivate(user=other, actor=me)
    # `me` is the last active admin now: a superuser-less demotion by a command is refused
    with pytest.raises(Conflict):
        services.user_set_roles(user=me, roles=["editor"])


@pytest.mark.django_db(transaction=True)
def test_two_admins_demoting_each_other_at_once_leave_one(create_user):
    """A demotes B in a transaction that stays open; B demoting A meanwhile must wait for
    it, then see that A is the last admin (409), not demote A too."""
    alice = create_user(username="alice", roles=["admin"])
    bob = create_user(username="bob", roles=["admin"])
    locked, release = threading.Event(), threading.Event()
    outcome: dict = {}

    def alice_demotes_bob():
        try:
            with transaction.atomic():
                services.user_set_roles(user=User.objects.get(pk=bob.pk), roles=["editor"],
                                        actor=User.objects.get(pk=alice.pk))
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    def bob_demotes_alice():
        started = time.monotonic()
        try:
            services.user_set_roles(user=User.objects.get(pk=alice.pk), roles=["editor"],
                                    actor=User.objects.get(pk=bob.pk))
            outcome["bob"] = "demoted alice"
        except Conflict as exc:
            outcome["bob"] = exc.get_codes()
        finally:
            outcome["waited"] = time.monotonic() - started
            connection.close()

    first = threading.Thread(target=alice_demotes_bob)
    first.start()
    assert locked.wait(10)
    second = threading.Thread(target=bob_demotes_alice)
    second.start()
    time.sleep(0.5)
    release.set()
    first.join(15)
    second.join(15)
    assert outcome["bob"] == "last_admin"
    assert outcome["waited"] >= 0.4  # it waited for alice's transaction
    assert _admin(alice.pk)
    assert not _admin(bob.pk)
