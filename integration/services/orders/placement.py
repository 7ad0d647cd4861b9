"""Placing an order: checked and priced from the published menu, created PENDING with its submit call."""

import hashlib
import json
import logging
from dataclasses import asdict, dataclass

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone

from integration.logcontext import bind
from integration.models import Order, OrderLine
from integration.selectors.stores import store_accepting, store_by_public_id, store_menu
from integration.services.menus.order_layer import order_layer_apply, order_layer_refusal_code, order_link_prices

from .errors import IdempotencyKeyReused, OrderInvalid, StoreNotAccepting
from .pricing import MAX_LINES, MAX_TIP, MenuIndex, Pricer
from .request import OrderRequest
from .submission import order_submit_call_create
from .transitions import Actor, user_or_none

logger = logging.getLogger(__name__)


@dataclass
class Placed:
    order: Order
    created: bool


def _request_hash(request: OrderRequest) -> str:
    """Over the request spelled as the API's validated body, the hash stored before OrderRequest (except that
    a request leaving out customer or fulfillment now hashes as one sending them empty)."""
    body = asdict(request)
    return hashlib.sha256(json.dumps(body, sort_keys=True, cls=DjangoJSONEncoder).encode()).hexdigest()


def _order_for_key(user: AbstractBaseUser | None, key: str) -> Order | None:
    return Order.objects.filter(created_by=user, idempotency_key=key).first()


def _replayed(order: Order, request_hash: str) -> Placed:
    if order.request_hash != request_hash:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was already used for a different order request; use a new key for a new order.",
            {"external_order_id": order.external_order_id},
        )
    return Placed(order, created=False)


def order_place(request: OrderRequest, *, user: Actor = None, idempotency_key: str | None = None) -> Placed:
    """Check a request against the store's published menu, price it from the menu (caller prices
    are never read), and create the order PENDING with its submit call in one transaction.

    With ``idempotency_key`` (scoped to ``user``), a repeat returns the first order, also when the
    repeats race: the unique (created_by, idempotency_key) constraint lets one insert win.
    """
    user = user_or_none(user)
    request_hash = _request_hash(request)
    if idempotency_key:
        first = _order_for_key(user, idempotency_key)
        if first is not None:
            return _replayed(first, request_hash)
    store = store_by_public_id(request.store)
    if store is None:
        raise OrderInvalid(
            "The order names an unknown store.",
            [{"field": "store", "code": "unknown", "message": f"No store with id {request.store!r}."}],
        )
    accepting, why = store_accepting(store)  # includes a PUBLISHED menu
    if not accepting:
        raise StoreNotAccepting(f"{store} does not take orders now: {why}.", {"store": request.store, "reason": why})
    menu = store_menu(store)

    if len(request.items) > MAX_LINES:
        raise OrderInvalid(
            "The order has too many lines.",
            [{"field": "items", "code": "too_many_lines", "message": f"An order has at most {MAX_LINES} lines."}],
        )
    pricer = Pricer(order_layer_apply(store, MenuIndex(menu, request.items)))  # our prices, hidden items
    lines = [pricer.line(n, item) for n, item in enumerate(request.items)]
    tip = request.tip
    if not 0 <= tip <= MAX_TIP:
        pricer.error("tip", "out_of_range", f"Tip must be between 0 and {MAX_TIP} (minor units).")
    scheduled_for = request.fulfillment.scheduled_for
    now = timezone.now()
    if scheduled_for is not None and scheduled_for <= now:
        pricer.error("fulfillment.scheduled_for", "in_past", "A scheduled order must be for a time in the future.")
    if pricer.errors:
        code = order_layer_refusal_code(pricer.index, request.items, pricer.errors)
        raise OrderInvalid("The order does not match the store's menu.", pricer.errors, code=code)

    subtotal = sum(line.line_total for line in lines)
    tax = sum(line.tax for line in lines)
    if subtotal + tax + tip > settings.ORDER_TOTAL_MAX:  # before any write; also keeps every amount in its column
        raise OrderInvalid(
            "The order's total is over the limit.",
            [
                {
                    "field": "total",
                    "code": "total_too_large",
                    "message": f"An order's total is at most {settings.ORDER_TOTAL_MAX} (minor units); "
                    f"this one is {subtotal + tax + tip}.",
                }
            ],
        )
    link = order_link_prices(lines, pricer.index, subtotal=subtotal, tip=tip)  # what Link charges us
    try:
        with transaction.atomic():
            order = Order.objects.create(
                store=store,
                menu_version=menu.version,
                created_by=user,
                idempotency_key=idempotency_key or None,
                request_hash=request_hash,
                currency=menu.currency,
                subtotal=subtotal,
                tax=tax,
                tip=tip,
                total=subtotal + tax + tip,
                customer_name=request.customer.name,
                customer_phone=request.customer.phone,
                fulfillment_type=request.fulfillment.type,
                scheduled_for=scheduled_for,
                notes=request.notes,
                placed_at=now,
                pending_since=now,
                **link.order_fields(),
            )
            bind(external_order_id=order.external_order_id, venue_id=store.venue_id)
            rows = OrderLine.objects.bulk_create(
                OrderLine(
                    order=order,
                    position=n,
                    item_link_id=line.item.link_id,
                    name=line.item.name,
                    quantity=line.quantity,
                    item_price=line.item.price,
                    unit_price=line.unit_price,
                    line_total=line.line_total,
                    tax=line.tax,
                    special_instructions=line.special_instructions,
                    modifiers=line.modifiers,
                    **link.line_fields(n),
                )
                for n, line in enumerate(lines)
            )
            order_submit_call_create(order, rows)
    except IntegrityError:
        first = _order_for_key(user, idempotency_key) if idempotency_key else None
        if first is None:
            raise
        return _replayed(first, request_hash)
    logger.info("order %s placed at %s: %s %s", order.external_order_id, store.venue_id, order.total, order.currency)
    return Placed(order, created=True)
