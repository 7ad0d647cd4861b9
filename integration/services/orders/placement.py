"""Placing an order: checked and priced from the published menu, created PENDING with its submit call."""

import hashlib
import json
import logging
from dataclasses import asdict, dataclass

from django.conf import settings
from django.contrib.auth.models import User
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone

from integration.logcontext import bind
from integration.models import Menu, Order, OrderLine, Store
from integration.selectors.stores import store_accepting, store_by_public_id, store_menu
from integration.services.menus.order_layer import (
    LinkPrices,
    order_layer_apply,
    order_layer_refusal_code,
    order_link_prices,
)
from integration.services.menus.snoozes import order_invalid_code, snoozes_refusals
from integration.services.mp_events.events import accepting_reason_code
from integration.services.stores.busy import busy_admit

from .errors import FieldProblems, IdempotencyKeyReused, StoreNotAccepting
from .pricing import MAX_LINES, MAX_TIP, MenuIndex, PricedLine, Pricer
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


def _order_for_key(user: User | None, key: str) -> Order | None:
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

    Three steps: validate (``_validate_target``, ``_validate_fields``), price (``_price_lines``,
    ``_totals``), create (``_create``). Every refusal goes through one ``FieldProblems``, which raises
    ``OrderInvalid`` once; a store that takes no orders now is ``StoreNotAccepting`` (409, not 422).

    With ``idempotency_key`` (scoped to ``user``), a repeat returns the first order, also when the
    repeats race: the unique (created_by, idempotency_key) constraint lets one insert win.
    """
    user = user_or_none(user)
    request_hash = _request_hash(request)
    if idempotency_key:
        first = _order_for_key(user, idempotency_key)
        if first is not None:
            return _replayed(first, request_hash)
    problems = FieldProblems()
    now = timezone.now()
    store, menu = _validate_target(request, problems)
    lines, index = _price_lines(request, store, menu, problems)
    _validate_fields(request, problems, now)  # after the lines: the 422 lists the lines' problems first
    snoozed = snoozes_refusals(store, request.items, index, now)  # the MP's own snoozes (issue 28)
    problems.problems += snoozed
    hidden = order_layer_refusal_code(index, request.items, problems.problems)  # our hidden items (issue 27)
    problems.raise_if_any(
        "The order does not match the store's menu.", code=hidden or order_invalid_code(problems.problems, snoozed)
    )
    priced = _all_priced(lines)
    totals = _totals(priced, request.tip, problems)
    link = order_link_prices(priced, index, subtotal=totals.subtotal, tip=totals.tip)  # what Link charges us
    try:
        order = _create(request, store, menu, priced, totals, link, user, idempotency_key, request_hash, now)
    except IntegrityError:
        first = _order_for_key(user, idempotency_key) if idempotency_key else None
        if first is None:
            raise
        return _replayed(first, request_hash)  # a repeat with the same key won the race to the insert
    logger.info("order %s placed at %s: %s %s", order.external_order_id, store.venue_id, order.total, order.currency)
    return Placed(order, created=True)


# --- validate -------------------------------------------------------------------------------------


def _validate_target(request: OrderRequest, problems: FieldProblems) -> tuple[Store, Menu]:
    """The store (known, taking orders, so with a PUBLISHED menu) and its menu; a request of a size we
    price at all. Each refusal here stops the check: nothing after it can be judged."""
    store = store_by_public_id(request.store)
    if store is None:
        problems.refuse("The order names an unknown store.", "store", "unknown", f"No store with id {request.store!r}.")
    accepting, why = store_accepting(store)  # includes a PUBLISHED menu
    if not accepting:
        details = {"store": request.store, "reason": why, "reason_code": accepting_reason_code(why)}
        raise StoreNotAccepting(f"{store} does not take orders now: {why}.", details)
    if len(request.items) > MAX_LINES:
        problems.refuse(
            "The order has too many lines.", "items", "too_many_lines", f"An order has at most {MAX_LINES} lines."
        )
    menu = store_menu(store)
    assert menu is not None  # accepting: it has a PUBLISHED menu
    return store, menu


def _validate_fields(request: OrderRequest, problems: FieldProblems, now) -> None:
    """The request's own fields that the menu does not judge: the tip, a scheduled time."""
    if not 0 <= request.tip <= MAX_TIP:
        problems.add("tip", "out_of_range", f"Tip must be between 0 and {MAX_TIP} (minor units).")
    scheduled_for = request.fulfillment.scheduled_for
    if scheduled_for is not None and scheduled_for <= now:
        problems.add("fulfillment.scheduled_for", "in_past", "A scheduled order must be for a time in the future.")


# --- price ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Totals:
    subtotal: int
    tax: int
    tip: int

    @property
    def total(self) -> int:
        return self.subtotal + self.tax + self.tip


def _price_lines(
    request: OrderRequest, store: Store, menu: Menu, problems: FieldProblems
) -> tuple[list[PricedLine | None], MenuIndex]:
    """Each line checked against the menu (every problem collected) and priced from it, at our prices (the
    store's price rule; hidden items refused); and the menu's index."""
    index = order_layer_apply(store, MenuIndex(menu, request.items))
    pricer = Pricer(index, problems)
    return [pricer.line(n, item) for n, item in enumerate(request.items)], index


def _all_priced(lines: list[PricedLine | None]) -> list[PricedLine]:
    """After ``raise_if_any``: the pricer leaves a line unpriced (None) only with a problem, so none is left."""
    priced = [line for line in lines if line is not None]
    assert len(priced) == len(lines)
    return priced


def _totals(lines: list[PricedLine], tip: int, problems: FieldProblems) -> Totals:
    """The order's amounts, refused over ``ORDER_TOTAL_MAX`` before any write (which also keeps every
    amount within its column)."""
    totals = Totals(sum(line.line_total for line in lines), sum(line.tax for line in lines), tip)
    if totals.total > settings.ORDER_TOTAL_MAX:
        problems.refuse(
            "The order's total is over the limit.",
            "total",
            "total_too_large",
            f"An order's total is at most {settings.ORDER_TOTAL_MAX} (minor units); this one is {totals.total}.",
        )
    return totals


# --- create ---------------------------------------------------------------------------------------


def _create(
    request: OrderRequest,
    store: Store,
    menu: Menu,
    lines: list[PricedLine],
    totals: Totals,
    link: LinkPrices,
    user,
    idempotency_key: str | None,
    request_hash: str,
    now,
) -> Order:
    """The order PENDING, its lines and its submit call, in one transaction (IntegrityError when a
    request with the same idempotency key inserted first)."""
    with transaction.atomic():
        busy_admit(store)  # a busy store's cap, exact under concurrent orders (issue 28)
        order = Order.objects.create(
            store=store,
            menu_version=menu.version,
            created_by=user,
            idempotency_key=idempotency_key or None,
            request_hash=request_hash,
            currency=menu.currency,
            subtotal=totals.subtotal,
            tax=totals.tax,
            tip=totals.tip,
            total=totals.total,
            customer_name=request.customer.name,
            customer_phone=request.customer.phone,
            fulfillment_type=request.fulfillment.type,
            scheduled_for=request.fulfillment.scheduled_for,
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
    return order
