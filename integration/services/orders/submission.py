"""Submitting an order to Link: the submit call, and the outbox's answers to it."""

import logging

from django.utils import timezone

from integration import metrics
from integration.link import routes
from integration.link.client import LinkResponse
from integration.models import Order, OrderLine, OutboundCall
from integration.services.outbox.calls import call_create

from .cancellation import follow_up_cancel
from .transitions import call_order_id, cancel_here, locked, move, order_link_id_set, order_save

logger = logging.getLogger(__name__)


def order_submit_call_create(order: Order, lines: list[OrderLine] | None = None) -> OutboundCall:
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
    )


def order_submit_succeeded(call: OutboundCall, response: LinkResponse) -> None:
    answer = routes.parse_submit_response(response.data)
    order = locked(call_order_id(call))
    now = timezone.now()
    if order.submitted_at is None:
        metrics.on_commit(metrics.order_submitted, order.placed_at)
        if order.state == Order.State.PENDING:
            order.pending_since = now  # the confirm deadline counts from Link's 201, not from placement
    order.submitted_at = order.submitted_at or now
    link_id = answer["link_order_id"]
    if link_id and order.link_order_id and link_id != order.link_order_id:
        logger.warning("order %s: Link's 201 names %s, events named %s", order, link_id, order.link_order_id)
    elif link_id:
        order_link_id_set(order, link_id)
    if order.state == Order.State.PENDING and not order.link_status:
        order.link_status = answer["status"]
    order.failure_reason = ""
    follow_up_cancel(order, now)
    order_save(order)


def order_submit_failed(call: OutboundCall, reason: str) -> None:
    order = locked(call_order_id(call))
    if order.link_order_id:
        # Link's own events named the order, so a try did land; its events keep driving it.
        logger.warning("order %s: submit call #%s failed (%s) but Link has the order", order, call.pk, reason)
        return
    if order.state != Order.State.PENDING:
        return
    if order.cancel_status == Order.CancelStatus.REQUESTED:
        cancel_here(order, f"system: Link never took the order ({reason}); the cancel requested meanwhile stands")
    else:
        move(order, "fail", f"system: submission failed: {reason}")
    order.failure_reason = reason
    order_save(order)


def order_submit_retry_refusal(call: OutboundCall) -> str:
    return (
        "it submits an order, and its order failed with it: use 'Retry submission' on the order "
        "(that checks the store and sends it again as a new call)."
    )
