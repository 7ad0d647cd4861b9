"""The bench's store-only endpoint must stay what its figure claims: stores, applies nothing."""

import json

import pytest

from integration.link import signatures
from integration.models import Store, WebhookEvent
from tests.conftest import SECRET, store_connected

pytestmark = pytest.mark.django_db


def test_store_only_endpoint_stores_the_event_and_applies_nothing(client, settings):
    settings.ROOT_URLCONF = "tests.bench.urls"
    raw = json.dumps(store_connected()).encode()
    headers = {"HTTP_LINK_SIGNATURE": signatures.sign(raw, SECRET)}
    first = client.post("/bench/store-only/", data=raw, content_type="application/json", **headers)
    again = client.post("/bench/store-only/", data=raw, content_type="application/json", **headers)
    assert (first.status_code, first.json()["duplicate"]) == (200, False)
    assert (again.status_code, again.json()["duplicate"]) == (200, True)
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.RECEIVED
    assert not Store.objects.exists()
    bad = client.post("/bench/store-only/", data=raw, content_type="application/json", HTTP_LINK_SIGNATURE="t=1,v1=0")
    assert bad.status_code == 401
