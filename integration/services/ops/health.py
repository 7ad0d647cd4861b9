"""Readiness: what keeps linkbridge from doing its work (database, Redis, migrations, no worker sweeping)."""

import socket
from datetime import timedelta

import redis
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Max
from django.utils import timezone

from integration.models import WorkerHeartbeat

_migrations_applied = False  # once true it stays true: this process's migrations cannot become unapplied
_redis_client = None


def worker_heartbeat_record() -> None:
    """The sweep says this worker host is alive (one row per host)."""
    WorkerHeartbeat.objects.update_or_create(host=socket.gethostname(), defaults={"beat_at": timezone.now()})


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
    last = WorkerHeartbeat.objects.aggregate(last=Max("beat_at"))["last"]
    if last is None:
        return "no worker has swept the outbox yet"
    if last < timezone.now() - timedelta(seconds=max_age):
        return f"no worker has swept the outbox in {max_age} s (last at {last:%Y-%m-%d %H:%M:%S} UTC)"
    return None


def readiness_problems() -> dict[str, str]:
    """What is wrong, by name (``database``, ``redis``, ``migrations``, ``worker``); empty when ready."""
    problems = {}
    if error := _database():
        return {"database": error}  # the other checks read the database
    if settings.REDIS_URL and (error := _redis()):
        problems["redis"] = error
    if error := _migrations():
        problems["migrations"] = error
    if error := _worker():
        problems["worker"] = error
    return problems
