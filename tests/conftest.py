import json
import os
import uuid

import pytest
import responses as responses_lib
from django.db import connection
from hypothesis import settings as hypothesis_settings

from integration.link import signatures
from integration.link.client import reset_client

LINK = "http://link.test"
SECRET = "whsec-test"

# CI replays the same examples on every run (derandomize: a seed fixed per test); locally they stay random.
hypothesis_settings.register_profile("ci", derandomize=True)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") == "true" else "default")


def pytest_collection_modifyitems(config, items):
    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (row locks, concurrency or real processes)")
    for item in items:
        if "postgres_only" in item.keywords or "e2e" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def link_settings(settings):
    settings.LINK_BASE_URL = LINK
    settings.LINK_CLIENT_ID = "mp-client"
    settings.LINK_CLIENT_SECRET = "mp-secret"
    settings.LINK_WEBHOOK_SECRETS = [SECRET]
    settings.LINK_MENU_HOSTS = ["link.test", "127.0.0.1"]
    settings.LINK_RETRY_BASE = 0.01
    settings.LINK_RETRY_MAX = 0.05
    settings.LINK_RETRY_INLINE_MAX = 1
    settings.MP_WEBHOOK_RETRY_INLINE_MAX = 1
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": False}
    reset_client()
    yield settings
    reset_client()


@pytest.fixture(autouse=True)
def empty_cache():
    """The cache outlives a test's database rollback: rate-limit counts and cached menu bodies start empty."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def no_broker(monkeypatch):
    """Unit and API tests record what would be enqueued instead of talking to django-q2."""
    enqueued = []
    monkeypatch.setattr(
        "integration.services.outbox.calls.call_enqueue", lambda call_id, kind=None: enqueued.append(call_id)
    )
    monkeypatch.setattr("integration.services.outbox.calls.drain_enqueue", lambda: enqueued.append("drain"))
    return enqueued


@pytest.fixture
def mocked_link():
    with responses_lib.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add(
            responses_lib.POST,
            f"{LINK}/oauth/token",
            json={"access_token": "tok-1", "token_type": "Bearer", "expires_in": 3600, "scope": "orders"},
        )
        yield rsps


def envelope(event_type: str, data: dict, *, venue_id: str = "ven_1", event_id: str | None = None, **extra) -> dict:
    return {
        "id": event_id or f"evt_{uuid.uuid4().hex[:12]}",
        "type": event_type,
        "created_at": "2026-11-27T12:00:00Z",
        "venue_id": venue_id,
        "data": data,
        **extra,
    }


def store_connected(venue_id="ven_1", external_store_id="sf_1", **data) -> dict:
    return envelope(
        "store.connected",
        {
            "name": data.pop("name", f"Store {venue_id}"),
            "timezone": data.pop("timezone", "America/New_York"),
            "address": {
                "line1": "1 Main St",
                "city": "Springfield",
                "region": "NY",
                "postal_code": "10001",
                "country": "US",
            },
            "external_store_id": external_store_id,
            **data,
        },
        venue_id=venue_id,
    )


@pytest.fixture
def post_event(client):
    """POST an event to the webhook endpoint, signed like Link signs it."""

    def post(body, *, secrets=(SECRET,), timestamp=None, header=None, raw: bytes | None = None):
        raw = raw if raw is not None else json.dumps(body).encode()
        sig = header if header is not None else signatures.sign(raw, list(secrets), timestamp)
        extra = {"HTTP_LINK_SIGNATURE": sig} if sig else {}
        return client.post("/link/webhooks/", data=raw, content_type="application/json", **extra)

    return post


@pytest.fixture(scope="session")
def django_db_createdb(django_db_createdb, django_db_keepdb, django_db_modify_db_settings):
    """``--reuse-db`` (pytest-django) keeps the test database between runs, but each transactional test ends by
    flushing it, which takes the rows the migrations wrote (the ops roles, the schedules) that some tests read:
    a reused database found flushed is built anew, as ``--create-db`` would."""
    if django_db_createdb or not django_db_keepdb or connection.vendor != "postgresql":
        return django_db_createdb
    import psycopg

    db = connection.settings_dict
    try:
        with psycopg.connect(
            dbname=connection.creation._get_test_db_name(),
            user=db.get("USER") or None,
            password=db.get("PASSWORD") or None,
            host=db.get("HOST") or None,
            port=db.get("PORT") or None,
            connect_timeout=5,
        ) as conn:
            return not conn.execute("SELECT EXISTS (SELECT 1 FROM auth_group)").fetchone()[0]
    except psycopg.Error:
        return django_db_createdb  # no test database yet (or not migrated): pytest-django builds it anyway
