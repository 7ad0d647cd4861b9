"""A deployment that runs the workers but not the deliveries' own cluster (the Procfile's ``webhooks``): endpoints
register and deliveries queue, and none ever goes. /readyz/ and the dashboard name it while an endpoint is enabled."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from django_q.models import Schedule

from integration import tasks
from integration.models import WebhookEndpoint, WorkerHeartbeat
from integration.services.ops import health
from tests.order_fixtures import api_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_checks(monkeypatch):
    monkeypatch.setattr(health, "_migrations_applied", True)


@pytest.fixture
def worker_swept():
    WorkerHeartbeat.objects.create(host="w1", beat_at=timezone.now())


def endpoint(enabled=True):
    return WebhookEndpoint.objects.create(
        client=api_user(), url="https://hooks.mp.test/in", event_types=["order.ready"], enabled=enabled
    )


def test_readiness_names_a_missing_deliveries_cluster_while_an_endpoint_is_enabled(client, worker_swept):
    assert client.get("/readyz/").status_code == 200  # no endpoint: nothing to deliver
    endpoint(enabled=False)
    assert client.get("/readyz/").status_code == 200
    endpoint()
    answer = client.get("/readyz/")
    assert answer.status_code == 503
    assert list(answer.json()["error"]["details"]) == ["webhooks"]
    why = answer.json()["error"]["details"]["webhooks"]
    assert settings.MP_WEBHOOK_CLUSTER in why and "webhooks" in why

    tasks.webhooks_heartbeat()  # what the deliveries' cluster runs every minute
    assert client.get("/readyz/").status_code == 200
    WorkerHeartbeat.objects.filter(host__startswith=health.WEBHOOKS_HEARTBEAT).update(
        beat_at=timezone.now() - timedelta(seconds=settings.READY_SWEEP_MAX_AGE + 1)
    )
    assert "webhooks" in client.get("/readyz/").json()["error"]["details"]


def test_the_deliveries_clusters_heartbeat_is_not_a_workers(client):
    tasks.webhooks_heartbeat()
    assert client.get("/readyz/").json()["error"]["details"] == {"worker": "no worker has swept the outbox yet"}


def test_the_dashboard_names_a_missing_deliveries_cluster(client, ops, worker_swept):
    endpoint()
    page = client.get("/admin/").content.decode()
    assert "deliveries-cluster" in page and settings.MP_WEBHOOK_CLUSTER in page
    tasks.webhooks_heartbeat()
    assert "deliveries-cluster" not in client.get("/admin/").content.decode()


def test_the_deliveries_cluster_runs_its_own_heartbeat_schedule(no_broker):
    """The sweep keeps a schedule for the deliveries' cluster; that cluster's own scheduler (only it takes schedules
    with its name) turns it into a task on its own queue, so a missing cluster never beats."""
    assert settings.Q_CLUSTER["ALT_CLUSTERS"][settings.MP_WEBHOOK_CLUSTER]["scheduler"] is True
    tasks.sweep()
    schedule = Schedule.objects.get(func="integration.tasks.webhooks_heartbeat")
    assert (schedule.cluster, schedule.schedule_type, schedule.minutes) == (settings.MP_WEBHOOK_CLUSTER, "I", 1)
    Schedule.objects.update(cluster="old-name-webhooks")
    tasks.sweep()
    assert Schedule.objects.get(func="integration.tasks.webhooks_heartbeat").cluster == settings.MP_WEBHOOK_CLUSTER
