"""Issue 11 row 13: store time zones are IANA names on every write; names carry no status text."""

import pytest

from dev.demo import DEMO_STORES
from integration.models import Store
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db


def _change(client, store, **fields):
    data = {
        "name": store.name,
        "venue_id": store.venue_id,
        "external_store_id": store.external_store_id or "",
        "timezone": store.timezone,
        "address": "{}",
        **fields,
    }
    return client.post(f"/admin/integration/store/{store.pk}/change/", data)


def test_admin_refuses_a_time_zone_that_is_not_iana(client, ops):
    store = StoreFactory(timezone="America/New_York")
    resp = _change(client, store, timezone="Mars/Olympus")
    assert resp.status_code == 200
    assert "is not an IANA time zone name" in resp.content.decode()
    store.refresh_from_db()
    assert store.timezone == "America/New_York"
    assert _change(client, store, timezone="Europe/Paris").status_code == 302
    store.refresh_from_db()
    assert store.timezone == "Europe/Paris"


def test_store_connected_refuses_a_time_zone_that_is_not_iana(post_event):
    from tests.conftest import store_connected

    resp = post_event(store_connected(timezone="Mars/Olympus"))
    assert resp.status_code == 400
    assert resp.json()["error"]["details"] == {"timezone": ["'Mars/Olympus' is not an IANA time zone."]}
    assert not Store.objects.exists()


def test_demo_store_names_carry_no_status_text():
    for store in DEMO_STORES:
        assert "(" not in store["name"] and "mapped" not in store["name"].lower()
