"""Issue 23 rows H7 and H15: endpoint URLs with whitespace or control characters, IPv6 allow-list entries,
and loopback as an address (never a name that starts with 127.)."""

import pytest

from integration.link import routes
from integration.models import WebhookEndpoint
from tests.order_fixtures import api_client

pytestmark = pytest.mark.django_db

URL = "/api/v1/webhook-endpoints/"


@pytest.fixture(autouse=True)
def hosts(settings):
    settings.MP_WEBHOOK_HOSTS = ["hooks.mp.test", "127.0.0.1:9000"]


def create(client, url="https://hooks.mp.test/in", event_types=("order.ready",)):
    return client.post(URL, {"url": url, "event_types": list(event_types)}, format="json")


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.mp.test/in\tx",
        "https://hooks.mp.test/in\n",
        "https://hooks.\nmp.test/in",
        "https://hooks.mp.test/a b",
        "https://hooks.mp.test/in\r\nX-Injected: 1",
        "https://hooks.mp.test/\x1b[2J",
        "\thttps://hooks.mp.test/in",
    ],
    ids=["tab", "newline", "newline-in-host", "space", "crlf", "escape", "leading-tab"],
)
def test_h7_an_endpoint_url_with_whitespace_or_a_control_character_is_refused_up_front(url):
    client = api_client()
    answer = create(client, url=url)
    assert answer.status_code == 422, answer.json()
    error = answer.json()["error"]
    assert error["code"] == "url_not_allowed" and "whitespace or a control character" in error["message"]
    assert not WebhookEndpoint.objects.exists()
    endpoint_id = create(client).json()["id"]
    patched = client.patch(f"{URL}{endpoint_id}/", {"url": url}, format="json")
    assert patched.status_code == 422 and patched.json()["error"]["code"] == "url_not_allowed"
    assert WebhookEndpoint.objects.get().url == "https://hooks.mp.test/in"


@pytest.mark.parametrize(
    ("url", "hosts", "allowed"),
    [
        ("http://[::1]:9000/in", ["[::1]:9000"], True),
        ("https://[::1]/in", ["[::1]"], True),
        ("http://[::1]:9001/in", ["[::1]:9000"], False),
        ("https://[2001:db8::1]/in", ["[2001:db8::1]"], True),
        ("https://[2001:db8::1]:8443/in", ["[2001:db8::1]"], False),
        ("http://127.evil.example:9000/in", ["127.evil.example:9000"], False),
        ("https://127.evil.example:9000/in", ["127.evil.example:9000"], True),
        ("http://127.0.0.2:9000/in", ["127.0.0.2:9000"], True),
        ("http://localhost:9000/in", ["localhost:9000"], True),
        ("http://[::ffff:8.8.8.8]:9000/in", ["[::ffff:8.8.8.8]:9000"], False),
    ],
)
def test_h15_ipv6_entries_match_and_loopback_is_an_address_not_a_name(url, hosts, allowed):
    assert routes.host_allowed(url, hosts, "MP_WEBHOOK_HOSTS")[0] is allowed


def test_h15_a_name_that_starts_with_127_needs_https_through_the_api(settings):
    settings.MP_WEBHOOK_HOSTS = ["127.evil.example:9000", "[::1]:9000"]
    client = api_client()
    refused = create(client, url="http://127.evil.example:9000/in")
    assert refused.status_code == 422 and "https is required" in refused.json()["error"]["message"]
    assert create(client, url="http://[::1]:9000/in").status_code == 201
