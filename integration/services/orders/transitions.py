"""Shared by the orders services: the locked read, a transition and its announcement, the MP's cancel taking effect."""

import logging
from datetime import datetime

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.utils import timezone

from integration.link import routes
from integration.models import Order
from integration.signals import order_state_changed

logger = logging.getLogger(__name__)

# Who asked: a signed-in user, or the marketplace itself (None, or an anonymous request).
Actor = AbstractBaseUser | AnonymousUser | None


def user_or_none(user: Actor) -> AbstractBaseUser | None:
    return user if user is not None and getattr(user, "is_authenticated", False) else None


def who(user: AbstractBaseUser | None) -> str:
    return f"user {user.get_username()}" if user is not None else "marketplace"


def locked(order_id: int) -> Order:
    return Order.objects.select_for_update().get(pk=order_id)


def move(order: Order, transition: str, cause: str, user: AbstractBaseUser | None = None) -> None:
    """Run one transition (logged with its cause by django-fsm-log) and announce it after commit."""
    old = order.state
    getattr(order, transition)(by=user, description=cause)
    change = {"order_id": order.pk, "external_order_id": order.external_order_id, "old_state": old}
    change |= {"new_state": order.state, "cause": cause}
    transaction.on_commit(lambda: _announce(change))


def _announce(change: dict) -> None:
    for receiver, result in order_state_changed.send_robust(sender=Order, **change):
        if isinstance(result, Exception):
            logger.error("order_state_changed receiver %r failed", receiver, exc_info=result)


def close(order: Order, now: datetime) -> None:
    order.closed_at = order.closed_at or now


def cancel_here(order: Order, cause: str, user: AbstractBaseUser | None = None) -> None:
    """The MP's own cancel takes effect locally (Link agreed, or Link never had the order)."""
    move(order, "cancel", cause, user)
    order.reason_code = order.cancel_reason_code
    order.reason = order.cancel_reason
    order.cancelled_by = routes.CANCELLED_BY_MP
    close(order, timezone.now())
