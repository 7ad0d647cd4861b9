"""``GET /metrics``: the token, and each metric moving when its event happens (issue 15)."""

import time

import pytest
import responses as responses_lib
from django.utils import timezone

from integration.models import OutboundCall
from integration.services.outbox.calls import call_deliver
from tests.conftest import LINK, store_connected
from tests.order_fixtures import link_takes, make_store, place, submit_call
from tests.scrape import moved, samples, value

pytestmark = pytest.mark.django_db

TOKEN = "scrape-me"


@pytest.fixture
def scrape(client, settings):
    settings.METRICS_TOKEN = TOKEN

    def get() -> dict:
        resp = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
        assert resp.status_code == 200 and resp["Content-Type"].startswith("text/plain")
        return samples(resp.content.decode())

    return get


def test_metrics_is_a_404_while_no_token_is_configured(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Token {TOKEN}", TOKEN])
def test_metrics_is_a_404_without_the_right_bearer_token(client, settings, header):
    settings.METRICS_TOKEN = TOKEN
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    resp = client.get("/metrics", **extra)
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "not_found"


def test_webhooks_counted_by_type_and_outcome(scrape, post_event):
    before = scrape()
    event = store_connected()
    assert post_event(event).status_code == 200
    assert post_event(event).status_code == 200  # Link's retry of the same event
    assert post_event({"id": "x"}, header="t=1,v1=00").status_code == 401
    after = scrape()
    name = "linkbridge_webhooks_received_total"
    assert moved(before, after, name, type="store.connected", outcome="processed") == 1
    assert moved(before, after, name, type="store.connected", outcome="duplicate") == 1
    assert moved(before, after, name, type="unknown", outcome="refused") == 1


def test_gauges_count_pending_calls_and_open_orders_from_the_database(scrape):
    make_store()
    place()
    place()
    scraped = scrape()
    assert value(scraped, "linkbridge_outbox_pending", kind="submit_order") == 2
    assert value(scraped, "linkbridge_outbox_pending", kind="cancel_order") == 0  # every kind is always there
    assert value(scraped, "linkbridge_orders", state="PENDING") == 2
    assert value(scraped, "linkbridge_orders", state="CONFIRMED") == 0
    assert value(scraped, "linkbridge_outbox_oldest_pending_seconds") >= 0
    OutboundCall.objects.update(status=OutboundCall.Status.SUCCEEDED)
    assert value(scrape(), "linkbridge_outbox_pending", kind="submit_order") == 0


def test_oldest_pending_call_age(scrape):
    make_store()
    place()
    OutboundCall.objects.update(created_at=timezone.now() - timezone.timedelta(minutes=5))
    assert 299 < value(scrape(), "linkbridge_outbox_oldest_pending_seconds") < 400


def test_trends_rollup_age(scrape):
    from integration.models import TrendRollup
    from integration.selectors.trend_hours import STALE
    from integration.services.ops.trends import trends_rollup

    assert "linkbridge_trends_rollup_age_seconds" not in {name for name, _ in scrape()}  # never ran: absent
    trends_rollup()
    assert 0 <= value(scrape(), "linkbridge_trends_rollup_age_seconds") < 60
    TrendRollup.objects.update(ran_at=timezone.now() - STALE - timezone.timedelta(minutes=1))  # the job stopped
    assert value(scrape(), "linkbridge_trends_rollup_age_seconds") > STALE.total_seconds()


def test_call_tries_and_submission_time_counted_once_committed(
    scrape, mocked_link, settings, django_capture_on_commit_callbacks
):
    make_store()
    order = place()
    before = scrape()
    mocked_link.add(responses_lib.POST, f"{LINK}/v2/orders", json={"error": {"code": "oops"}}, status=503)
    settings.LINK_RETRY_BASE = settings.LINK_RETRY_MAX = 0.3  # one try now, the next one due 0.15-0.3 s later
    with django_capture_on_commit_callbacks(execute=True):
        assert call_deliver(submit_call(order).pk, inline_wait=0) == 1
        time.sleep(settings.LINK_RETRY_MAX)  # the retry is due
        assert link_takes(mocked_link, order).link_order_id
    after = scrape()
    assert moved(before, after, "linkbridge_link_calls_total", kind="submit_order", outcome="retried") == 1
    assert moved(before, after, "linkbridge_link_calls_total", kind="submit_order", outcome="succeeded") == 1
    assert moved(before, after, "linkbridge_link_call_duration_seconds_count", kind="submit_order") == 2
    assert moved(before, after, "linkbridge_order_submit_seconds_count") == 1


def test_a_try_rolled_back_is_not_counted(scrape, mocked_link):
    """Without a commit (the test's transaction never commits) nothing is counted."""
    make_store()
    order = place()
    before = scrape()
    mocked_link.add(responses_lib.POST, f"{LINK}/v2/orders", json={"error": {"code": "bad"}}, status=422)
    call_deliver(submit_call(order).pk)
    assert submit_call(order).status == OutboundCall.Status.FAILED
    assert moved(before, scrape(), "linkbridge_link_calls_total") == 0
