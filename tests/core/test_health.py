import time

import pytest
from django.db import connections


def test_healthz_needs_no_login(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_reports_each_dependency(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["checks"]["postgresql"] == "ok"
    assert body["checks"]["redis"] == "ok"
    assert body["down"] == []
    assert body["redis_memory"]["used_bytes"] > 0


@pytest.mark.django_db(transaction=True)
def test_readyz_names_a_registered_model_the_triton_server_has_not_loaded(
        client, triton, create_triton_server):
    # A restarted server answers "ready" before it has loaded its models: readyz names
    # the models it is registered to serve and does not have yet.
    url = f"127.0.0.1:{triton.http_port}"
    create_triton_server(name="serving", url=url, model_names=list(triton.models))
    create_triton_server(name="loading", url=url,
                         model_names=[triton.models[0], "not_loaded_yet"])

    body = client.get("/readyz").json()

    assert body["checks"]["triton:serving"] == "ok"
    assert "'not_loaded_yet'" in body["checks"]["triton:loading"]
    assert repr(triton.models[0]) not in body["checks"]["triton:loading"]
    assert body["degraded"] == ["triton:loading"]


def _timed_readyz(client):
    started = time.monotonic()
    response = client.get("/readyz")
    return response, time.monotonic() - started


@pytest.mark.django_db
def test_readyz_names_redis_down_and_postgresql_up(client, settings):
    # Port 9 (discard) on loopback has nothing listening: a real refused connection.
    settings.CACHE_URL = "redis://127.0.0.1:9/1"
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"
    response, elapsed = _timed_readyz(client)
    assert response.status_code == 503
    body = response.json()
    assert body["down"] == ["redis"]
    assert body["checks"]["postgresql"] == "ok"
    assert elapsed < 1.0


@pytest.mark.django_db
def test_readyz_answers_within_a_second_when_redis_hangs(client, settings, silent_server):
    settings.CACHE_URL = f"redis://127.0.0.1:{silent_server}/1"
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{silent_server}/0"
    response, elapsed = _timed_readyz(client)
    assert response.status_code == 503
    assert response.json()["down"] == ["redis"]
    assert response.json()["checks"]["postgresql"] == "ok"
    assert elapsed < 1.0


@pytest.mark.django_db
def test_readyz_names_postgresql_down_and_redis_up(client, monkeypatch, silent_server):
    # readyz's own connection goes where the settings say; the request pool is not used.
    # A server that accepts and never answers: psycopg would wait 2 s for it.
    database = connections["default"].settings_dict
    monkeypatch.setitem(database, "HOST", "127.0.0.1")
    monkeypatch.setitem(database, "PORT", str(silent_server))
    response, elapsed = _timed_readyz(client)
    assert response.status_code == 503
    body = response.json()
    assert body["down"] == ["postgresql"]
    assert body["checks"]["postgresql"].startswith("down: no answer within")
    assert body["checks"]["redis"] == "ok"
    assert elapsed < 1.0


@pytest.mark.django_db
def test_readyz_names_a_refused_postgresql(client, monkeypatch):
    database = connections["default"].settings_dict
    monkeypatch.setitem(database, "PORT", "9")
    response, elapsed = _timed_readyz(client)
    assert response.status_code == 503
    assert response.json()["down"] == ["postgresql"]
    assert elapsed < 1.0


@pytest.mark.django_db
def test_readyz_warns_before_redis_memory_is_full(client, settings, throwaway_redis):
    throwaway_redis.fill(2_000_000)
    used = throwaway_redis.client.info("memory")["used_memory"]
    limit = int(used / 0.85)
    throwaway_redis.client.config_set("maxmemory", limit)
    settings.CACHE_URL = f"{throwaway_redis.url}/1"
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["redis_memory"]["limit_bytes"] == limit
    assert body["redis_memory"]["used_ratio"] > 0.8
    assert "Redis memory is at" in body["warnings"][0]


@pytest.mark.django_db
def test_readyz_names_a_supervised_process_restarting_in_a_loop(client, supervision_state):
    now = time.time()
    supervision_state({
        "web": {"state": "RUNNING", "pid": 10, "since": now - 5, "failures": 0, "exits": []},
        "worker": {"state": "FATAL", "failures": 4, "exits": [now - 9, now - 5, now - 2],
                   "restarts": 3, "last_exit": "exited while starting",
                   "next_start_at": now + 8},
        "beat": {"state": "RUNNING", "pid": 12, "since": now - 3, "failures": 1,
                 "exits": [now - 4], "restarts": 1},
    })
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["down"] == ["process:worker"]
    assert body["checks"]["process:worker"].startswith("restarting in a loop")
    assert body["checks"]["process:beat"].startswith("running (restarted after 1 exit")
    assert body["processes"]["worker"]["restarts"] == 3


def test_every_response_carries_a_request_id(client):
    response = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert response["X-Request-ID"] == "abc-123"
    fresh = client.get("/healthz")
    assert len(fresh["X-Request-ID"]) == 32


@pytest.mark.django_db
def test_openapi_schema_and_docs_are_served(admin_client):
    schema = admin_client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/workflows/{workflow_id}/publish/" in schema.content


@pytest.mark.django_db
def test_api_docs_page_uses_local_assets(admin_client):
    client = admin_client
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert b"cdn.jsdelivr" not in response.content
    assert b"/static/drf_spectacular_sidecar/" in response.content
