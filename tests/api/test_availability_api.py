"""``/api/v1/stores/{id}/availability/`` and ``/api/v1/availability/`` (issue 26)."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from integration.models import AvailabilityChange
from integration.services.availability.rollup import availability_rollup, availability_rollup_live
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    user = get_user_model().objects.create(username="bi-service")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def store():
    store = StoreFactory(external_store_id="burger-barn", timezone="America/New_York")
    AvailabilityChange.objects.create(store=store, at=datetime(2026, 10, 1, tzinfo=UTC), cause="", hours=[])
    AvailabilityChange.objects.create(
        store=store, at=datetime(2026, 11, 30, 15, tzinfo=UTC), cause="paused_on_link", hours=[]
    )
    AvailabilityChange.objects.create(store=store, at=datetime(2026, 11, 30, 15, 10, tzinfo=UTC), cause="", hours=[])
    return store


def test_one_store_day_by_day(api, store):
    answer = api.get("/api/v1/stores/burger-barn/availability/?from=2026-11-29&to=2026-11-30")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["store"] == "burger-barn" and body["timezone"] == "America/New_York"
    assert [d["date"] for d in body["days"]] == ["2026-11-29", "2026-11-30"]
    monday = body["days"][1]
    assert monday["scheduled_seconds"] == 86400
    assert monday["unavailable_seconds"] == {
        "paused_on_link": 600,
        "paused_by_ops": 0,
        "disconnected": 0,
        "no_menu": 0,
        "link_unreachable": 0,
    }
    assert monday["accepting_seconds"] + sum(monday["unavailable_seconds"].values()) == monday["scheduled_seconds"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-12-07", "to"),
        ("from=2026-12-07&to=yesterday", "to"),
        ("from=2026-12-08&to=2026-12-07", "to"),
        ("from=2026-09-01&to=2026-12-07", "to"),  # 98 days
        ("from=2026-13-01&to=2026-12-07", "from"),
    ],
)
def test_bad_periods_answer_the_error_body(api, store, query, field):
    for url in ("/api/v1/stores/burger-barn/availability/", "/api/v1/availability/"):
        answer = api.get(f"{url}?{query}")
        assert answer.status_code == 400
        error = answer.json()["error"]
        assert error["code"] == "invalid_request" and field in error["details"]


def test_92_days_is_allowed_and_an_unknown_store_is_404(api, store):
    assert api.get("/api/v1/stores/burger-barn/availability/?from=2026-09-07&to=2026-12-07").status_code == 200
    answer = api.get("/api/v1/stores/nope/availability/?from=2026-12-07&to=2026-12-07")
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "store_not_found"


def test_every_store_worst_first_paginated(api, store):
    good = StoreFactory(external_store_id="good-eats", timezone="UTC")
    AvailabilityChange.objects.create(store=good, at=datetime(2026, 10, 1, tzinfo=UTC), cause="", hours=[])
    answer = api.get("/api/v1/availability/?from=2026-11-24&to=2026-11-30&limit=1")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["count"] == 2 and body["next"]
    (worst,) = body["results"]
    assert worst["store"] == "burger-barn" and worst["unavailable_seconds"]["paused_on_link"] == 600
    assert worst["accepting_seconds"] + sum(worst["unavailable_seconds"].values()) == worst["scheduled_seconds"]


def test_unauthenticated_is_refused(store):
    assert APIClient().get("/api/v1/availability/?from=2026-12-01&to=2026-12-07").status_code in (401, 403)


def test_today_up_to_now(api):
    store = StoreFactory(external_store_id="now-store", timezone="UTC")
    AvailabilityChange.objects.create(store=store, at=timezone.now() - timedelta(days=2), cause="", hours=[])
    today = timezone.now().date()
    body = api.get(f"/api/v1/stores/now-store/availability/?from={today}&to={today + timedelta(days=1)}").json()
    elapsed = (timezone.now() - datetime.combine(today, datetime.min.time(), tzinfo=UTC)).total_seconds()
    assert abs(body["days"][0]["scheduled_seconds"] - elapsed) < 5
    assert body["days"][1]["scheduled_seconds"] == 0
    assert date.fromisoformat(body["days"][0]["date"]) == today


def test_the_list_is_ranked_over_the_rollup_and_today_counts_as_of_the_live_rollup(api):
    """Pages are cut in SQL over the rolled-up days (today's as the 30-second live rollup left it); the figures
    on the page are exact up to now."""
    now = timezone.now()
    good = StoreFactory(external_store_id="good-eats", timezone="UTC")
    bad = StoreFactory(external_store_id="bad-bites", timezone="UTC")  # the later pk: pk order would put it last
    for s in (good, bad):
        AvailabilityChange.objects.create(store=s, at=now - timedelta(days=3), cause="", hours=[])
    AvailabilityChange.objects.create(store=bad, at=now - timedelta(minutes=30), cause="no_menu", hours=[])
    availability_rollup(now=now)
    availability_rollup_live(now=now)
    today = now.date()
    answer = api.get(f"/api/v1/availability/?from={today - timedelta(days=6)}&to={today}&limit=1")
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["count"] == 2
    (worst,) = body["results"]
    assert worst["store"] == "bad-bites" and worst["unavailable_seconds"]["no_menu"] >= 30 * 60  # up to now
    assert worst["accepting_seconds"] + sum(worst["unavailable_seconds"].values()) == worst["scheduled_seconds"]
    (second,) = api.get(f"/api/v1/availability/?from={today - timedelta(days=6)}&to={today}&offset=1").json()["results"]
    assert second["store"] == "good-eats" and sum(second["unavailable_seconds"].values()) == 0
