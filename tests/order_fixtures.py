"""Menu rows and order requests for the order tests, built directly (no menu ingest needed).

The menu of ``published_menu``:

- ``itm_burger`` Cheeseburger 899, tax 8.75 %, groups:
  - ``mg_size`` Size, 1..1: ``mod_single`` 0, ``mod_double`` 300 (opens ``mg_double_extras``)
  - ``mg_addons`` Add-ons, 0..3: ``mod_bacon`` 150, ``mod_cheese`` 100, ``mod_egg`` 120 (unavailable)
  - nested ``mg_double_extras`` Double extras, 0..1: ``mod_extra_patty_cheese`` 50
- ``itm_fries`` Fries 399, tax 8.75 %, group ``mg_sauce`` Sauces, 0..unlimited: ``mod_ketchup`` 0, ``mod_mayo`` 25
- ``itm_soda`` Soda 199, tax 0 %, no groups
- ``itm_special`` Chef's special 1599, unavailable
"""

import json
from decimal import Decimal
from types import SimpleNamespace

import responses as responses_lib
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from integration.api.orders import OrderRequestSerializer, to_order_request
from integration.link import payloads
from integration.models import (
    GroupModifier,
    ItemGroup,
    MenuItem,
    Modifier,
    ModifierGroup,
    ModifierNestedGroup,
    Order,
    OutboundCall,
)
from integration.services.link_events import webhook_receive
from integration.services.ops.api_clients import api_client_create
from integration.services.orders.placement import order_place
from integration.services.orders.request import OrderRequest
from integration.services.outbox.calls import call_deliver
from tests.conftest import LINK, envelope
from tests.factories import MenuFactory, StoreFactory


def make_store(venue_id="ven_1", external_store_id="sf_1", **kwargs):
    store = StoreFactory(venue_id=venue_id, external_store_id=external_store_id, **kwargs)
    published_menu(store)
    return store


def published_menu(store, *, version=1, currency="USD") -> SimpleNamespace:
    menu = MenuFactory(store=store, version=version, currency=currency)

    def item(link_id, name, price, tax_rate="0.0875", available=True):
        return MenuItem.objects.create(
            menu=menu, link_id=link_id, name=name, price=price, tax_rate=Decimal(tax_rate), available=available
        )

    def group(link_id, name, min_selections, max_selections, modifiers):
        g = ModifierGroup.objects.create(
            menu=menu, link_id=link_id, name=name, min_selections=min_selections, max_selections=max_selections
        )
        for position, m in enumerate(modifiers):
            GroupModifier.objects.create(group=g, modifier=m, position=position)
        return g

    def modifier(link_id, name, price, available=True):
        return Modifier.objects.create(menu=menu, link_id=link_id, name=name, price=price, available=available)

    burger = item("itm_burger", "Cheeseburger", 899)
    fries = item("itm_fries", "Fries", 399)
    item("itm_soda", "Soda", 199, tax_rate="0")
    item("itm_special", "Chef's special", 1599, available=False)

    single, double = modifier("mod_single", "Single", 0), modifier("mod_double", "Double", 300)
    bacon, cheese = modifier("mod_bacon", "Bacon", 150), modifier("mod_cheese", "Extra cheese", 100)
    egg = modifier("mod_egg", "Fried egg", 120, available=False)
    patty_cheese = modifier("mod_extra_patty_cheese", "Cheese between patties", 50)
    ketchup, mayo = modifier("mod_ketchup", "Ketchup", 0), modifier("mod_mayo", "Mayo", 25)

    size = group("mg_size", "Size", 1, 1, [single, double])
    addons = group("mg_addons", "Add-ons", 0, 3, [bacon, cheese, egg])
    extras = group("mg_double_extras", "Double extras", 0, 1, [patty_cheese])
    sauce = group("mg_sauce", "Sauces", 0, 0, [ketchup, mayo])
    ItemGroup.objects.create(item=burger, group=size, position=0)
    ItemGroup.objects.create(item=burger, group=addons, position=1)
    ItemGroup.objects.create(item=fries, group=sauce, position=0)
    ModifierNestedGroup.objects.create(modifier=double, group=extras, position=0)
    return SimpleNamespace(menu=menu)


def mod(modifier_id, group_id, quantity=1, modifiers=None) -> dict:
    return {"modifier_id": modifier_id, "group_id": group_id, "quantity": quantity, "modifiers": modifiers or []}


def burger_line(quantity=2, modifiers=None) -> dict:
    return {
        "item_id": "itm_burger",
        "quantity": quantity,
        "special_instructions": "no onions",
        "modifiers": modifiers
        if modifiers is not None
        else [mod("mod_single", "mg_size"), mod("mod_bacon", "mg_addons")],
    }


def order_request(store="sf_1", items=None, **overrides) -> dict:
    """The contract's example order: 2 x (Cheeseburger 899 + Bacon 150) = 2098, tax 184, tip 300, total 2582."""
    body = {
        "store": store,
        "items": items if items is not None else [burger_line()],
        "customer": {"name": "Ada L.", "phone": "+15555550100"},
        "fulfillment": {"type": "pickup", "scheduled_for": None},
        "tip": 300,
        "notes": "",
    }
    body.update(overrides)
    return body


def validated(body: dict) -> OrderRequest:
    serializer = OrderRequestSerializer(data=body)
    serializer.is_valid(raise_exception=True)
    return to_order_request(serializer.validated_data)


def place(body=None, *, user=None, key=None) -> Order:
    return order_place(validated(body or order_request()), user=user, idempotency_key=key).order


def api_user(username="checkout", permissions=None):
    """An API client with DEFAULT_CLIENT_PERMISSIONS (or exactly ``permissions``)."""
    api_client_create(username, permissions=permissions)
    return get_user_model().objects.get(username=username)


def api_client(user=None) -> APIClient:
    user = user or api_user()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    client.user = user
    return client


def submit_call(order: Order) -> OutboundCall:
    return OutboundCall.objects.filter(order=order, kind=OutboundCall.Kind.SUBMIT_ORDER).latest("pk")


def cancel_calls(order: Order):
    return OutboundCall.objects.filter(order=order, kind=OutboundCall.Kind.CANCEL_ORDER).order_by("pk")


def link_answers_submit(rsps, order: Order, link_order_id: str) -> None:
    """The mocked Link answers the order's submission 201 with ``link_order_id``."""
    rsps.add(
        responses_lib.POST,
        f"{LINK}/v2/orders",
        json={"order_id": link_order_id, "external_order_id": order.external_order_id, "status": "INIT"},
        status=201,
    )


def link_takes(rsps, order: Order, link_order_id: str | None = None) -> Order:
    """Deliver the order's submit call against a mocked Link that answers 201."""
    link_answers_submit(rsps, order, link_order_id or f"ord_{order.external_order_id}")
    call_deliver(submit_call(order).pk, inline_wait=0)
    order.refresh_from_db()
    return order


def order_event(event_type: str, order: Order, *, event_id=None, venue_id="ven_1", **data):
    """Send one order event through the webhook pipeline (parse, record, apply) like the view does."""
    body = envelope(
        event_type,
        {
            "order_id": order.link_order_id or f"ord_{order.external_order_id}",
            "external_order_id": order.external_order_id,
        }
        | data,
        venue_id=venue_id,
        event_id=event_id,
    )
    parsed = payloads.parse_envelope(body)
    outcome = webhook_receive(parsed, json.dumps(body).encode(), {})
    if order.pk:
        order.refresh_from_db()
    return outcome.event
