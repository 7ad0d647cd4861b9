"""Readiness: what keeps linkbridge from doing its work (database, Redis, migrations, no worker sweeping)."""

import socket
from datetime import timedelta

import redis
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Max
from django.utils import timezone

from integration.models import WebhookEndpoint, WorkerHeartbeat

_migrations_applied = False  # once true it stays true: this process's migrations cannot become unapplied
_redis_client = None


# Rows of the deliveries' own cluster (``MP_WEBHOOK_CLUSTER``) are named "webhooks:<host>"; the others are workers'.
WEBHOOKS_HEARTBEAT = "webhooks:"
WEBHOOKS_HEARTBEAT_SCHEDULE = "linkbridge-webhooks-heartbeat"


def worker_heartbeat_record() -> None:
    """The sweep says this worker host is alive (one row per host)."""
    WorkerHeartbeat.objects.update_or_create(host=socket.gethostname(), defaults={"beat_at": timezone.now()})


def webhooks_heartbeat_record() -> None:
    """The deliveries' cluster on this host is alive (its own schedule runs this on its own queue)."""
    WorkerHeartbeat.objects.update_or_create(
        host=f"{WEBHOOKS_HEARTBEAT}{socket.gethostname()}", defaults={"beat_at": timezone.now()}
    )


def webhooks_heartbeat_schedule_ensure() -> None:
    """The deliveries' cluster's heartbeat schedule, named for that cluster (``Q_NAME`` may change): django-q2's
    scheduler of that cluster, and only it, turns it into tasks on that cluster's queue (settings: its scheduler is
    on), so a deployment without the cluster records no heartbeat and queues nothing that piles up."""
    from django_q.models import Schedule

    cluster = settings.MP_WEBHOOK_CLUSTER
    if not Schedule.objects.filter(name=WEBHOOKS_HEARTBEAT_SCHEDULE, cluster=cluster).exists():
        Schedule.objects.update_or_create(
            name=WEBHOOKS_HEARTBEAT_SCHEDULE,
            defaults={
                "func": "integration.tasks.webhooks_heartbeat",
                "schedule_type": Schedule.MINUTES,
                "minutes": 1,
                "repeats": -1,
                "cluster": cluster,
            },
        )


def _query_database() -> None:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT 1")


def _database() -> str | None:
    try:
        _query_database()
    except Exception as exc:
        return f"unreachable: {type(exc).__name__}: {exc}".strip()[:300]
    return None


def _redis() -> str | None:
    global _redis_client
    if _redis_client is None:
        _redis_client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        _redis_client.ping()
    except redis.RedisError as exc:
        return f"unreachable: {type(exc).__name__}: {exc}"[:300]
    return None


def _migrations() -> str | None:
    global _migrations_applied
    if _migrations_applied:
        return None
    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        names = ", ".join(f"{m.app_label}.{m.name}" for m, _ in plan[:5])
        return f"{len(plan)} not applied: {names}{'...' if len(plan) > 5 else ''}"
    _migrations_applied = True
    return None


def _worker() -> str | None:
    max_age = settings.READY_SWEEP_MAX_AGE
    last = WorkerHeartbeat.objects.exclude(host__startswith=WEBHOOKS_HEARTBEAT).aggregate(last=Max("beat_at"))["last"]
    if last is None:
        return "no worker has swept the outbox yet"
    if last < timezone.now() - timedelta(seconds=max_age):
        return f"no worker has swept the outbox in {max_age} s (last at {last:%Y-%m-%d %H:%M:%S} UTC)"
    return None


def webhooks_cluster_problem() -> str | None:
    """While an endpoint is enabled, the deliveries' own cluster must be running (else deliveries queue and none
    goes): its heartbeat, every minute, within ``READY_SWEEP_MAX_AGE``."""
    if not WebhookEndpoint.objects.filter(enabled=True).exists():
        return None
    max_age, cluster = settings.READY_SWEEP_MAX_AGE, settings.MP_WEBHOOK_CLUSTER
    last = WorkerHeartbeat.objects.filter(host__startswith=WEBHOOKS_HEARTBEAT).aggregate(last=Max("beat_at"))["last"]
    start = (
        f"start the Procfile's webhooks process (manage.py qcluster with Q_CLUSTER_NAME={cluster}): "
        "deliveries to MP webhook endpoints wait until it runs"
    )
    if last is None:
        return f"the deliveries cluster {cluster} has never run; {start}"
    if last < timezone.now() - timedelta(seconds=max_age):
        since = f"last at {last:%Y-%m-%d %H:%M:%S} UTC"
        return f"the deliveries cluster {cluster} has not run in {max_age} s ({since}); {start}"
    return None


def readiness_problems() -> dict[str, str]:
    """What is wrong, by name (``database``, ``redis``, ``migrations``, ``worker``, ``webhooks``); empty when
    ready."""
    problems = {}
    if error := _database():
        return {"database": error}  # the other checks read the database
    if settings.REDIS_URL and (error := _redis()):
        problems["redis"] = error
    if error := _migrations():
        problems["migrations"] = error
    if error := _worker():
        problems["worker"] = error
    if error := webhooks_cluster_problem():
        problems["webhooks"] = error
    return problems
