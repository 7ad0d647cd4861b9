import dataclasses
import logging

import pytest
import responses

from integration.link.client import LinkResponse, PermanentError
from integration.models import CallAttempt, OutboundCall
from integration.services.outbox import calls as outbound
from integration.services.outbox import kinds as call_kinds
from integration.services.outbox.calls import call_create, call_deliver
from integration.services.outbox.kinds import CALL_KINDS, CallKind, UnregisteredCallKind, link_channel
from tests.conftest import LINK
from tests.factories import OutboundCallFactory

pytestmark = pytest.mark.django_db

PAUSE_URL = f"{LINK}/v2/venues/ven_1/pause"


def with_kind(monkeypatch, name=OutboundCall.Kind.PAUSE_STORE, **changes) -> CallKind:
    kind = dataclasses.replace(CALL_KINDS[name], **changes)
    monkeypatch.setitem(CALL_KINDS, name, kind)
    return kind


def test_every_kind_is_registered():
    assert set(CALL_KINDS) == set(OutboundCall.Kind.values)
    assert all(name == kind.kind for name, kind in CALL_KINDS.items())


def test_call_create_refuses_an_unregistered_kind():
    with pytest.raises(UnregisteredCallKind, match="'read_order' is not registered"):
        call_create(kind="read_order", method="GET", path="/v2/orders/o_1")
    assert not OutboundCall.objects.exists()


def test_call_send_refuses_an_unregistered_kind(mocked_link):
    call = OutboundCallFactory(kind="read_venue", path="/v2/venues/ven_1")
    with pytest.raises(UnregisteredCallKind):
        outbound.call_send(outbound.call_claim(call.pk))
    assert not CallAttempt.objects.exists()
    assert not [c for c in mocked_link.calls if "/v2/" in c.request.url]


def test_a_kind_takes_its_deadline_from_its_setting(settings):
    settings.LINK_SUBMIT_DEADLINE, settings.LINK_CALL_DEADLINE = 300, 3600
    assert CALL_KINDS[OutboundCall.Kind.SUBMIT_ORDER].deadline_seconds == 300
    call = call_create(kind=OutboundCall.Kind.PAUSE_STORE, method="POST", path="/v2/venues/v/pause")
    assert 3590 < (call.deadline - call.created_at).total_seconds() <= 3600


def test_a_success_handler_may_reject_the_answer(mocked_link, monkeypatch):
    failures = []
    with_kind(
        monkeypatch, on_success=lambda call, response: "the answer names another venue", on_failure=failures.append
    )
    mocked_link.add(responses.POST, PAUSE_URL, json={"status": "PAUSED"})
    call = OutboundCallFactory()
    assert call_deliver(call.pk) == 1
    call.refresh_from_db()
    assert call.status == OutboundCall.Status.FAILED and call.last_error == "the answer names another venue"
    assert call.completed_at is not None and call.response == {"status": "PAUSED"}
    assert failures == []  # the success handler already reacted to the answer
    assert call.call_attempts.get().outcome == CallAttempt.Outcome.SUCCESS


def test_a_raising_handler_keeps_the_attempt_and_leaves_the_call_pending(mocked_link, monkeypatch, caplog):
    def broken(call, response):
        OutboundCall.objects.filter(pk=call.pk).update(payload={"written": "by the handler"})
        raise RuntimeError("handler bug")

    with_kind(monkeypatch, on_success=broken)
    mocked_link.add(responses.POST, PAUSE_URL, json={"status": "PAUSED"})
    call = OutboundCallFactory()
    with caplog.at_level(logging.ERROR, logger="integration.services.outbox.calls"):
        assert call_deliver(call.pk) == 1
    assert "RuntimeError: handler bug" in caplog.text  # logged with its traceback
    attempt = call.call_attempts.get()
    assert attempt.outcome == CallAttempt.Outcome.SUCCESS and attempt.status_code == 200
    assert "applying the answer failed: RuntimeError('handler bug')" in attempt.error
    call.refresh_from_db()
    assert call.status == OutboundCall.Status.PENDING and call.claimed_until is None
    assert call.last_error == "applying the answer failed: RuntimeError('handler bug')"
    assert call.last_status_code == 200 and call.payload != {"written": "by the handler"}  # handler rolled back
    assert call.next_attempt_at > attempt.started_at  # the sweep tries again after a backoff

    with_kind(monkeypatch, on_success=None)
    OutboundCall.objects.filter(pk=call.pk).update(next_attempt_at=attempt.started_at)
    assert call_deliver(call.pk) == 1
    call.refresh_from_db()
    assert call.status == OutboundCall.Status.SUCCEEDED and call.call_attempts.count() == 2


def test_a_raising_failure_handler_keeps_the_attempt(mocked_link, monkeypatch):
    def broken(call, reason):
        raise ValueError("cannot apply")

    with_kind(monkeypatch, on_failure=broken)
    mocked_link.add(responses.POST, PAUSE_URL, status=404, json={"error": {"code": "not_found", "message": "x"}})
    call = OutboundCallFactory()
    call_deliver(call.pk)
    attempt = call.call_attempts.get()
    assert attempt.outcome == CallAttempt.Outcome.PERMANENT
    assert attempt.error.startswith("not_found: x; applying the answer failed: ValueError")
    call.refresh_from_db()
    assert call.status == OutboundCall.Status.PENDING and "ValueError('cannot apply')" in call.last_error


def test_a_kind_may_bring_its_own_sender(mocked_link, monkeypatch):
    sent = []

    def send(call, kind):
        sent.append((call.pk, kind.kind))
        if len(sent) == 1:
            raise PermanentError("gone", "endpoint said 410", status_code=410, request={"url": "https://mp.test/hook"})
        return LinkResponse(200, {"ok": True}, '{"ok": true}', {"url": "https://mp.test/hook", "headers": {}})

    with_kind(monkeypatch, send=send)
    first, second = OutboundCallFactory(), OutboundCallFactory()
    call_deliver(first.pk)
    call_deliver(second.pk)
    assert sent == [(first.pk, "pause_store"), (second.pk, "pause_store")]
    assert not [c for c in mocked_link.calls if "/v2/" in c.request.url]  # the Link client was not used
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.last_status_code) == (OutboundCall.Status.FAILED, 410)
    assert second.status == OutboundCall.Status.SUCCEEDED and second.response == {"ok": True}
    assert second.call_attempts.get().request_url == "https://mp.test/hook"


def test_the_default_channel_is_the_link_host():
    assert link_channel(OutboundCall(path="/v2/venues/ven_1/pause")) == "link.test"
    assert link_channel(OutboundCall(path="https://menus.link.test:8443/m.json")) == "menus.link.test:8443"
    link_kinds = [kind for kind in CALL_KINDS.values() if kind.to_link]
    assert all(kind.channel is link_channel for kind in link_kinds)
    assert CALL_KINDS[OutboundCall.Kind.DELIVER_EVENT].channel(OutboundCall(endpoint_id=7)) == "mp-webhook-endpoint-7"


def test_ordered_kinds_come_from_the_registry():
    assert sorted(call_kinds.ordered_kinds("store-availability")) == ["pause_store", "resume_store"]
