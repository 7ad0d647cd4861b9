"""Shared by the orders services: the locked read, the one door for a state change, saving an order with the MP
events it announces, the MP's cancel taking effect.

Every change MP services hear about is noted where it is made: ``move()`` (the entered state's event),
``order_link_id_set`` (``order.submitted``), ``order_eta_set`` (``order.eta_changed``) and
``order_cancel_refused`` (``order.cancel_refused``). ``order_save()`` saves the order and then emits what
was noted, in the caller's transaction, with the order as saved (a rolled-back change announces nothing).
"""

import logging
from datetime import datetime

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.utils import timezone

from integration.link import routes
from integration.models import Order, OutboundCall
from integration.models.order import MOVING
from integration.services.mp_events.events import (
    ORDER_CANCEL_REFUSED,
    ORDER_ETA_CHANGED,
    ORDER_SUBMITTED,
    order_entered_event,
    order_events_emit,
    order_events_in_order,
    order_state_event,
)
from integration.signals import order_state_changed

logger = logging.getLogger(__name__)

# Who asked: a signed-in user (AUTH_USER_MODEL is Django's User), or the marketplace itself (None, or an
# anonymous request).
Actor = User | AnonymousUser | None


def user_or_none(user: Actor) -> User | None:
    return None if user is None or isinstance(user, AnonymousUser) or not user.is_authenticated else user


def call_order_id(call: OutboundCall) -> int:
    """The order a call about an order is for (the column is nullable: other calls have none)."""
    assert call.order_id is not None
    return call.order_id


def who(user: User | None) -> str:
    return f"user {user.get_username()}" if user is not None else "marketplace"


def locked(order_id: int) -> Order:
    return Order.objects.select_for_update().get(pk=order_id)


# Where an order keeps the MP events noted since it was last saved (see order_save).
_NOTED = "_mp_events_noted"


def order_announce(order: Order, type_: str) -> None:
    """Note an MP event this change makes; ``order_save`` emits it once the order is saved. A state's event
    replaces an earlier one of the same save (the order announces the state it ends in)."""
    noted = order.__dict__.setdefault(_NOTED, [])
    if order_state_event(type_):
        noted[:] = [t for t in noted if not order_state_event(t)]
    if type_ not in noted:
        noted.append(type_)


def order_save(order: Order) -> None:
    """Save the order, then emit the MP events noted since its last save (in the caller's transaction,
    with the order as saved: the events carry what the API shows)."""
    order.save()
    order_events_emit(order, order_events_in_order(order.__dict__.pop(_NOTED, [])))


def move(order: Order, transition: str, cause: str, user: User | None = None) -> None:
    """The one door for an order's state: run one transition (logged with its cause by django-fsm-log),
    note the MP event of the state it enters (``order.confirmed`` ... ``order.failed``; see
    ``order_entered_event``) for ``order_save``, and send ``order_state_changed`` after commit.

    The state field is protected (assigning it raises) and the transitions refuse to run outside this
    function (``TransitionOutsideMove``), so no state change can skip its announcement.
    """
    old = order.state
    order.__dict__[MOVING] = True
    try:
        getattr(order, transition)(by=user, description=cause)
    finally:
        order.__dict__.pop(MOVING, None)
    if entered := order_entered_event(order.state):
        order_announce(order, entered)
    change = {"order_id": order.pk, "external_order_id": order.external_order_id, "old_state": old}
    change |= {"new_state": order.state, "cause": cause}
    transaction.on_commit(lambda: _announce(change))


def _announce(change: dict) -> None:
    for receiver, result in order_state_changed.send_robust(sender=Order, **change):
        if isinstance(result, Exception):
            logger.error("order_state_changed receiver %r failed", receiver, exc_info=result)


def order_link_id_set(order: Order, link_order_id: str) -> None:
    """Link's order id; the first one set announces ``order.submitted`` (Link has the order)."""
    first = not order.link_order_id and link_order_id
    order.link_order_id = link_order_id
    if first:
        order_announce(order, ORDER_SUBMITTED)


def order_eta_set(order: Order, estimated_ready_at) -> None:
    """A new estimated ready time announces ``order.eta_changed`` (``order.confirmed`` carries it instead)."""
    changed = estimated_ready_at != order.estimated_ready_at
    order.estimated_ready_at = estimated_ready_at
    if changed:
        order_announce(order, ORDER_ETA_CHANGED)


def order_cancel_refused(order: Order, at: datetime, refusal: str) -> None:
    """The MP's cancel did not take effect; announces ``order.cancel_refused``."""
    changed = at != order.cancel_refused_at
    order.cancel_refused_at = at
    order.cancel_refusal = refusal
    if changed:
        order_announce(order, ORDER_CANCEL_REFUSED)


def close(order: Order, now: datetime) -> None:
    order.closed_at = order.closed_at or now


def cancel_here(order: Order, cause: str, user: User | None = None) -> None:
    """The MP's own cancel takes effect locally (Link agreed, or Link never had the order)."""
    move(order, "cancel", cause, user)
    order.reason_code = order.cancel_reason_code
    order.reason = order.cancel_reason
    order.cancelled_by = routes.CANCELLED_BY_MP
    close(order, timezone.now())
