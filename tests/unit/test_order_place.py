"""Placing an order: menu checks (every 422 reason), prices and tax from the menu, store acceptance."""

import hashlib
import json
from datetime import timedelta

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from integration.api.orders import OrderRequestSerializer
from integration.models import Menu, MenuItem, Order, OutboundCall
from integration.services.orders.errors import OrderInvalid, StoreNotAccepting
from tests.order_fixtures import burger_line, make_store, mod, order_request, place, submit_call

pytestmark = pytest.mark.django_db


@pytest.fixture
def store():
    return make_store()


def problems(body) -> list[tuple[str, str]]:
    with pytest.raises(OrderInvalid) as exc:
        place(body)
    assert exc.value.code == "invalid_order"
    assert all(d["message"] for d in exc.value.details)
    return [(d["field"], d["code"]) for d in exc.value.details]


def test_contract_example_is_priced_from_the_menu(store):
    order = place()
    assert (order.subtotal, order.tax, order.tip, order.total, order.currency) == (2098, 184, 300, 2582, "USD")
    assert order.state == Order.State.PENDING and order.menu_version == 1
    line = order.lines.get()
    assert (line.item_price, line.unit_price, line.quantity, line.line_total, line.tax) == (899, 1049, 2, 2098, 184)
    assert line.modifiers[1] == {
        "modifier_id": "mod_bacon",
        "group_id": "mg_addons",
        "name": "Bacon",
        "quantity": 1,
        "unit_price": 150,
        "modifiers": [],
    }


def test_prices_sent_by_the_caller_are_ignored(store):
    line = burger_line()
    line["unit_price"] = 1
    line["price"] = 1
    line["modifiers"][1]["unit_price"] = 0
    body = order_request(items=[line], totals={"subtotal": 1, "tax": 0, "total": 1}, subtotal=5, total=5)
    order = place(body)
    assert (order.subtotal, order.tax, order.total) == (2098, 184, 2582)
    assert order.lines.get().unit_price == 1049


def test_nested_modifiers_are_priced_per_unit_of_their_parent(store):
    double = mod("mod_double", "mg_size", modifiers=[mod("mod_extra_patty_cheese", "mg_double_extras")])
    body = order_request(
        items=[
            burger_line(quantity=3, modifiers=[double, mod("mod_cheese", "mg_addons", quantity=2)]),
            {"item_id": "itm_soda", "quantity": 2},
        ]
    )
    order = place(body)
    burger, soda = order.lines.order_by("position")
    # 899 + (300 + 50) + 2 x 100 = 1449 per burger
    assert (burger.unit_price, burger.line_total) == (1449, 4347)
    assert burger.modifiers[0]["modifiers"][0]["modifier_id"] == "mod_extra_patty_cheese"
    assert (soda.line_total, soda.tax) == (398, 0)
    assert order.subtotal == 4347 + 398


@pytest.mark.parametrize(
    ("line_total_cents", "rate", "tax"),
    [(2098, "0.0875", 184), (200, "0.0875", 18), (1000, "0.0825", 83), (40, "0.0625", 3), (8, "0.0625", 1)],
    ids=["contract", "17.5-rounds-up", "82.5-rounds-up", "2.5-rounds-up", "0.5-rounds-up"],
)
def test_tax_is_per_line_half_up(store, line_total_cents, rate, tax):
    MenuItem.objects.filter(link_id="itm_soda").update(price=line_total_cents, tax_rate=rate)
    order = place(order_request(items=[{"item_id": "itm_soda", "quantity": 1}], tip=0))
    assert order.tax == tax and order.total == line_total_cents + tax


def test_tax_is_rounded_per_line_not_per_order(store):
    MenuItem.objects.filter(link_id="itm_soda").update(price=40, tax_rate="0.0625")  # 2.5 cents per line
    order = place(order_request(items=[{"item_id": "itm_soda", "quantity": 1}] * 2, tip=0))
    assert order.tax == 6  # 3 + 3, not round(5.0) = 5


def test_order_is_created_with_its_submit_call_in_the_same_transaction(
    store, no_broker, settings, django_capture_on_commit_callbacks
):
    settings.LINK_SUBMIT_DEADLINE = 300
    with django_capture_on_commit_callbacks(execute=True):
        order = place()
    call = submit_call(order)
    assert call.status == OutboundCall.Status.PENDING and call.attempts == 0
    assert call.idempotency_key == order.external_order_id
    assert (call.method, call.path) == ("POST", "/v2/orders")
    assert 299 <= (call.deadline - call.created_at).total_seconds() <= 301
    assert no_broker == [call.pk]  # enqueued once the transaction committed


def test_store_by_venue_id_works_too(store):
    assert place(order_request(store="ven_1")).store == store


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (order_request(store="sf_nope"), [("store", "unknown")]),
        (order_request(items=[{"item_id": "itm_nope", "quantity": 1}]), [("items[0].item_id", "unknown")]),
        (order_request(items=[{"item_id": "itm_special", "quantity": 1}]), [("items[0].item_id", "unavailable")]),
        (order_request(items=[{"item_id": "itm_soda", "quantity": 0}]), [("items[0].quantity", "out_of_range")]),
        (order_request(items=[{"item_id": "itm_soda", "quantity": 100}]), [("items[0].quantity", "out_of_range")]),
        (
            order_request(items=[burger_line(modifiers=[mod("mod_single", "mg_size"), mod("mod_nope", "mg_addons")])]),
            [("items[0].modifiers[1].modifier_id", "unknown")],
        ),
        (
            order_request(items=[burger_line(modifiers=[mod("mod_single", "mg_size"), mod("mod_egg", "mg_addons")])]),
            [("items[0].modifiers[1].modifier_id", "unavailable")],
        ),
        (
            order_request(items=[burger_line(modifiers=[mod("mod_single", "mg_size"), mod("mod_mayo", "mg_addons")])]),
            [("items[0].modifiers[1].modifier_id", "not_in_group")],
        ),
        (
            order_request(items=[burger_line(modifiers=[mod("mod_single", "mg_size"), mod("mod_mayo", "mg_sauce")])]),
            [("items[0].modifiers[1].group_id", "not_offered")],
        ),
        (
            order_request(items=[burger_line(modifiers=[mod("mod_bacon", "mg_addons")])]),
            [("items[0].modifiers", "group_min")],
        ),
        (
            order_request(items=[burger_line(modifiers=[mod("mod_single", "mg_size"), mod("mod_double", "mg_size")])]),
            [("items[0].modifiers", "group_max")],
        ),
        (
            order_request(
                items=[
                    burger_line(
                        modifiers=[
                            mod("mod_single", "mg_size"),
                            mod("mod_bacon", "mg_addons", 2),
                            mod("mod_cheese", "mg_addons", 2),
                        ]
                    )
                ]
            ),
            [("items[0].modifiers", "group_max")],
        ),
        (
            order_request(
                items=[
                    burger_line(
                        modifiers=[
                            mod("mod_single", "mg_size", modifiers=[mod("mod_extra_patty_cheese", "mg_double_extras")])
                        ]
                    )
                ]
            ),
            [("items[0].modifiers[0].modifiers[0].group_id", "not_offered")],
        ),
        (
            order_request(
                items=[
                    burger_line(
                        modifiers=[
                            mod(
                                "mod_double",
                                "mg_size",
                                modifiers=[mod("mod_extra_patty_cheese", "mg_double_extras", 2)],
                            )
                        ]
                    )
                ]
            ),
            [("items[0].modifiers[0].modifiers", "group_max")],
        ),
        (
            order_request(items=[burger_line(modifiers=[mod("mod_single", "mg_size", quantity=0)])]),
            [("items[0].modifiers[0].quantity", "out_of_range"), ("items[0].modifiers", "group_min")],
        ),
        (order_request(tip=-1), [("tip", "out_of_range")]),
        (
            order_request(fulfillment={"type": "delivery", "scheduled_for": "2001-01-01T12:00:00Z"}),
            [("fulfillment.scheduled_for", "in_past")],
        ),
    ],
    ids=[
        "unknown-store",
        "unknown-item",
        "unavailable-item",
        "quantity-zero",
        "quantity-over-99",
        "unknown-modifier",
        "unavailable-modifier",
        "modifier-not-in-group",
        "group-not-offered-for-item",
        "required-group-missing",
        "group-max-exceeded",
        "group-max-counts-quantities",
        "nested-under-wrong-parent",
        "nested-group-max",
        "modifier-quantity-zero",
        "negative-tip",
        "scheduled-in-the-past",
    ],
)
def test_each_422_reason(store, body, expected):
    assert problems(body) == expected
    assert not Order.objects.exists() and not OutboundCall.objects.exists()


def test_all_problems_are_reported_at_once(store):
    body = order_request(
        items=[
            {"item_id": "itm_nope", "quantity": 1},
            burger_line(modifiers=[mod("mod_egg", "mg_addons")]),
            {"item_id": "itm_special", "quantity": 100},
        ]
    )
    assert problems(body) == [
        ("items[0].item_id", "unknown"),
        ("items[1].modifiers[0].modifier_id", "unavailable"),
        ("items[1].modifiers", "group_min"),
        ("items[2].quantity", "out_of_range"),
        ("items[2].item_id", "unavailable"),
    ]


def test_group_without_maximum_takes_any_number(store):
    fries = {
        "item_id": "itm_fries",
        "quantity": 1,
        "modifiers": [mod("mod_ketchup", "mg_sauce", 5), mod("mod_mayo", "mg_sauce", 4)],
    }
    order = place(order_request(items=[fries]))
    assert order.lines.get().unit_price == 399 + 4 * 25


def test_items_of_another_stores_menu_are_unknown(store):
    other = make_store("ven_2", "sf_2")
    MenuItem.objects.filter(menu__store=other, link_id="itm_soda").update(link_id="itm_only_at_2")
    assert problems(order_request(items=[{"item_id": "itm_only_at_2", "quantity": 1}])) == [
        ("items[0].item_id", "unknown")
    ]


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"state": "PAUSED", "pause_reason": "kitchen on fire"}, "paused: kitchen on fire"),
        ({"state": "DISCONNECTED"}, "disconnected from Link"),
        ({"external_store_id": None}, "unknown"),
    ],
    ids=["paused", "disconnected", "unmapped"],
)
def test_store_that_does_not_accept_orders(store, change, why):
    type(store).objects.filter(pk=store.pk).update(**change)
    if why == "unknown":  # an unmapped store cannot be named by its storefront id
        assert problems(order_request()) == [("store", "unknown")]
        with pytest.raises(StoreNotAccepting, match="not mapped"):
            place(order_request(store="ven_1"))
        return
    with pytest.raises(StoreNotAccepting) as exc:
        place()
    assert exc.value.details["reason"] == why and not Order.objects.exists()


def test_store_without_a_published_menu_does_not_accept_orders(store):
    Menu.objects.filter(store=store).update(state=Menu.State.UNPUBLISHED)
    with pytest.raises(StoreNotAccepting, match="no published menu"):
        place()


def test_future_scheduled_order_is_kept(store):
    when = (timezone.now() + timedelta(hours=2)).replace(microsecond=0)
    order = place(order_request(fulfillment={"type": "delivery", "scheduled_for": when.isoformat()}))
    assert order.scheduled_for == when and order.fulfillment_type == "delivery"


def test_the_request_hash_is_the_validated_body_s_as_stored_before_typed_requests(store):
    """An Idempotency-Key retry that spans the upgrade to OrderRequest still replays its first order."""
    body = order_request(fulfillment={"type": "pickup", "scheduled_for": "2030-01-01T12:00:00Z"})
    serializer = OrderRequestSerializer(data=body)
    serializer.is_valid(raise_exception=True)
    stored_before = json.dumps(serializer.validated_data, sort_keys=True, cls=DjangoJSONEncoder)
    assert place(body).request_hash == hashlib.sha256(stored_before.encode()).hexdigest()
