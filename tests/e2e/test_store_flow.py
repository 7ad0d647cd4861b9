"""Issue 2 end to end: real gunicorn, a real django-q2 worker and the Link sandbox over HTTP."""

import pytest

from integration.models import OutboundCall, Store, WebhookEvent
from integration.services.stores import store_pause, store_resume
from tests.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.postgres_only]


def test_connect_pause_through_503s_and_recover_from_revoked_token(stack_factory):
    stack = stack_factory(sandbox_args=("--seed", "7", "--no-auto"))
    sandbox = stack.sandbox

    sandbox.connect_venue("ven_e2e", name="E2E Tacos", timezone="America/Chicago", external_store_id="sf_e2e")
    store = wait_for(lambda: Store.objects.filter(venue_id="ven_e2e").first(), what="store.connected to land")
    assert (store.name, store.timezone, store.external_store_id, store.state) == (
        "E2E Tacos",
        "America/Chicago",
        "sf_e2e",
        "ACTIVE",
    )
    assert WebhookEvent.objects.get(type="store.connected").status == "PROCESSED"

    # The MP pauses; Link answers 503 twice; the pause still arrives, once.
    sandbox.set_faults(fail_next=2, fail_status=503)
    store_pause(store, reason="no drivers tonight")
    call = wait_for(
        lambda: OutboundCall.objects.filter(kind="pause_store", status="SUCCEEDED").first(),
        timeout=30,
        what="the pause call to succeed",
    )
    assert call.attempts == 3
    assert list(call.call_attempts.values_list("status_code", flat=True)) == [503, 503, 200]
    pauses = sandbox.calls(method="POST", path_prefix="/v2/venues/ven_e2e/pause")
    assert [c["status"] for c in pauses] == [503, 503, 200]
    venue = sandbox.venue("ven_e2e")
    assert venue["status"] == "PAUSED" and venue["mp_pause_calls"] == 1

    # Link revokes the token; the next call gets a 401, fetches a new token and goes through.
    tokens_before = len(sandbox.calls(method="POST", path_prefix="/oauth/token"))
    sandbox.revoke_tokens()
    store_resume(Store.objects.get(pk=store.pk))
    wait_for(
        lambda: OutboundCall.objects.filter(kind="resume_store", status="SUCCEEDED").exists(),
        timeout=30,
        what="the resume call to succeed",
    )
    resumes = sandbox.calls(method="POST", path_prefix="/v2/venues/ven_e2e/resume")
    assert [c["status"] for c in resumes] == [401, 200]
    assert len(sandbox.calls(method="POST", path_prefix="/oauth/token")) == tokens_before + 1
    assert sandbox.venue("ven_e2e")["status"] == "ACTIVE"
    assert Store.objects.get(pk=store.pk).state == "ACTIVE"
