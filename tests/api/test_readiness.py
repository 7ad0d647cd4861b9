"""``/healthz/`` (liveness, no database) and ``/readyz/`` (503 naming what is wrong), issue 15."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.utils import OperationalError
from django.utils import timezone

from integration import tasks
from integration.models import WorkerHeartbeat
from integration.services.ops import health

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_checks(monkeypatch):
    monkeypatch.setattr(health, "_migrations_applied", False)
    monkeypatch.setattr(health, "_redis_client", None)


def problems(resp) -> dict:
    assert resp.status_code == 503 and resp.json()["error"]["code"] == "not_ready"
    return resp.json()["error"]["details"]


def test_healthz_answers_without_touching_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert client.get("/healthz/").json() == {"status": "ok"}


def test_ready_once_a_worker_has_swept(client, no_broker):
    assert problems(client.get("/readyz/")) == {"worker": "no worker has swept the outbox yet"}
    tasks.sweep()
    resp = client.get("/readyz/")
    assert resp.status_code == 200 and resp.json() == {"status": "ready"}


def test_a_sweep_older_than_three_minutes_is_not_ready(client, settings):
    assert settings.READY_SWEEP_MAX_AGE == 180
    WorkerHeartbeat.objects.create(host="w1", beat_at=timezone.now() - timedelta(seconds=181))
    assert "no worker has swept the outbox in 180 s" in problems(client.get("/readyz/"))["worker"]
    WorkerHeartbeat.objects.create(host="w2", beat_at=timezone.now() - timedelta(seconds=60))
    assert client.get("/readyz/").status_code == 200  # one live worker host is enough


def test_unapplied_migrations_are_named(client):
    WorkerHeartbeat.objects.create(host="w1", beat_at=timezone.now())
    latest = next(name for app, name in MigrationLoader(connection).graph.leaf_nodes() if app == "integration")
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM django_migrations WHERE app = 'integration' AND name = %s", [latest])
    found = problems(client.get("/readyz/"))
    assert list(found) == ["migrations"] and f"1 not applied: integration.{latest}" == found["migrations"]


def test_configured_redis_that_does_not_answer(client, settings):
    WorkerHeartbeat.objects.create(host="w1", beat_at=timezone.now())
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    assert list(problems(client.get("/readyz/"))) == ["redis"]


def test_database_down_is_named_alone(client, monkeypatch):
    def down(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(health, "_query_database", down)
    found = problems(client.get("/readyz/"))
    assert list(found) == ["database"] and "connection refused" in found["database"]
