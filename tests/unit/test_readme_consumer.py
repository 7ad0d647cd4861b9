"""The integrators' guide's consumer example (docs/integrators.md, "Following orders") runs as written against a
real signed delivery."""

import re
from pathlib import Path

import pytest

from integration.models import NotificationEvent, WebhookEndpoint
from integration.services.mp_events import events as n
from integration.services.mp_events.deliveries import delivery_request
from tests.order_fixtures import api_user, link_takes, make_store, order_event, place

pytestmark = pytest.mark.django_db

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "integrators.md"


def consumer(secret: str) -> dict:
    section = GUIDE.read_text().split("## Following orders", 1)[1]
    (code,) = re.findall(r"```python\n(.*?)```", section.split("\n## ", 1)[0], re.S)
    namespace: dict = {}
    exec(compile(code.replace('"whsec_..."', repr(secret)), "docs/integrators.md", "exec"), namespace)
    return namespace


def test_the_readme_consumer_verifies_applies_once_and_refuses_a_forgery(mocked_link, capsys):
    make_store()
    client = api_user()
    endpoint = WebhookEndpoint.objects.create(
        client=client, url="https://hooks.mp.test/in", event_types=[n.ORDER_READY]
    )
    order = link_takes(mocked_link, place(user=client), "ord_1")
    order_event("order.ready", order, event_id="evt_r")
    on_delivery = consumer(endpoint.secret)["on_delivery"]

    submitted, ready = (delivery_request(endpoint, e) for e in NotificationEvent.objects.order_by("id"))
    assert on_delivery(*ready) == 204
    assert capsys.readouterr().out.split()[:3] == [n.ORDER_READY, order.external_order_id, "READY"]
    assert on_delivery(*submitted) == 204 and on_delivery(*ready) == 204  # older, then a repeat: not applied
    assert capsys.readouterr().out == ""
    body, headers = ready
    assert on_delivery(body.replace(b"READY", b"CANCELLED"), headers) == 400
