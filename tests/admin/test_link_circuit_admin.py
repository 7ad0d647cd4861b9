"""Issue 12: the circuit's state, since when, held calls and the drain, on the outbound call list and
/metrics (the dashboard's Link health panel is tests/admin/test_link_health.py)."""

import re

import pytest
from django.utils import timezone

from integration.models import OutboundCall
from integration.services.outbox import circuit
from integration.services.outbox.backlog import backlog_release
from tests.factories import OutboundCallFactory
from tests.scrape import samples, value

pytestmark = pytest.mark.django_db

HOST = "link.test"
CALLS = "/admin/integration/outboundcall/"


@pytest.fixture
def outage(settings):
    """The circuit to link.test opened at a known time with two calls held and one draining elsewhere."""
    settings.LINK_CIRCUIT_FAILURES = 1
    circuit.circuit_record(HOST, circuit.Answer.DOWN, probe=False)
    since = timezone.now().replace(microsecond=0)
    circuit.circuit_store().change(HOST, lambda state: state.update(since=since.timestamp(), probes=3))
    held = [OutboundCallFactory(waiting_on=HOST, waiting_since=since) for _ in range(2)]
    OutboundCallFactory()  # not held
    return since, held


def circuit_row(html: str, host: str = HOST) -> str:
    return re.search(rf'<tr class="circuit[^"]*" data-host="{re.escape(host)}".*?</tr>', html, re.S).group(0)


def test_outbound_list_shows_the_open_circuit_since_when_and_its_held_calls(client, ops, outage):
    since, _ = outage
    row = circuit_row(client.get(CALLS).content.decode())
    assert 'data-state="open"' in row and 'data-waiting="2"' in row
    assert f"{since:%Y-%m-%d %H:%M:%S} UTC" in row and "3 so far" in row


def test_outbound_list_shows_the_drain_once_link_is_back(client, ops, outage, settings):
    settings.LINK_DRAIN_RATE = 0.1
    _, held = outage
    circuit.circuit_record(HOST, circuit.Answer.OK, probe=True)
    assert backlog_release(HOST) == len(held)
    OutboundCall.objects.filter(pk=held[0].pk).update(waiting_since=None)  # sent
    row = circuit_row(client.get(CALLS).content.decode())
    assert 'data-state="closed"' in row and "1 of 2 sent" in row


def test_outbound_list_shows_the_circuit_and_filters_held_calls(client, ops, outage):
    _, held = outage
    resp = client.get(CALLS, {"waiting": "held"})
    assert resp.status_code == 200
    assert {c.pk for c in resp.context["cl"].result_list} == {c.pk for c in held}
    assert 'data-waiting="2"' in circuit_row(resp.content.decode())


def test_support_sees_the_circuit_too(client, support, outage):
    assert 'data-state="open"' in circuit_row(client.get(CALLS).content.decode())


def test_metrics_show_the_circuit_and_its_backlog(client, settings, outage):
    settings.METRICS_TOKEN = "scrape-me"
    scraped = samples(client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-me").content.decode())
    assert value(scraped, "linkbridge_link_circuit_open", host=HOST) == 1
    assert value(scraped, "linkbridge_link_calls_waiting", host=HOST) == 2
    assert value(scraped, "linkbridge_link_circuit_probes", host=HOST) == 3
    assert value(scraped, "linkbridge_link_circuit_state_seconds", host=HOST) >= 0
    assert value(scraped, "linkbridge_link_drain_remaining", host=HOST) == 0
