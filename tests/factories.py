"""factory-boy factories: rows as they stand in the database, without the services that usually make them.

Use them when a test needs an order, menu or event to exist; go through the service (``order_place``,
``menu_ingest``, the webhook view) when the test is about how it comes to exist.
"""

import json

import factory
from django.utils import timezone

from integration.link import routes
from integration.models import Menu, Order, OrderLine, OutboundCall, Store, WebhookEvent
from tests.menus import every_day


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store

    venue_id = factory.Sequence(lambda n: f"ven_{n:04d}")
    external_store_id = factory.Sequence(lambda n: f"sf_{n:04d}")
    name = factory.Sequence(lambda n: f"Store {n}")
    timezone = "America/New_York"


class MenuFactory(factory.django.DjangoModelFactory):
    """A published menu row (no catalog rows: ``tests.order_fixtures.published_menu`` adds a small one)."""

    class Meta:
        model = Menu

    store = factory.SubFactory(StoreFactory)
    menu_id = factory.LazyAttribute(lambda menu: f"men_{menu.store.venue_id}")
    version = 1
    state = Menu.State.PUBLISHED
    currency = "USD"
    hours = factory.LazyFunction(lambda: every_day("00:00", "00:00"))  # the whole day, every day
    published_at = factory.LazyFunction(timezone.now)


class OrderLineFactory(factory.django.DjangoModelFactory):
    """2 x (Cheeseburger 899 + Bacon 150), tax 8.75 %: the contract's example line."""

    class Meta:
        model = OrderLine

    order = factory.SubFactory("tests.factories.OrderFactory", line=None)
    position = 0
    item_link_id = "itm_burger"
    name = "Cheeseburger"
    quantity = 2
    item_price = 899
    unit_price = 1049
    line_total = 2098
    tax = 184
    special_instructions = "no onions"
    modifiers = factory.LazyFunction(
        lambda: [
            {
                "modifier_id": link_id,
                "group_id": group,
                "name": name,
                "quantity": 1,
                "unit_price": price,
                "modifiers": [],
            }
            for link_id, group, name, price in (
                ("mod_single", "mg_size", "Single", 0),
                ("mod_bacon", "mg_addons", "Bacon", 150),
            )
        ]
    )


class OrderFactory(factory.django.DjangoModelFactory):
    """A PENDING order with one line (the contract's example, total 2582) and its submit call, not sent yet.

    ``submitted=True``: Link took it (its order id, ``submitted_at``, Link status INIT; the call SUCCEEDED).
    """

    class Meta:
        model = Order
        skip_postgeneration_save = True

    class Params:
        submitted = factory.Trait(
            link_order_id=factory.LazyAttribute(lambda order: f"ord_{order.external_order_id}"),
            submitted_at=factory.LazyAttribute(lambda order: order.placed_at),
            link_status="INIT",
            submit_call__status=OutboundCall.Status.SUCCEEDED,
            submit_call__attempts=1,
            submit_call__last_status_code=201,
            submit_call__completed_at=factory.LazyFunction(timezone.now),
        )

    store = factory.SubFactory(StoreFactory)
    external_order_id = factory.Sequence(lambda n: f"mp_{n:012d}")
    menu_version = 1
    subtotal = 2098
    tax = 184
    tip = 300
    total = 2582
    customer_name = "Ada L."
    customer_phone = "+15555550100"
    placed_at = factory.LazyFunction(timezone.now)
    pending_since = factory.LazyAttribute(lambda order: order.placed_at)
    line = factory.RelatedFactory(OrderLineFactory, factory_related_name="order")
    submit_call = factory.RelatedFactory("tests.factories.SubmitCallFactory", factory_related_name="order")


class WebhookEventFactory(factory.django.DjangoModelFactory):
    """An event as the webhook view stores it, already applied; ``data`` is the event's data."""

    class Meta:
        model = WebhookEvent

    class Params:
        data = factory.LazyFunction(dict)

    event_id = factory.Sequence(lambda n: f"evt_{n:012d}")
    type = "store.connected"
    venue_id = "ven_1"
    created_at = factory.LazyFunction(timezone.now)
    body = factory.LazyAttribute(
        lambda event: json.dumps(
            {
                "id": event.event_id,
                "type": event.type,
                "created_at": event.created_at.isoformat().replace("+00:00", "Z"),
                "venue_id": event.venue_id,
                "data": event.data,
            }
        )
    )
    status = WebhookEvent.Status.PROCESSED
    attempts = 1
    processed_at = factory.LazyFunction(timezone.now)


class OutboundCallFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OutboundCall

    kind = OutboundCall.Kind.PAUSE_STORE
    method = "POST"
    path = "/v2/venues/ven_1/pause"
    payload = factory.LazyFunction(lambda: {"reason": "test", "paused_until": None})
    next_attempt_at = factory.LazyFunction(timezone.now)
    deadline = factory.LazyFunction(lambda: timezone.now() + timezone.timedelta(hours=1))


class SubmitCallFactory(OutboundCallFactory):
    """The call that sends an order to Link (every placed order has one), with the body Link gets."""

    kind = OutboundCall.Kind.SUBMIT_ORDER
    path = factory.LazyFunction(routes.submit_order_path)
    order = factory.SubFactory(OrderFactory, submit_call=None)
    store = factory.SelfAttribute("order.store")
    idempotency_key = factory.SelfAttribute("order.external_order_id")
    payload = factory.LazyAttribute(lambda call: routes.order_body(call.order, list(call.order.lines.all())))
