from datetime import timedelta
from io import StringIO

import pytest
import responses
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_fsm_log.models import StateLog

from integration.models import OutboundCall, Store
from integration.services.outbox.calls import call_deliver
from integration.services.stores import StoreActionRefused, store_pause, store_resume, store_resume_expired_pauses
from tests.conftest import LINK, envelope, store_connected
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db


def test_connect_then_reconnect_after_disconnect(post_event):
    post_event(store_connected("ven_1", "sf_1", name="Burger Barn"))
    post_event(envelope("store.disconnected", {"reason": "contract ended", "in_flight": "cancel"}))
    store = Store.objects.get()
    assert (store.state, store.disconnect_in_flight, store.disconnect_reason) == (
        "DISCONNECTED",
        "cancel",
        "contract ended",
    )
    post_event(store_connected("ven_1", "sf_1", name="Burger Barn II"))
    store.refresh_from_db()
    assert (store.state, store.name, store.disconnect_reason) == ("ACTIVE", "Burger Barn II", "")
    assert list(StateLog.objects.for_(store).values_list("state", flat=True)) == ["DISCONNECTED", "ACTIVE"]


def test_a_new_store_is_written_once(post_event):
    with CaptureQueriesContext(connection) as queries:
        post_event(store_connected("ven_1", "sf_1", name="Burger Barn"))
    on_store = [q["sql"].split()[0] for q in queries if 'integration_store"' in q["sql"].split(" WHERE ")[0]]
    assert on_store == ["SELECT", "SELECT", "INSERT"]  # the locked lookup, the storefront check, the row
    assert Store.objects.get().connected_at is not None


def test_connected_without_storefront_is_unmapped(post_event):
    post_event(store_connected("ven_9", None))
    store = Store.objects.get()
    assert store.external_store_id is None and not store.is_mapped


def test_ops_mapping_is_not_overwritten_by_a_reconnect(post_event):
    post_event(store_connected("ven_1", None))
    Store.objects.update(external_store_id="sf_ops")
    post_event(store_connected("ven_1", "sf_other"))
    assert Store.objects.get().external_store_id == "sf_ops"


def test_paused_and_resumed_by_link(post_event):
    post_event(store_connected())
    until = (timezone.now() + timedelta(hours=1)).replace(microsecond=0)
    post_event(envelope("store.paused", {"reason": "kitchen fire", "paused_until": until.isoformat()}))
    store = Store.objects.get()
    assert (store.state, store.pause_reason, store.pause_source, store.paused_until) == (
        "PAUSED",
        "kitchen fire",
        "LINK",
        until,
    )
    resp = post_event(envelope("store.resumed", {}))
    assert resp.json()["status"] == "PROCESSED"
    store.refresh_from_db()
    assert (store.state, store.pause_reason, store.paused_until) == ("ACTIVE", "", None)


def test_resume_of_an_active_store_is_ignored_with_reason(post_event):
    post_event(store_connected())
    resp = post_event(envelope("store.resumed", {}))
    assert resp.json()["status"] == "IGNORED"


def test_events_for_unknown_venue_are_ignored(post_event):
    resp = post_event(envelope("store.paused", {"reason": "x"}, venue_id="ven_nobody"))
    assert resp.status_code == 200 and resp.json()["status"] == "IGNORED"


def test_mp_pause_commits_state_and_outbound_call_together(no_broker, django_capture_on_commit_callbacks):
    user = User.objects.create(username="ops-ana")
    store = StoreFactory()
    until = timezone.now() + timedelta(hours=2)
    with django_capture_on_commit_callbacks(execute=True):
        store_pause(store, user=user, reason="short staffed", paused_until=until)
    store.refresh_from_db()
    assert (store.state, store.pause_source, store.paused_by) == ("PAUSED", "MP", user)
    call = OutboundCall.objects.get()
    assert call.kind == "pause_store" and call.path == f"/v2/venues/{store.venue_id}/pause"
    assert call.payload == {"reason": "short staffed", "paused_until": until.isoformat()}
    assert no_broker == [call.pk]
    log = StateLog.objects.for_(store).get()
    assert log.by == user and "short staffed" in log.description


def test_mp_pause_reaches_link_and_resume_follows(mocked_link):
    store = StoreFactory(venue_id="ven_1")
    mocked_link.add(responses.POST, f"{LINK}/v2/venues/ven_1/pause", json={"status": "PAUSED"})
    mocked_link.add(responses.POST, f"{LINK}/v2/venues/ven_1/resume", json={"status": "ACTIVE"})
    store_pause(store, reason="busy")
    store_resume(store)
    for call in OutboundCall.objects.order_by("pk"):
        call_deliver(call.pk)
    assert list(OutboundCall.objects.order_by("pk").values_list("kind", "status")) == [
        ("pause_store", "SUCCEEDED"),
        ("resume_store", "SUCCEEDED"),
    ]
    assert [c.request.url.rsplit("/", 1)[1] for c in mocked_link.calls if "/v2/" in c.request.url] == [
        "pause",
        "resume",
    ]


def test_pause_refused_for_disconnected_store_and_resume_for_active():
    with pytest.raises(StoreActionRefused, match="disconnected"):
        store_pause(StoreFactory(state=Store.State.DISCONNECTED), reason="x")
    with pytest.raises(StoreActionRefused, match="only a paused store"):
        store_resume(StoreFactory())
    assert not OutboundCall.objects.exists()


def test_expired_pause_windows_end(no_broker):
    mp = store_pause(StoreFactory(), reason="lunch", paused_until=timezone.now() + timedelta(hours=1))
    Store.objects.filter(pk=mp.pk).update(paused_until=timezone.now() - timedelta(seconds=1))
    link = StoreFactory(state=Store.State.PAUSED, pause_source="LINK", paused_until=timezone.now() - timedelta(1))
    assert store_resume_expired_pauses() == 2
    assert set(Store.objects.values_list("state", flat=True)) == {"ACTIVE"}
    assert list(OutboundCall.objects.order_by("pk").values_list("kind", flat=True)) == ["pause_store", "resume_store"]
    assert link.pk


def venue(rsps, venue_id, status, paused_until=None):
    rsps.add(
        responses.GET,
        f"{LINK}/v2/venues/{venue_id}",
        json={
            "venue_id": venue_id,
            "name": f"Store {venue_id}",
            "status": status,
            "paused_until": paused_until,
            "accepting_orders": status == "ACTIVE",
            "menu": None,
        },
    )


def test_sync_command_aligns_with_link_and_dry_run_changes_nothing(mocked_link):
    StoreFactory(venue_id="ven_a", name="Store ven_a")
    StoreFactory(venue_id="ven_b", name="Store ven_b", state=Store.State.PAUSED, pause_source="LINK")
    StoreFactory(venue_id="ven_c", name="Store ven_c")
    venue(mocked_link, "ven_a", "PAUSED")
    venue(mocked_link, "ven_b", "ACTIVE")
    venue(mocked_link, "ven_c", "ACTIVE")

    out = StringIO()
    call_command("link_sync_stores", "--dry-run", stdout=out, stderr=StringIO())
    assert "ven_a: would change ACTIVE -> PAUSED" in out.getvalue()
    assert "dry run: 2 changed, 1 in step" in out.getvalue()
    assert dict(Store.objects.values_list("venue_id", "state")) == {
        "ven_a": "ACTIVE",
        "ven_b": "PAUSED",
        "ven_c": "ACTIVE",
    }

    out = StringIO()
    call_command("link_sync_stores", stdout=out, stderr=StringIO())
    assert "2 changed, 1 in step, 0 skipped, 0 errors" in out.getvalue()
    assert dict(Store.objects.values_list("venue_id", "state")) == {
        "ven_a": "PAUSED",
        "ven_b": "ACTIVE",
        "ven_c": "ACTIVE",
    }
    assert Store.objects.get(venue_id="ven_a").link_status == "PAUSED"


def test_sync_leaves_a_store_alone_while_its_pause_is_in_flight(mocked_link):
    store = store_pause(StoreFactory(venue_id="ven_a"), reason="busy")
    venue(mocked_link, "ven_a", "ACTIVE")
    out = StringIO()
    call_command("link_sync_stores", "--venue", "ven_a", stdout=out, stderr=StringIO())
    assert "skipped, a pause/resume is still on its way" in out.getvalue()
    store.refresh_from_db()
    assert store.state == "PAUSED"


def test_sync_unknown_venue_names_the_fix():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match=r"store\.connected"):
        call_command("link_sync_stores", "--venue", "ven_nope", stdout=StringIO(), stderr=StringIO())


def test_sync_exits_non_zero_when_link_fails(mocked_link):
    StoreFactory(venue_id="ven_a")
    mocked_link.add(responses.GET, f"{LINK}/v2/venues/ven_a", status=404, json={"error": {"code": "not_found"}})
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="1 of 1 stores could not be read from Link") as exit_:
        call_command("link_sync_stores", stdout=StringIO(), stderr=StringIO())
    assert exit_.value.returncode == 1
