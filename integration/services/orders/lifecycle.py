"""Link's word on an order (its events and reads) applied under one rule: stale reports never move it back."""

from datetime import datetime
from enum import StrEnum

from django.contrib.auth.models import User
from django.utils import timezone

from integration.link import routes
from integration.link.orders import LinkOrderReport
from integration.link.payloads import OrderEvent
from integration.models import Order, WebhookEvent
from integration.services.stores.busy import busy_auto_check

from .cancellation import follow_up_cancel
from .transitions import close, move, order_eta_set, order_link_id_set, order_save

S = Order.State
# Forward order of the open states; a report of an earlier one is stale.
_RANK: dict[str, int] = {S.PENDING: 0, S.CONFIRMED: 1, S.IN_PREP: 2}
_TRANSITION_TO: dict[str, str] = {
    S.CONFIRMED: "confirm",
    S.IN_PREP: "start_prep",
    S.READY: "mark_ready",
    S.REJECTED: "reject",
    S.CANCELLED: "cancel",
}


class ReportDecision(StrEnum):
    """What Link reporting a state does to an order (``report_decide``)."""

    MOVE = "move"  # forward (or skipping ahead): apply it
    SAME = "same"  # the order is in that state already
    IGNORE = "ignore"  # stale, or after a final state: changes nothing, with why


MOVE, SAME, IGNORE = ReportDecision.MOVE, ReportDecision.SAME, ReportDecision.IGNORE


def report_decide(current: str, target: str) -> tuple[ReportDecision, str]:
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


def _record_report(order: Order, report: LinkOrderReport, now: datetime) -> None:
    target = report.state
    if target in (S.CONFIRMED, S.IN_PREP, S.READY) and order.confirmed_at is None:
        order.confirmed_at = now
    if report.prep_time_minutes is not None:
        order.prep_time_minutes = report.prep_time_minutes
    if report.estimated_ready_at:
        order_eta_set(order, report.estimated_ready_at)
    if target == S.READY:
        order.ready_at = report.ready_at or now
    if target in (S.REJECTED, S.CANCELLED):
        order.reason_code = report.reason_code
        order.reason = report.reason
    if target == S.CANCELLED:
        order.cancelled_by = report.cancelled_by or "link"
    if target in Order.FINAL_STATES:
        close(order, now)


def report_apply(order: Order, report: LinkOrderReport, *, cause: str, user: User | None = None) -> str | None:
    """Apply Link's word (from an event or a read) to a locked order.

    Stale reports never move it back, skipping ahead is fine, final states hold. Returns None when
    applied, else why nothing changed. The caller saves with ``order_save`` (which announces the change).
    """
    now = timezone.now()
    if report.link_order_id and not order.link_order_id:
        order_link_id_set(order, report.link_order_id)
    target = report.state
    assert target is not None  # a state we know: every order.* event names one, order_reconcile checks its read
    action, why = report_decide(order.state, target)
    if action == SAME and order.state in Order.FINAL_STATES:
        action = IGNORE
    if action == IGNORE:
        if target == S.CONFIRMED and order.prep_time_minutes is None:
            order.prep_time_minutes = report.prep_time_minutes  # a late confirm still tells the prep time
    else:
        if action == MOVE:
            move(order, _TRANSITION_TO[target], cause, user)
        _record_report(order, report, now)
        order.link_status = report.link_status or routes.STATE_TO_ORDER_STATUS.get(order.state, "")
    follow_up_cancel(order, now)
    return why if action == IGNORE else None


def order_event_from_link(event: WebhookEvent, data: OrderEvent) -> str | None:
    """``order.*`` events: matched by ``external_order_id``; an unknown order is IGNORED with why."""
    report = LinkOrderReport.from_event(event.type, data)
    external_id = report.external_order_id
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
    if report.link_order_id and order.link_order_id and report.link_order_id != order.link_order_id:
        named = report.link_order_id
        return f"order_id mismatch: order {external_id} is {order.link_order_id} on Link, the event names {named}"
    reason = report_apply(order, report, cause=f"Link event {event.type} {event.event_id}")
    order_save(order)
    if reason is None:
        busy_auto_check(order)  # automatic busy mode from Link's prep times and capacity rejections (issue 28)
    return reason
