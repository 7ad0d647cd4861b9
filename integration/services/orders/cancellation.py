"""The MP's cancel, either way: sent to Link once Link's order id is known, taking effect when Link agrees."""

from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from integration.link import routes
from integration.link.client import LinkResponse
from integration.models import Order, OutboundCall, Store
from integration.services.outbox.calls import call_create, call_skip

from .errors import OrderActionRefused
from .transitions import Actor, call_order_id, cancel_here, locked, order_cancel_refused, order_save, user_or_none, who

S = Order.State


def _unsent_call(order: Order, kind: str) -> OutboundCall | None:
    """The order's PENDING call of ``kind`` that never left (no attempt yet), locked; None if in flight."""
    return (
        OutboundCall.objects.select_for_update(skip_locked=True)
        .filter(order=order, kind=kind, status=OutboundCall.Status.PENDING, attempts=0)
        .first()
    )


def _create_cancel_call(order: Order) -> OutboundCall:
    assert order.link_order_id  # both callers send a cancel only once Link has named the order
    return call_create(
        kind=OutboundCall.Kind.CANCEL_ORDER,
        method="POST",
        path=routes.cancel_order_path(order.link_order_id),
        payload=routes.cancel_order_body(order.cancel_reason_code, order.cancel_reason),
        store=order.store,
        order=order,
    )


def follow_up_cancel(order: Order, now: datetime) -> None:
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
            order_cancel_refused(order, now, "The order became READY before the cancel took effect.")
        return
    if not order.link_order_id:
        return  # the submission is still on its way; this runs again when Link's id arrives
    already = OutboundCall.objects.filter(
        order=order, kind=OutboundCall.Kind.CANCEL_ORDER, created_at__gte=order.cancel_requested_at
    ).exists()
    if not already:
        _create_cancel_call(order)


def _request_cancel(order: Order, *, reason_code: str, reason: str, user: User | None, cause: str, local: bool) -> None:
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
        cancel_here(order, f"{cause}: cancelled before its submission left; never sent to Link", user)
        return
    if local:
        cancel_here(order, cause, user)
    if order.link_order_id:
        _create_cancel_call(order)
    # else: the submission is in flight or left without an answer yet; _follow_up_cancel sends
    # the cancel when Link's order id arrives (the 201, or the first event naming it).


def order_cancel(order: Order, *, reason_code: str, reason: str = "", user: Actor = None, cause: str = "") -> Order:
    """MP-side cancel, allowed before READY. The order shows "cancel requested" until Link answers."""
    user = user_or_none(user)
    cause = cause or f"{who(user)}: cancel ({reason_code}) {reason}".strip()
    with transaction.atomic():
        order = locked(order.pk)
        if order.state not in Order.OPEN_STATES:
            raise OrderActionRefused(
                f"Order {order} is {order.get_state_display().lower()}; only orders not yet ready can be cancelled.",
                {"state": order.state},
                code="cancel_not_allowed",
            )
        if order.cancel_status == Order.CancelStatus.REQUESTED:
            return order  # already on its way; asking again changes nothing
        _request_cancel(order, reason_code=reason_code, reason=reason, user=user, cause=cause, local=False)
        order_save(order)
    return order


def order_cancel_succeeded(call: OutboundCall, response: LinkResponse) -> None:
    _cancel_accepted(locked(call_order_id(call)), call)


def _cancel_accepted(order: Order, call: OutboundCall) -> None:
    if order.state in Order.OPEN_STATES:
        cancel_here(order, f"system: Link accepted the cancel (call #{call.pk})", order.cancel_requested_by)
        order.link_status = routes.STATE_TO_ORDER_STATUS[S.CANCELLED]
        order_save(order)


def order_cancel_failed(call: OutboundCall, reason: str) -> None:
    order = locked(call_order_id(call))
    if call.last_status_code == 409:
        attempt = call.call_attempts.order_by("-number").first()
        link_status = routes.refused_cancel_status(attempt.response_body if attempt else "")
        if link_status == routes.STATE_TO_ORDER_STATUS[S.CANCELLED]:
            _cancel_accepted(order, call)  # an earlier try got through: Link says it is already cancelled
            return
    if order.state == S.CANCELLED:
        return
    if call.last_status_code == 409:
        refusal = f"Link refused the cancel: {reason}"
    else:
        refusal = f"The cancel call failed: {reason}"
    order_cancel_refused(order, timezone.now(), refusal)
    order_save(order)


def order_cancel_retry_refusal(call: OutboundCall) -> str | None:
    order = Order.objects.only("state").get(pk=call_order_id(call))
    if order.state not in Order.OPEN_STATES:
        return f"the order is {order.get_state_display().lower()} now; there is nothing to cancel."
    return None


def orders_handle_store_disconnect(store: Store, *, in_flight: str, cause: str) -> None:
    """``store.disconnected``: with ``in_flight == "cancel"`` the store's orders not yet READY are
    cancelled here and toward Link where Link has them; with ``"complete"`` they go on."""
    if in_flight != "cancel":
        return
    local_cause = f"{cause}: store disconnected, in-flight orders cancelled"
    for order in Order.objects.select_for_update().filter(store=store, state__in=Order.OPEN_STATES).order_by("pk"):
        order.store = store  # the caller holds it locked; no query per order
        if order.cancel_status == Order.CancelStatus.REQUESTED:
            cancel_here(order, local_cause)  # the MP's own cancel is already on its way to Link
        else:
            _request_cancel(
                order,
                reason_code=routes.STORE_DISCONNECTED,
                reason=f"Store disconnected from Link. {store.disconnect_reason}".strip(),
                user=None,
                cause=local_cause,
                local=True,
            )
        order_save(order)
