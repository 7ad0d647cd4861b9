"""Orders: place, submit, Link's lifecycle events, cancel either way, deadlines, reconcile.

Every service locks the order row (``select_for_update``) before it reads the state it decides
on, so an MP cancel and a Link event racing on two threads serialize and neither loses the
other's update. Lock order: the outbox settles a call (call row locked) and then locks the order;
services that hold an order and need one of its calls take the call with ``skip_locked``, and a
call they cannot lock is being sent or settled right now ("in flight"). So no two paths wait on
each other.
"""

import hashlib
import json
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone

from integration import selectors
from integration.link import payloads, routes
from integration.link.client import LinkResponse, get_client
from integration.models import (
    GroupModifier,
    ItemGroup,
    Menu,
    MenuItem,
    Modifier,
    ModifierNestedGroup,
    Order,
    OrderLine,
    OutboundCall,
    Store,
    WebhookEvent,
)
from integration.signals import order_state_changed

from .outbound import call_create, call_handlers_register, call_skip

logger = logging.getLogger(__name__)

S = Order.State
MAX_QUANTITY = 99
MAX_TIP = 10_000_000

# Forward order of the open states; a report of an earlier one is stale.
_RANK = {S.PENDING: 0, S.CONFIRMED: 1, S.IN_PREP: 2}
_TRANSITION_TO = {
    S.CONFIRMED: "confirm",
    S.IN_PREP: "start_prep",
    S.READY: "mark_ready",
    S.REJECTED: "reject",
    S.CANCELLED: "cancel",
}


class OrderError(Exception):
    """A service refused; ``code`` is machine-readable, ``details`` a list of field problems or a dict."""

    code = "order_error"

    def __init__(self, message: str, details=None, *, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.details = details if details is not None else {}
        if code:
            self.code = code


class OrderInvalid(OrderError):
    code = "invalid_order"


class StoreNotAccepting(OrderError):
    code = "store_not_accepting"


class IdempotencyKeyReused(OrderError):
    code = "idempotency_key_reused"


class OrderActionRefused(OrderError):
    """The order's state does not allow the action; the message says why."""

    code = "action_not_allowed"


def _user(user):
    return user if user is not None and getattr(user, "is_authenticated", False) else None


def _who(user) -> str:
    return f"user {user.get_username()}" if user is not None else "marketplace"


def _locked(order_id: int) -> Order:
    return Order.objects.select_for_update().get(pk=order_id)


# --- state changes ------------------------------------------------------------------------------


def _move(order: Order, transition: str, cause: str, user=None) -> None:
    """Run one transition (logged with its cause by django-fsm-log) and announce it after commit."""
    old = order.state
    getattr(order, transition)(by=user, description=cause)
    new, order_id, external_id = order.state, order.pk, order.external_order_id
    transaction.on_commit(lambda: _announce(order_id, external_id, old, new, cause))


def _announce(order_id: int, external_order_id: str, old_state: str, new_state: str, cause: str) -> None:
    results = order_state_changed.send_robust(
        sender=Order,
        order_id=order_id,
        external_order_id=external_order_id,
        old_state=old_state,
        new_state=new_state,
        cause=cause,
    )
    for receiver, result in results:
        if isinstance(result, Exception):
            logger.error("order_state_changed receiver %r failed", receiver, exc_info=result)


def _close(order: Order, now) -> None:
    order.closed_at = order.closed_at or now


def _cancel_here(order: Order, cause: str, user=None) -> None:
    """The MP's own cancel takes effect locally (Link agreed, or Link never had the order)."""
    _move(order, "cancel", cause, user)
    order.reason_code = order.cancel_reason_code
    order.reason = order.cancel_reason
    order.cancelled_by = routes.CANCELLED_BY_MP
    _close(order, timezone.now())


# --- place --------------------------------------------------------------------------------------


@dataclass
class PricedLine:
    item: MenuItem
    quantity: int
    special_instructions: str
    modifiers: list
    unit_price: int

    @property
    def line_total(self) -> int:
        return self.unit_price * self.quantity

    @property
    def tax(self) -> int:
        """Per line, half-up to the minor unit, on the line total incl. modifiers, at the item's rate."""
        exact = Decimal(self.line_total) * Decimal(self.item.tax_rate)
        return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _collect_modifier_ids(selections: list, into: set) -> None:
    for selection in selections:
        into.add(selection["modifier_id"])
        _collect_modifier_ids(selection.get("modifiers") or [], into)


class _MenuIndex:
    """The rows of a published menu that one request names, in a fixed number of queries."""

    def __init__(self, menu: Menu, items: list):
        item_ids, modifier_ids = set(), set()
        for line in items:
            item_ids.add(line["item_id"])
            _collect_modifier_ids(line.get("modifiers") or [], modifier_ids)
        self.items = {i.link_id: i for i in MenuItem.objects.filter(menu=menu, link_id__in=item_ids)}
        self.modifiers = {m.link_id: m for m in Modifier.objects.filter(menu=menu, link_id__in=modifier_ids)}
        self.item_groups = defaultdict(list)
        for row in ItemGroup.objects.filter(item__in=[i.pk for i in self.items.values()]).select_related("group"):
            self.item_groups[row.item_id].append(row.group)
        self.nested_groups = defaultdict(list)
        nested = ModifierNestedGroup.objects.filter(modifier__in=[m.pk for m in self.modifiers.values()])
        for row in nested.select_related("group"):
            self.nested_groups[row.modifier_id].append(row.group)
        group_pks = {g.pk for groups in (*self.item_groups.values(), *self.nested_groups.values()) for g in groups}
        self.membership = set(
            GroupModifier.objects.filter(
                group__in=group_pks, modifier__in=[m.pk for m in self.modifiers.values()]
            ).values_list("group_id", "modifier_id")
        )


class _Pricer:
    """Checks a request against the menu, collecting every problem, and prices it from the menu."""

    def __init__(self, index: _MenuIndex):
        self.index = index
        self.errors: list[dict] = []

    def error(self, field: str, code: str, message: str) -> None:
        self.errors.append({"field": field, "code": code, "message": message})

    def quantity(self, field: str, value: int) -> None:
        if not 1 <= value <= MAX_QUANTITY:
            self.error(field, "out_of_range", f"Quantity must be between 1 and {MAX_QUANTITY}; got {value}.")

    def line(self, n: int, data: dict) -> PricedLine | None:
        path = f"items[{n}]"
        self.quantity(f"{path}.quantity", data["quantity"])
        item = self.index.items.get(data["item_id"])
        if item is None:
            self.error(f"{path}.item_id", "unknown", f"Item {data['item_id']!r} is not on this store's menu.")
            return None
        if not item.available:
            self.error(f"{path}.item_id", "unavailable", f"{item.name} ({item.link_id}) is not available right now.")
        modifiers, per_unit = self.selections(
            data.get("modifiers") or [], self.index.item_groups[item.pk], path, owner=f"{item.name} ({item.link_id})"
        )
        return PricedLine(
            item=item,
            quantity=data["quantity"],
            special_instructions=data.get("special_instructions") or "",
            modifiers=modifiers,
            unit_price=item.price + per_unit,
        )

    def selections(self, selections: list, groups: list, path: str, owner: str) -> tuple[list, int]:
        """Check one level of modifier choices against the groups ``owner`` opens; (snapshot, price per unit)."""
        offered = {g.link_id: g for g in groups}
        counts = dict.fromkeys(offered, 0)
        snapshot, per_unit = [], 0
        for n, sel in enumerate(selections):
            here = f"{path}.modifiers[{n}]"
            self.quantity(f"{here}.quantity", sel["quantity"])
            group = offered.get(sel["group_id"])
            if group is None:
                self.error(f"{here}.group_id", "not_offered", f"Group {sel['group_id']!r} is not offered for {owner}.")
            else:
                counts[group.link_id] += sel["quantity"]
            modifier = self.index.modifiers.get(sel["modifier_id"])
            if modifier is None:
                self.error(
                    f"{here}.modifier_id", "unknown", f"Modifier {sel['modifier_id']!r} is not on this store's menu."
                )
                continue
            label = f"{modifier.name} ({modifier.link_id})"
            if group is not None and (group.pk, modifier.pk) not in self.index.membership:
                self.error(
                    f"{here}.modifier_id",
                    "not_in_group",
                    f"{label} is not a choice of group {group.name} ({group.link_id}).",
                )
            elif not modifier.available:
                self.error(f"{here}.modifier_id", "unavailable", f"{label} is not available right now.")
            nested, nested_per_unit = self.selections(
                sel.get("modifiers") or [], self.index.nested_groups[modifier.pk], here, owner=label
            )
            per_unit += sel["quantity"] * (modifier.price + nested_per_unit)
            snapshot.append(
                {
                    "modifier_id": modifier.link_id,
                    "group_id": sel["group_id"],
                    "name": modifier.name,
                    "quantity": sel["quantity"],
                    "unit_price": modifier.price,
                    "modifiers": nested,
                }
            )
        for group in offered.values():
            got = counts[group.link_id]
            name = f"{group.name} ({group.link_id})"
            if got < group.min_selections:
                self.error(
                    f"{path}.modifiers",
                    "group_min",
                    f"{name} needs at least {group.min_selections} selection(s) for {owner}; got {got}.",
                )
            if group.max_selections and got > group.max_selections:
                self.error(
                    f"{path}.modifiers",
                    "group_max",
                    f"{name} allows at most {group.max_selections} selection(s) for {owner}; got {got}.",
                )
        return snapshot, per_unit


@dataclass
class Placed:
    order: Order
    created: bool


def _request_hash(data: dict) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, cls=DjangoJSONEncoder).encode()).hexdigest()


def _order_for_key(user, key: str) -> Order | None:
    return Order.objects.filter(created_by=user, idempotency_key=key).first()


def _replayed(order: Order, request_hash: str) -> Placed:
    if order.request_hash != request_hash:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was already used for a different order request; use a new key for a new order.",
            {"external_order_id": order.external_order_id},
        )
    return Placed(order, created=False)


def _submit(order: Order, lines: list[OrderLine] | None = None) -> OutboundCall:
    """The submit call, committed with the order; Link dedupes on ``external_order_id``."""
    lines = lines if lines is not None else list(order.lines.all())
    return call_create(
        kind=OutboundCall.Kind.SUBMIT_ORDER,
        method="POST",
        path=routes.submit_order_path(),
        payload=routes.order_body(order, lines),
        idempotency_key=order.external_order_id,
        store=order.store,
        order=order,
        deadline_seconds=settings.LINK_SUBMIT_DEADLINE,
    )


def order_place(data: dict, *, user=None, idempotency_key: str | None = None) -> Placed:
    """Check a request against the store's published menu, price it from the menu (caller prices
    are never read), and create the order PENDING with its submit call in one transaction.

    With ``idempotency_key`` (scoped to ``user``), a repeat returns the first order, also when the
    repeats race: the unique (created_by, idempotency_key) constraint lets one insert win.
    """
    user = _user(user)
    request_hash = _request_hash(data)
    if idempotency_key:
        first = _order_for_key(user, idempotency_key)
        if first is not None:
            return _replayed(first, request_hash)
    store = selectors.store_by_public_id(data["store"])
    if store is None:
        raise OrderInvalid(
            "The order names an unknown store.",
            [{"field": "store", "code": "unknown", "message": f"No store with id {data['store']!r}."}],
        )
    accepting, why = selectors.store_accepting(store)  # includes a PUBLISHED menu
    if not accepting:
        raise StoreNotAccepting(f"{store} does not take orders now: {why}.", {"store": data["store"], "reason": why})
    menu = selectors.store_menu(store)

    pricer = _Pricer(_MenuIndex(menu, data["items"]))
    lines = [pricer.line(n, item) for n, item in enumerate(data["items"])]
    tip = data.get("tip") or 0
    if not 0 <= tip <= MAX_TIP:
        pricer.error("tip", "out_of_range", f"Tip must be between 0 and {MAX_TIP} (minor units).")
    fulfillment = data.get("fulfillment") or {}
    scheduled_for = fulfillment.get("scheduled_for")
    now = timezone.now()
    if scheduled_for is not None and scheduled_for <= now:
        pricer.error("fulfillment.scheduled_for", "in_past", "A scheduled order must be for a time in the future.")
    if pricer.errors:
        raise OrderInvalid("The order does not match the store's menu.", pricer.errors)

    subtotal = sum(line.line_total for line in lines)
    tax = sum(line.tax for line in lines)
    customer = data.get("customer") or {}
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
                customer_name=customer.get("name") or "",
                customer_phone=customer.get("phone") or "",
                fulfillment_type=fulfillment.get("type") or "pickup",
                scheduled_for=scheduled_for,
                notes=data.get("notes") or "",
                placed_at=now,
                pending_since=now,
            )
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
                )
                for n, line in enumerate(lines)
            )
            _submit(order, rows)
    except IntegrityError:
        first = _order_for_key(user, idempotency_key) if idempotency_key else None
        if first is None:
            raise
        return _replayed(first, request_hash)
    logger.info("order %s placed at %s: %s %s", order.external_order_id, store.venue_id, order.total, order.currency)
    return Placed(order, created=True)


# --- submit (the outbox's answers) ----------------------------------------------------------------


def _submit_succeeded(call: OutboundCall, response: LinkResponse) -> None:
    answer = routes.parse_submit_response(response.data)
    order = _locked(call.order_id)
    now = timezone.now()
    order.submitted_at = order.submitted_at or now
    link_id = answer["link_order_id"]
    if link_id and order.link_order_id and link_id != order.link_order_id:
        logger.warning("order %s: Link's 201 names %s, events named %s", order, link_id, order.link_order_id)
    elif link_id:
        order.link_order_id = link_id
    if order.state == S.PENDING and not order.link_status:
        order.link_status = answer["status"]
    order.failure_reason = ""
    _follow_up_cancel(order, now)
    order.save()


def _submit_failed(call: OutboundCall, reason: str) -> None:
    order = _locked(call.order_id)
    if order.link_order_id:
        # Link's own events named the order, so a try did land; its events keep driving it.
        logger.warning("order %s: submit call #%s failed (%s) but Link has the order", order, call.pk, reason)
        return
    if order.state != S.PENDING:
        return
    if order.cancel_status == "requested":
        _cancel_here(order, f"system: Link never took the order ({reason}); the cancel requested meanwhile stands")
    else:
        _move(order, "fail", f"system: submission failed: {reason}")
    order.failure_reason = reason
    order.save()


# --- Link's word on an order (events and reads) ---------------------------------------------------

MOVE, SAME, IGNORE = "move", "same", "ignore"


def _decide(current: str, target: str) -> tuple[str, str]:
    """What Link reporting ``target`` does to an order in ``current``: (MOVE | SAME | IGNORE, why)."""
    if current == target:
        return SAME, f"duplicate: order already {current}"
    if current in Order.FINAL_STATES:
        if current == S.READY and target == S.CANCELLED:
            return IGNORE, "cancel after READY: recorded, not applied"
        if current == S.FAILED:
            return IGNORE, (
                f"order FAILED here but Link reports {target}: retry its submission (Link dedupes on the "
                "external id), then reconcile"
            )
        return IGNORE, f"stale: order already {current}"
    if target in Order.FINAL_STATES or _RANK[target] > _RANK[current]:
        return MOVE, ""
    return IGNORE, f"stale: order already {current}"


def _record_report(order: Order, report: dict, now) -> None:
    target = report["state"]
    if target in (S.CONFIRMED, S.IN_PREP, S.READY) and order.confirmed_at is None:
        order.confirmed_at = now
    if report["prep_time_minutes"] is not None:
        order.prep_time_minutes = report["prep_time_minutes"]
    if report["estimated_ready_at"]:
        order.estimated_ready_at = report["estimated_ready_at"]
    if target == S.READY:
        order.ready_at = report["ready_at"] or now
    if target in (S.REJECTED, S.CANCELLED):
        order.reason_code = report["reason_code"]
        order.reason = report["reason"]
    if target == S.CANCELLED:
        order.cancelled_by = report["cancelled_by"] or "link"
    if target in Order.FINAL_STATES:
        _close(order, now)


def _apply_link_report(order: Order, report: dict, cause: str, user=None) -> str | None:
    """Apply Link's word (``payloads.order_event`` / ``routes.parse_order`` shape) to a locked order.

    Stale reports never move it back, skipping ahead is fine, final states hold. Returns None when
    applied, else why nothing changed. The caller saves.
    """
    now = timezone.now()
    if report["link_order_id"] and not order.link_order_id:
        order.link_order_id = report["link_order_id"]
    target = report["state"]
    action, why = _decide(order.state, target)
    if action == SAME and order.state in Order.FINAL_STATES:
        action = IGNORE
    if action == IGNORE:
        if target == S.CONFIRMED and order.prep_time_minutes is None:
            order.prep_time_minutes = report["prep_time_minutes"]  # a late confirm still tells the prep time
    else:
        if action == MOVE:
            _move(order, _TRANSITION_TO[target], cause, user)
        _record_report(order, report, now)
        order.link_status = report["link_status"] or routes.STATE_TO_ORDER_STATUS.get(order.state, "")
    _follow_up_cancel(order, now)
    return why if action == IGNORE else None


def order_event_from_link(event: WebhookEvent, data: dict) -> str | None:
    """``order.*`` events: matched by ``external_order_id``; an unknown order is IGNORED with why."""
    report = payloads.order_event(event.type, data)
    external_id = report["external_order_id"]
    order = (
        Order.objects.select_for_update(of=("self",))
        .select_related("store")
        .filter(external_order_id=external_id)
        .first()
    )
    if order is None:
        return f"unknown order {external_id}: not placed through this marketplace"
    venue_id = order.store.venue_id
    if event.venue_id and event.venue_id != venue_id:
        return f"venue mismatch: order {external_id} belongs to {venue_id}, the event names {event.venue_id}"
    if report["link_order_id"] and order.link_order_id and report["link_order_id"] != order.link_order_id:
        named = report["link_order_id"]
        return f"order_id mismatch: order {external_id} is {order.link_order_id} on Link, the event names {named}"
    reason = _apply_link_report(order, report, f"Link event {event.type} {event.event_id}")
    order.save()
    return reason


# --- cancel ----------------------------------------------------------------------------------------


def _unsent_call(order: Order, kind: str) -> OutboundCall | None:
    """The order's PENDING call of ``kind`` that never left (no attempt yet), locked; None if in flight."""
    return (
        OutboundCall.objects.select_for_update(skip_locked=True)
        .filter(order=order, kind=kind, status=OutboundCall.Status.PENDING, attempts=0)
        .first()
    )


def _create_cancel_call(order: Order) -> OutboundCall:
    return call_create(
        kind=OutboundCall.Kind.CANCEL_ORDER,
        method="POST",
        path=routes.cancel_order_path(order.link_order_id),
        payload=routes.cancel_order_body(order.cancel_reason_code, order.cancel_reason),
        store=order.store,
        order=order,
    )


def _follow_up_cancel(order: Order, now) -> None:
    """After anything that may teach us Link's order id or end the order: a cancel the MP asked for
    goes out once Link's id is known, and an unsent one is dropped when Link ended the order first.
    """
    if not order.cancel_requested_at or order.cancel_refused_at:
        return
    ours = order.state in Order.OPEN_STATES or (
        order.state == S.CANCELLED and order.cancelled_by == routes.CANCELLED_BY_MP
    )
    if not ours:
        unsent = _unsent_call(order, OutboundCall.Kind.CANCEL_ORDER)
        if unsent is not None:
            call_skip(unsent, f"Not needed: the order became {order.state} first.")
        if order.state == S.READY:
            order.cancel_refused_at = now
            order.cancel_refusal = "The order became READY before the cancel took effect."
        return
    if not order.link_order_id:
        return  # the submission is still on its way; this runs again when Link's id arrives
    already = OutboundCall.objects.filter(
        order=order, kind=OutboundCall.Kind.CANCEL_ORDER, created_at__gte=order.cancel_requested_at
    ).exists()
    if not already:
        _create_cancel_call(order)


def _request_cancel(order: Order, *, reason_code: str, reason: str, user, cause: str, local: bool) -> None:
    """Record the MP's cancel and send it the right way. ``local``: cancel here at once too (Link
    cancels on its side anyway, e.g. a store disconnected with in_flight=cancel)."""
    order.cancel_requested_at = timezone.now()
    order.cancel_requested_by = user
    order.cancel_reason_code = reason_code
    order.cancel_reason = reason
    order.cancel_refused_at = None
    order.cancel_refusal = ""
    unsent = None if order.link_order_id else _unsent_call(order, OutboundCall.Kind.SUBMIT_ORDER)
    if unsent is not None:
        call_skip(unsent, "The order was cancelled before its submission left.")
        _cancel_here(order, f"{cause}: cancelled before its submission left; never sent to Link", user)
        return
    if local:
        _cancel_here(order, cause, user)
    if order.link_order_id:
        _create_cancel_call(order)
    # else: the submission is in flight or left without an answer yet; _follow_up_cancel sends
    # the cancel when Link's order id arrives (the 201, or the first event naming it).


def order_cancel(order: Order, *, reason_code: str, reason: str = "", user=None, cause: str = "") -> Order:
    """MP-side cancel, allowed before READY. The order shows "cancel requested" until Link answers."""
    user = _user(user)
    cause = cause or f"{_who(user)}: cancel ({reason_code}) {reason}".strip()
    with transaction.atomic():
        order = _locked(order.pk)
        if order.state not in Order.OPEN_STATES:
            raise OrderActionRefused(
                f"Order {order} is {order.get_state_display().lower()}; only orders not yet ready can be cancelled.",
                {"state": order.state},
                code="cancel_not_allowed",
            )
        if order.cancel_status == "requested":
            return order  # already on its way; asking again changes nothing
        _request_cancel(order, reason_code=reason_code, reason=reason, user=user, cause=cause, local=False)
        order.save()
    return order


def _cancel_succeeded(call: OutboundCall, response: LinkResponse) -> None:
    _cancel_accepted(_locked(call.order_id), call)


def _cancel_accepted(order: Order, call: OutboundCall) -> None:
    if order.state in Order.OPEN_STATES:
        _cancel_here(order, f"system: Link accepted the cancel (call #{call.pk})", order.cancel_requested_by)
        order.link_status = routes.STATE_TO_ORDER_STATUS[S.CANCELLED]
        order.save()


def _cancel_failed(call: OutboundCall, reason: str) -> None:
    order = _locked(call.order_id)
    if call.last_status_code == 409:
        attempt = call.call_attempts.order_by("-number").first()
        link_status = routes.refused_cancel_status(attempt.response_body if attempt else "")
        if link_status == routes.STATE_TO_ORDER_STATUS[S.CANCELLED]:
            _cancel_accepted(order, call)  # an earlier try got through: Link says it is already cancelled
            return
    if order.state == S.CANCELLED:
        return
    order.cancel_refused_at = timezone.now()
    if call.last_status_code == 409:
        order.cancel_refusal = f"Link refused the cancel: {reason}"
    else:
        order.cancel_refusal = f"The cancel call failed: {reason}"
    order.save()


def orders_handle_store_disconnect(store: Store, *, in_flight: str, cause: str) -> None:
    """``store.disconnected``: with ``in_flight == "cancel"`` the store's orders not yet READY are
    cancelled here and toward Link where Link has them; with ``"complete"`` they go on."""
    if in_flight != "cancel":
        return
    local_cause = f"{cause}: store disconnected, in-flight orders cancelled"
    for order in Order.objects.select_for_update().filter(store=store, state__in=Order.OPEN_STATES).order_by("pk"):
        order.store = store  # the caller holds it locked; no query per order
        if order.cancel_status == "requested":
            _cancel_here(order, local_cause)  # the MP's own cancel is already on its way to Link
        else:
            _request_cancel(
                order,
                reason_code=routes.STORE_DISCONNECTED,
                reason=f"Store disconnected from Link. {store.disconnect_reason}".strip(),
                user=None,
                cause=local_cause,
                local=True,
            )
        order.save()


# --- retry, deadlines, reconcile -------------------------------------------------------------------


def order_retry_submission(order: Order, *, user=None) -> Order:
    """A FAILED order goes back to PENDING with a new submit call (same external_order_id)."""
    user = _user(user)
    with transaction.atomic():
        order = _locked(order.pk)
        if order.state != S.FAILED:
            raise OrderActionRefused(
                f"Order {order} is {order.get_state_display().lower()}; only failed orders can be submitted again.",
                {"state": order.state},
                code="retry_not_allowed",
            )
        accepting, why = selectors.store_accepting(order.store)
        if not accepting:
            raise OrderActionRefused(
                f"{order.store} does not take orders now: {why}.", {"reason": why}, code="store_not_accepting"
            )
        _move(order, "retry_submission", f"{_who(user)}: submission retried", user)
        order.failure_reason = ""
        order.pending_since = timezone.now()
        _submit(order)
        order.save()
    return order


def orders_cancel_unconfirmed(*, dry_run: bool = False) -> list[Order]:
    """Orders still PENDING past ``LINK_CONFIRM_DEADLINE`` are cancelled toward Link (UNACCEPTED)."""
    deadline = settings.LINK_CONFIRM_DEADLINE
    overdue = selectors.orders_unconfirmed(timezone.now() - timedelta(seconds=deadline))
    if dry_run:
        return list(overdue)
    cancelled = []
    for order in overdue:
        try:
            order = order_cancel(
                order,
                reason_code=routes.UNACCEPTED,
                reason=f"Not confirmed by the restaurant within {deadline} s.",
                cause=f"system: not confirmed within {deadline} s",
            )
        except OrderActionRefused:
            continue  # it moved on meanwhile
        logger.warning("order %s not confirmed within %s s: cancelling (UNACCEPTED)", order, deadline)
        cancelled.append(order)
    return cancelled


@dataclass
class ReconcileResult:
    order: Order
    link_status: str = ""
    change: str = ""
    note: str = ""


def order_reconcile(order: Order, *, dry_run: bool = False, user=None) -> ReconcileResult:
    """Read ``GET /v2/orders/{id}`` and apply Link's status under the event rules (reads need no outbox)."""
    user = _user(user)
    if not order.link_order_id:
        return ReconcileResult(order, note="not on Link yet (no Link order id); nothing to read")
    report = routes.parse_order(get_client().request("GET", routes.order_path(order.link_order_id)).data)
    result = ReconcileResult(order, link_status=report["link_status"])
    if report["state"] is None:
        result.note = f"Link reports status {report['link_status']!r}, which we do not know; left as is"
        return result
    with transaction.atomic():
        order = result.order = _locked(order.pk)
        action, why = _decide(order.state, report["state"])
        if action == MOVE:
            result.change = f"{order.state} -> {report['state']}"
        elif action == IGNORE:
            result.note = why
        if not dry_run:
            who = _who(user) if user else "system"
            _apply_link_report(order, report, f"{who}: reconcile, Link says {report['link_status']}", user)
            order.save()
    return result


call_handlers_register(OutboundCall.Kind.SUBMIT_ORDER, on_success=_submit_succeeded, on_failure=_submit_failed)
call_handlers_register(OutboundCall.Kind.CANCEL_ORDER, on_success=_cancel_succeeded, on_failure=_cancel_failed)
