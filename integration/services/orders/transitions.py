"""Shared by the orders services: the locked read, a transition and its announcement, the MP's cancel taking effect."""

import logging

from django.db import transaction
from django.utils import timezone

from integration.link import routes
from integration.models import Order
from integration.signals import order_state_changed

logger = logging.getLogger(__name__)


def user_or_none(user):
    return user if user is not None and getattr(user, "is_authenticated", False) else None


def who(user) -> str:
    return f"user {user.get_username()}" if user is not None else "marketplace"


def locked(order_id: int) -> Order:
    return Order.objects.select_for_update().get(pk=order_id)


def move(order: Order, transition: str, cause: str, user=None) -> None:
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


def close(order: Order, now) -> None:
    order.closed_at = order.closed_at or now


def cancel_here(order: Order, cause: str, user=None) -> None:
    """The MP's own cancel takes effect locally (Link agreed, or Link never had the order)."""
    move(order, "cancel", cause, user)
    order.reason_code = order.cancel_reason_code
    order.reason = order.cancel_reason
    order.cancelled_by = routes.CANCELLED_BY_MP
    close(order, timezone.now())
