"""Putting orders right: a failed submission retried, unconfirmed orders cancelled, Link's status read back."""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from integration.link import routes
from integration.link.client import get_client
from integration.link.orders import LinkOrderReport
from integration.models import Order
from integration.selectors.orders import orders_unconfirmed
from integration.selectors.stores import store_accepting

from .cancellation import order_cancel
from .errors import OrderActionRefused
from .lifecycle import IGNORE, MOVE, report_apply, report_decide
from .submission import order_submit_call_create
from .transitions import Actor, locked, move, order_save, user_or_none, who

logger = logging.getLogger(__name__)


def order_retry_submission(order: Order, *, user: Actor = None) -> Order:
    """A FAILED order goes back to PENDING with a new submit call (same external_order_id)."""
    user = user_or_none(user)
    with transaction.atomic():
        order = locked(order.pk)
        if order.state != Order.State.FAILED:
            raise OrderActionRefused(
                f"Order {order} is {order.get_state_display().lower()}; only failed orders can be submitted again.",
                {"state": order.state},
                code="retry_not_allowed",
            )
        accepting, why = store_accepting(order.store)
        if not accepting:
            raise OrderActionRefused(
                f"{order.store} does not take orders now: {why}.", {"reason": why}, code="store_not_accepting"
            )
        move(order, "retry_submission", f"{who(user)}: submission retried", user)
        order.failure_reason = ""
        order.pending_since = timezone.now()
        order.submitted_at = None  # set again by Link's 201 for this submission
        order_submit_call_create(order)
        order_save(order)
    return order


def orders_cancel_unconfirmed(*, dry_run: bool = False) -> list[Order]:
    """Orders still PENDING past ``LINK_CONFIRM_DEADLINE`` are cancelled toward Link (UNACCEPTED)."""
    deadline = settings.LINK_CONFIRM_DEADLINE
    overdue = orders_unconfirmed(timezone.now() - timedelta(seconds=deadline))
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


def order_reconcile(order: Order, *, dry_run: bool = False, user: Actor = None) -> ReconcileResult:
    """Read ``GET /v2/orders/{id}`` and apply Link's status under the event rules (reads need no outbox)."""
    user = user_or_none(user)
    if not order.link_order_id:
        return ReconcileResult(order, note="not on Link yet (no Link order id); nothing to read")
    report = LinkOrderReport.from_read(get_client().request("GET", routes.order_path(order.link_order_id)).data)
    result = ReconcileResult(order, link_status=report.link_status)
    if report.state is None:
        result.note = f"Link reports status {report.link_status!r}, which we do not know; left as is"
        return result
    with transaction.atomic():
        order = result.order = locked(order.pk)
        action, why = report_decide(order.state, report.state)
        if action == MOVE:
            result.change = f"{order.state} -> {report.state}"
        elif action == IGNORE:
            result.note = why
        if not dry_run:
            by = who(user) if user else "system"
            report_apply(order, report, cause=f"{by}: reconcile, Link says {report.link_status}", user=user)
            order_save(order)
    return result
