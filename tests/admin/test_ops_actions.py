"""Every admin action explains itself: asks what it needs, refuses plainly (saying what would work),
reports per object and leaves an admin log entry with the user, also when it did not happen."""

import zoneinfo
from datetime import timedelta

import pytest
import responses as responses_lib
from django.contrib.admin.models import LogEntry
from django.utils import timezone

from integration.models import Menu, Order, OutboundCall, Store, WebhookEvent
from tests.conftest import LINK
from tests.factories import OrderFactory, OutboundCallFactory, StoreFactory, WebhookEventFactory
from tests.order_fixtures import submit_call

pytestmark = pytest.mark.django_db


def act(client, model: str, action: str, objs, **form):
    data = {"action": action, "_selected_action": [o.pk for o in objs], **form}
    return client.post(f"/admin/integration/{model}/", data, follow=True).content.decode()


def logged(user, obj) -> list[str]:
    entries = LogEntry.objects.filter(user=user, object_id=str(obj.pk)).order_by("pk")
    return list(entries.values_list("change_message", flat=True))


def test_pause_form_asks_reason_and_until_and_tells_when_it_ends(client, ops, no_broker):
    store = StoreFactory()
    form = act(client, "store", "pause_stores", [store])
    assert 'name="reason"' in form and 'name="paused_until"' in form and str(store) in form
    end = timezone.now() + timedelta(hours=3)
    until = end.strftime("%Y-%m-%d %H:%M")
    done = act(client, "store", "pause_stores", [store], apply="1", reason="flooded", paused_until=until)
    local = end.astimezone(zoneinfo.ZoneInfo(store.timezone))  # said on the store's own clock
    said = f"it resumes by itself at {local:%Y-%m-%d %H:%M} {local.tzname()} (store time)"
    assert f"paused; Link is being told (see Outbound calls); {said}" in done
    again = act(client, "store", "pause_stores", [store], apply="1", reason="still flooded", paused_until="")
    assert "was paused already; reason and end updated" in again and "until someone resumes it" in again
    store.refresh_from_db()
    assert (store.pause_reason, store.paused_until) == ("still flooded", None)
    assert [m.split(";")[0] for m in logged(ops, store)] == ["Pause stores: paused", "Pause stores: was paused already"]


def test_pause_refuses_a_disconnected_store_and_logs_the_refusal(client, ops):
    store = StoreFactory(state=Store.State.DISCONNECTED)
    done = act(client, "store", "pause_stores", [store], apply="1", reason="x", paused_until="")
    assert "not done." in done and "only come back by Link reconnecting it" in done
    assert not OutboundCall.objects.exists()
    assert logged(ops, store)[0].startswith("Pause stores: not done:")


def test_resume_says_when_it_overrides_the_restaurants_own_pause(client, ops, no_broker):
    store = StoreFactory(state=Store.State.PAUSED, pause_source=Store.PauseSource.LINK, pause_reason="storm")
    done = act(client, "store", "resume_stores", [store])
    assert "resumed (the restaurant had paused it on Link); Link is being told" in done
    assert logged(ops, store) == [
        "Resume: resumed (the restaurant had paused it on Link); Link is being told (see Outbound calls)"
    ]


def test_sync_reports_links_answer_and_a_failure_per_store(client, ops, mocked_link):
    good, bad = StoreFactory(venue_id="ven_good"), StoreFactory(venue_id="ven_bad")
    mocked_link.add(
        responses_lib.GET,
        f"{LINK}/v2/venues/ven_good",
        json={"venue_id": "ven_good", "name": good.name, "status": "PAUSED", "paused_until": None},
    )
    mocked_link.add(
        responses_lib.GET,
        f"{LINK}/v2/venues/ven_bad",
        status=404,
        json={"error": {"code": "not_found", "message": "no such venue"}},
    )
    done = act(client, "store", "sync_stores", [good, bad])
    assert f"{good}: Link says PAUSED; ACTIVE -&gt; PAUSED" in done
    assert f"{bad}: not done. Link could not be asked (not_found: no such venue); nothing changed here." in done
    assert "Sync status: 1 done, 1 refused." in done
    assert logged(ops, bad)[0].startswith("Sync status: not done: Link could not be asked")


def test_cancel_twice_says_the_first_cancel_is_still_on_its_way(client, ops, mocked_link, no_broker):
    order = OrderFactory(link_order_id="ord_x")
    act(client, "order", "cancel_orders", [order], apply="1", reason_code="OTHER", reason="")
    again = act(client, "order", "cancel_orders", [order], apply="1", reason_code="FRAUD", reason="")
    assert "a cancel (OTHER) was already asked by ops-1 at" in again and "still waiting for Link" in again
    assert OutboundCall.objects.filter(order=order, kind="cancel_order").count() == 1


def test_reconcile_refuses_an_order_link_has_not_named_and_says_what_would_help(client, ops):
    order = OrderFactory()
    done = act(client, "order", "reconcile_orders", [order])
    assert "not done. not on Link yet (no Link order id); nothing to read." in done
    assert "retry the submission if it failed" in done
    assert logged(ops, order)[0].startswith("Reconcile: not done:")


def test_replay_refuses_an_event_already_applied(client, ops):
    event = WebhookEventFactory(type="store.paused", status=WebhookEvent.Status.IGNORED, status_reason="stale")
    done = act(client, "webhookevent", "replay", [event])
    assert "it was ignored already (stale); replaying it would change nothing" in done
    assert "link_replay_webhooks --force --ids" in done
    assert logged(ops, event)[0].startswith("Replay: not done:")


def test_retry_now_refuses_a_failed_submission_and_a_call_that_succeeded(client, ops, no_broker):
    order = OrderFactory(state=Order.State.FAILED, submit_call__status=OutboundCall.Status.FAILED)
    submit = submit_call(order)
    succeeded = OutboundCallFactory(status=OutboundCall.Status.SUCCEEDED)
    failed_pause = OutboundCallFactory(status=OutboundCall.Status.FAILED)
    done = act(client, "outboundcall", "retry_now", [submit, succeeded, failed_pause])
    assert "use &#x27;Retry submission&#x27; on the order" in done
    assert "it is succeeded; only a pending or failed call can be tried again." in done
    assert f"{failed_pause}: queued for an immediate try" in done
    submit.refresh_from_db()
    failed_pause.refresh_from_db()
    assert (submit.status, failed_pause.status) == (OutboundCall.Status.FAILED, OutboundCall.Status.PENDING)
    assert logged(ops, submit)[0].startswith("Retry now: not done:")


def test_refresh_menu_says_when_a_fetch_is_queued_already_and_refuses_a_disconnected_store(client, ops, no_broker):
    live, gone = StoreFactory(venue_id="ven_live"), StoreFactory(venue_id="ven_gone", state=Store.State.DISCONNECTED)
    menus = [Menu.objects.create(store=store, menu_id=f"men_{store.venue_id}") for store in (live, gone)]
    first = act(client, "menu", "refresh_menus", menus)
    call = OutboundCall.objects.get(kind="fetch_menu")
    assert f"fetch queued as outbound call #{call.pk}" in first
    assert "is disconnected from Link, which serves it no menu; it comes back when Link reconnects it" in first
    again = act(client, "menu", "refresh_menus", menus[:1])
    assert f"a fetch was queued already (outbound call #{call.pk})" in again
    assert logged(ops, menus[1])[0].startswith("Refresh menu: not done:")
    assert len(logged(ops, menus[0])) == 2


def test_retry_now_refuses_a_pause_since_undone_and_a_cancel_of_a_closed_order(client, ops, no_broker):
    store = StoreFactory()
    pause = OutboundCallFactory(store=store, kind="pause_store", status=OutboundCall.Status.FAILED)
    resume = OutboundCallFactory(store=store, kind="resume_store", status=OutboundCall.Status.SUCCEEDED)
    order = OrderFactory(state=Order.State.READY)
    cancel = OutboundCallFactory(order=order, kind="cancel_order", status=OutboundCall.Status.FAILED)
    done = act(client, "outboundcall", "retry_now", [pause, cancel])
    assert f"the store was paused or resumed again since (call #{resume.pk}); sending this one now would undo" in done
    assert "the order is ready now; there is nothing to cancel." in done
    assert set(OutboundCall.objects.filter(pk__in=[pause.pk, cancel.pk]).values_list("status", flat=True)) == {"FAILED"}


def messages_of(response) -> dict[str, str]:
    return {str(m): m.level_tag for m in response.context["messages"]}


def test_a_refusal_warns_and_an_unexpected_error_is_logged_with_its_traceback(
    client, ops, no_broker, monkeypatch, caplog
):
    from integration.admin import stores as store_admin

    broken, active, paused = (
        StoreFactory(state=Store.State.PAUSED),
        StoreFactory(),
        StoreFactory(state=Store.State.PAUSED),
    )
    real_resume = store_admin.store_resume

    def resume(store, **kwargs):
        if store.pk == broken.pk:
            raise KeyError("no pause row")
        return real_resume(store, **kwargs)

    monkeypatch.setattr(store_admin, "store_resume", resume)
    data = {"action": "resume_stores", "_selected_action": [broken.pk, active.pk, paused.pk]}
    with caplog.at_level("ERROR", logger="integration.admin.base"):
        response = client.post("/admin/integration/store/", data, follow=True)
    shown = messages_of(response)
    error = f"{broken}: failed with an unexpected error (KeyError: 'no pause row'); it is logged with its traceback."
    assert shown[error] == "error"
    refusal = next(text for text in shown if text.startswith(f"{active}: not done."))
    assert shown[refusal] == "warning" and "only a paused store can be resumed" in refusal
    assert shown[f"{paused}: resumed; Link is being told (see Outbound calls)"] == "success"
    assert shown["Resume: 1 done, 1 refused, 1 failed."] == "info"
    (record,) = caplog.records
    assert record.getMessage() == f"admin action 'Resume' on {broken} failed" and record.exc_info[0] is KeyError
    assert "raise KeyError" in caplog.text  # the traceback
    assert logged(ops, broken) == ["Resume: failed: KeyError: 'no pause row'"]
    assert Store.objects.get(pk=paused.pk).state == Store.State.ACTIVE


def test_link_not_answering_is_a_refusal_not_an_error(client, ops, mocked_link):
    store = StoreFactory(venue_id="ven_down")
    mocked_link.add(responses_lib.GET, f"{LINK}/v2/venues/ven_down", status=503, json={})
    response = client.post(
        "/admin/integration/store/", {"action": "sync_stores", "_selected_action": [store.pk]}, follow=True
    )
    ((text, level),) = messages_of(response).items()
    assert level == "warning" and text.startswith(f"{store}: not done. Link could not be asked")
