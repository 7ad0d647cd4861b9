"""Availability in the console (issue 26): the store's page, the store list's figure, the dashboard panel, the
alert history."""

from datetime import timedelta

import pytest
from django.utils import timezone

from integration.models import Alert, AvailabilityChange, OutboundCall
from tests.factories import OutboundCallFactory, StoreFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def store():
    store = StoreFactory(name="Burger Barn", timezone="UTC")
    now = timezone.now()
    AvailabilityChange.objects.create(store=store, at=now - timedelta(days=3), cause="", hours=[])
    AvailabilityChange.objects.create(
        store=store, at=now - timedelta(days=2), cause="paused_by_ops", detail="no drivers", actor="ops: olivia"
    )
    AvailabilityChange.objects.create(store=store, at=now - timedelta(days=2, seconds=-600), cause="", hours=[])
    return store


def test_the_store_page_has_day_bars_gaps_and_csv(client, ops, store):
    page = client.get(f"/admin/integration/store/{store.pk}/availability/").content.decode()
    assert 'class="av-bar"' in page and "paused_by_ops: 600 s" in page
    assert "ops: olivia" in page and "no drivers" in page
    csv = client.get(f"/admin/integration/store/{store.pk}/availability/?format=csv").content.decode()
    header, *rows = csv.strip().splitlines()
    assert header.startswith("store,timezone,date,scheduled_seconds,accepting_seconds,paused_on_link")
    assert sum(int(r.split(",")[6]) for r in rows) == 600


def test_the_store_list_shows_the_weeks_figure_and_the_dashboard_the_worst(
    client, ops, store, django_assert_max_num_queries
):
    page = client.get("/admin/integration/store/").content.decode()
    assert "Available (7 days)" in page and f"/admin/integration/store/{store.pk}/availability/" in page
    dashboard = client.get("/admin/").content.decode()
    assert "Worst stores this week" in dashboard and "Burger Barn" in dashboard


def test_the_alert_history_and_an_undeliverable_alert(client, ops):
    alert = Alert.objects.create(
        rule="link_unreachable", subject="link", since=timezone.now(), title="Link is unreachable"
    )
    OutboundCallFactory(
        kind=OutboundCall.Kind.DELIVER_ALERT,
        path="http://hooks.example/x",
        status=OutboundCall.Status.FAILED,
        last_error="http_404",
        payload={
            "text": "[FIRING] Link is unreachable",
            "alert": {"state": "firing", "details": {"alert_id": alert.pk}},
        },
    )
    assert "Link is unreachable" in client.get("/admin/integration/alert/").content.decode()
    assert "[FIRING] Link is unreachable" in client.get(f"/admin/integration/alert/{alert.pk}/change/").content.decode()
    assert "could not be delivered" in client.get("/admin/").content.decode()
