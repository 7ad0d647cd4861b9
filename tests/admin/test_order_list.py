"""Issue 13: the order list's partial search, date range and CSV export of what it shows."""

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.utils import timezone

from integration.models import ConsoleUser, Order
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db

LIST = "/admin/integration/order/"


@pytest.fixture
def orders():
    store = StoreFactory(name="Pho Place")
    now = timezone.now()
    make = lambda name, phone, days: Order.objects.create(  # noqa: E731
        store=store, customer_name=name, customer_phone=phone, placed_at=now - timedelta(days=days), total=1250
    )
    return {
        "ada": make("Ada Lovelace", "+15555550100", 0),
        "adam": make("Adam Smith", "+15555550199", 3),
        "bob": make("Bob Jones", "+442071234567", 10),
    }


def listed(client, query: str, orders) -> set[str]:
    html = client.get(f"{LIST}?{query}").content.decode()
    return {key for key, order in orders.items() if order.external_order_id in html}


def test_partial_name_and_phone_search(client, ops, orders):
    assert listed(client, "q=ada", orders) == {"ada", "adam"}
    assert listed(client, "q=LOVE", orders) == {"ada"}
    assert listed(client, "q=0199", orders) == {"adam"}
    assert listed(client, "q=%2B44+20+7123", orders) == {"bob"}  # spaces and + ignored: digits
    assert listed(client, "q=ad", orders) == set()  # two letters: only exact ids and codes


@pytest.mark.filterwarnings("error::RuntimeWarning")  # Django warns of naive datetimes; the form's days are UTC
def test_the_date_range_is_in_the_viewers_days(client, ops):
    store = StoreFactory(name="Pho Place")
    at = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)  # Dec 1 in UTC, still Nov 30 in New York
    order = Order.objects.create(store=store, customer_name="Ada", customer_phone="+15555550100", placed_at=at, total=1)
    query = "placed_at__gte=2026-12-01&placed_at__lt=2026-12-02"
    assert order.external_order_id in client.get(f"{LIST}?{query}").content.decode()  # default zone: UTC
    ConsoleUser.objects.create(user=ops, time_zone="America/New_York")
    assert order.external_order_id not in client.get(f"{LIST}?{query}").content.decode()
    assert (
        order.external_order_id
        in client.get(f"{LIST}?placed_at__gte=2026-11-30&placed_at__lt=2026-12-01").content.decode()
    )


@pytest.mark.filterwarnings("error::RuntimeWarning")  # Django warns of naive datetimes; the form's days are UTC
def test_date_range(client, ops, orders):
    today = timezone.now().date()
    since = (today - timedelta(days=5)).isoformat()
    assert listed(client, f"placed_at__gte={since}", orders) == {"ada", "adam"}
    until = (today - timedelta(days=1)).isoformat()
    assert listed(client, f"placed_at__gte={since}&placed_at__lt={until}", orders) == {"adam"}
    html = client.get(f"{LIST}?placed_at__gte={since}&q=ada").content.decode()
    assert f'name="placed_at__gte" value="{since}"' in html and 'name="q" value="ada"' in html
    assert client.get(f"{LIST}?placed_at__gte=2026-13-45")["Location"] == f"{LIST}?e=1"  # Django: bad filter


def test_csv_export_has_exactly_the_filtered_orders(client, ops, orders):
    since = (timezone.now().date() - timedelta(days=5)).isoformat()
    html = client.get(f"{LIST}?q=ada&placed_at__gte={since}").content.decode()
    link = unescape(re.search(r'<a href="([^"]+)" id="export-csv"', html).group(1))
    assert parse_qs(urlsplit(link).query) == {"q": ["ada"], "placed_at__gte": [since]}
    response = client.get(link)
    assert response["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert {row["customer_name"] for row in rows} == {"Ada Lovelace", "Adam Smith"}
    assert {row["total"] for row in rows} == {"12.50"} and {row["store"] for row in rows} == {"Pho Place"}


def test_csv_export_needs_the_right_to_read_orders(client, django_user_model, orders):
    client.force_login(django_user_model.objects.create_user("nobody", password="pw", is_staff=True))
    assert client.get(f"{LIST}export.csv").status_code == 403


@pytest.mark.postgres_only
@pytest.mark.parametrize(
    ("lookup", "index"),
    [
        ({"customer_name__icontains": "love"}, "order_customer_name_trgm"),
        ({"customer_phone__contains": "5501"}, "order_customer_phone_trgm"),
    ],
)
def test_partial_search_can_use_its_trigram_index(orders, lookup, index):
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = Order.objects.filter(**lookup).explain()
    assert index in plan
