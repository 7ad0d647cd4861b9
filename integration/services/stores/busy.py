"""Busy mode (issue 28): a swamped kitchen quotes longer prep times and, optionally, takes at most N orders
per trailing 15 minutes. It ends by itself at ``until`` (worked out at read time; the sweep then removes the
row and announces the end). Automatic busy (``AUTO_BUSY``) starts it from Link's own signals.

The cap is exact under concurrent orders: ``busy_admit`` runs inside the placing transaction, takes the store's
busy advisory lock and counts the trailing window there, so two orders never both take the last slot.
"""

import logging
import math
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from integration.locks import advisory_xact_lock
from integration.models import Order, Store, StoreBusy, StoreTimelineEntry, Via
from integration.selectors.busy import busy_public, store_busy
from integration.services.errors import ActionRefused
from integration.services.mp_events.events import STORE_BUSY_CHANGED, event_emit, store_ref
from integration.services.orders.errors import StoreNotAccepting

from .timeline import timeline_record, who

logger = logging.getLogger(__name__)

WINDOW = timedelta(minutes=15)
# Orders that do not load the kitchen: Link never took them, or the restaurant turned them down.
NOT_COUNTED = (Order.State.FAILED, Order.State.REJECTED)
# Link's rejection reason for capacity (link-contract.md, order.rejected).
CAPACITY_REJECTION = "KITCHEN_BUSY"
AUTO_PREP_SAMPLE = 5
AUTO_REJECTIONS = 3
MAX_EXTRA_PREP = 240
MAX_CAP = 1000
MAX_BUSY = timedelta(days=7)
# Any distinct 32-bit key: with a store's pk, the lock under which its busy cap is counted.
_BUSY_LOCK = 0x6C62_6273


class BusyRefused(ActionRefused):
    """A busy setting that cannot be taken; the message says why."""


class StoreBusyCapped(StoreNotAccepting):
    """The busy store's cap is reached: 409 ``store_busy`` with ``Retry-After`` (seconds until a slot frees)."""

    code = "store_busy"

    def __init__(self, message: str, details: dict, retry_after: int):
        super().__init__(message, details)
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}


def _announce(store: Store, change: str, busy: StoreBusy | None, **extra) -> None:
    data = {"store": store_ref(store), "busy": busy is not None, "change": change, **(busy_public(busy) or {}), **extra}
    event_emit(STORE_BUSY_CHANGED, data, store=store)


def _describe(busy: StoreBusy) -> str:
    cap = f", at most {busy.max_orders_per_15_min} orders per 15 min" if busy.max_orders_per_15_min else ""
    until = f" until {busy.until:%Y-%m-%d %H:%M} UTC" if busy.until else " until ended"
    return f"+{busy.extra_prep_minutes} min prep{cap}{until}"


def store_busy_set(
    store: Store,
    *,
    extra_prep_minutes: int,
    until: datetime | None = None,
    max_orders_per_15_min: int | None = None,
    user=None,
    via: str = Via.API,
    trigger: str = "",
) -> StoreBusy:
    """Make the store busy (or change its busy settings): recorded on its timeline, announced as
    ``store.busy_changed``."""
    now = timezone.now()
    if not 0 <= extra_prep_minutes <= MAX_EXTRA_PREP:
        raise BusyRefused(f"extra_prep_minutes must be from 0 to {MAX_EXTRA_PREP}.")
    if max_orders_per_15_min is not None and not 1 <= max_orders_per_15_min <= MAX_CAP:
        raise BusyRefused(f"max_orders_per_15_min must be from 1 to {MAX_CAP}, or null for no cap.")
    if until is not None and until <= now:
        raise BusyRefused(f"{until.isoformat()} has passed: busy mode ends in the future (or null: until ended).")
    if until is not None and until > now + MAX_BUSY:
        raise BusyRefused("Busy mode lasts at most 7 days; end it or set it again later.")
    with transaction.atomic():
        store = Store.objects.select_for_update().get(pk=store.pk)
        busy = StoreBusy.objects.filter(store=store).first()
        change = "updated" if busy is not None and store_busy(store, now) is not None else "started"
        if busy is None or change == "started":
            busy = busy or StoreBusy(store=store)
            busy.since = now
        busy.extra_prep_minutes, busy.until = extra_prep_minutes, until
        busy.max_orders_per_15_min = max_orders_per_15_min
        busy.set_by, busy.via, busy.trigger = (user if via != Via.AUTO else None), via, trigger
        busy.save()
        what = f"busy {change}: {_describe(busy)}"
        timeline_record(
            store,
            area=StoreTimelineEntry.Area.STORE,
            action=f"busy_{change}",
            summary=f"{what}, by {trigger or who(user)}",
            via=via,
            by=user,
            data=busy_public(busy),
        )
        _announce(store, change, busy)
    logger.info("store %s %s", store.venue_id, what)
    return busy


def _end(store: Store, busy: StoreBusy, *, via: str, user=None, why: str) -> None:
    busy.delete()
    timeline_record(
        store,
        area=StoreTimelineEntry.Area.STORE,
        action="busy_ended",
        summary=f"busy ended ({why})",
        via=via,
        by=user,
        data={"was": busy_public(busy)},
    )
    _announce(store, "ended", None, ended_by=via, was=busy_public(busy))


def store_busy_end(store: Store, *, user=None, via: str = Via.API) -> bool:
    """End busy mode now (also an automatic one); False when the store was not busy."""
    with transaction.atomic():
        store = Store.objects.select_for_update().get(pk=store.pk)
        busy = StoreBusy.objects.filter(store=store).first()
        if busy is None or (busy.until is not None and busy.until <= timezone.now()):
            return False
        _end(store, busy, via=via, user=user, why=f"by {who(user)}")
    return True


def busy_expire(now: datetime | None = None) -> int:
    """The sweep: busy modes whose ``until`` passed are removed and their end announced."""
    now = now or timezone.now()
    ended = 0
    for pk in list(StoreBusy.objects.filter(until__lte=now).values_list("store_id", flat=True)[:500]):
        with transaction.atomic():
            store = Store.objects.select_for_update().get(pk=pk)
            busy = StoreBusy.objects.filter(store=store, until__lte=now).first()
            if busy is None:
                continue
            _end(store, busy, via=Via.TIME, why=f"its time came, {busy.until:%Y-%m-%d %H:%M} UTC")
            ended += 1
    return ended


def busy_admit(store: Store, now: datetime | None = None) -> StoreBusy | None:
    """Inside the transaction that creates an order: refuse it (``StoreBusyCapped``) when the busy store's cap
    for the trailing 15 minutes is reached. Without a cap this is one indexed read (none with the row loaded)."""
    busy = store_busy(store, now)
    if busy is None or not busy.max_orders_per_15_min:
        return busy
    advisory_xact_lock(_BUSY_LOCK, store.pk)  # held until the order commits: the count below stays true
    now = timezone.now()
    placed = list(
        Order.objects.filter(store_id=store.pk, placed_at__gt=now - WINDOW)
        .exclude(state__in=NOT_COUNTED)
        .order_by("placed_at")
        .values_list("placed_at", flat=True)
    )
    cap = busy.max_orders_per_15_min
    if len(placed) < cap:
        return busy
    frees_at = placed[len(placed) - cap] + WINDOW
    retry_after = max(1, math.ceil((frees_at - now).total_seconds()))
    raise StoreBusyCapped(
        f"{store} is busy and takes at most {cap} orders per 15 minutes; a slot frees in {retry_after} s.",
        {"store": store.external_store_id or store.venue_id, "retry_after": retry_after, "busy": busy_public(busy)},
        retry_after,
    )


def busy_auto_check(order: Order) -> StoreBusy | None:
    """After Link's word on ``order`` was applied (``AUTO_BUSY`` on): the store goes busy for
    ``AUTO_BUSY_MINUTES`` when its last five confirmed prep times average over ``AUTO_BUSY_PREP_MINUTES``, or
    when three of its orders were rejected for capacity in 15 minutes. Not while it is busy already, nor
    within ``AUTO_BUSY_MINUTES`` of a person ending busy mode (ops' decision stands)."""
    if not settings.AUTO_BUSY:
        return None
    now = timezone.now()
    store = order.store
    if StoreBusy.objects.filter(store=store).exclude(until__lte=now).exists():
        return None
    quiet = now - timedelta(minutes=settings.AUTO_BUSY_MINUTES)
    ended_by_person = StoreTimelineEntry.objects.filter(
        store=store, action="busy_ended", via__in=(Via.API, Via.ADMIN), at__gte=quiet
    )
    if ended_by_person.exists():
        return None
    trigger = ""
    if order.state == Order.State.REJECTED and order.reason_code == CAPACITY_REJECTION:
        rejected = Order.objects.filter(
            store=store, state=Order.State.REJECTED, reason_code=CAPACITY_REJECTION, closed_at__gte=now - WINDOW
        ).count()
        if rejected >= AUTO_REJECTIONS:
            trigger = f"automatic: {rejected} orders rejected for capacity ({CAPACITY_REJECTION}) in 15 minutes"
    elif order.prep_time_minutes is not None:
        confirmed = Order.objects.filter(store=store, prep_time_minutes__isnull=False, confirmed_at__isnull=False)
        last = [
            minutes
            for minutes in confirmed.order_by("-confirmed_at", "-pk").values_list("prep_time_minutes", flat=True)[
                :AUTO_PREP_SAMPLE
            ]
            if minutes is not None
        ]
        average = sum(last) / len(last) if last else 0
        if len(last) == AUTO_PREP_SAMPLE and average > settings.AUTO_BUSY_PREP_MINUTES:
            trigger = (
                f"automatic: Link's prep times of the last {AUTO_PREP_SAMPLE} orders average {average:.0f} min "
                f"(over {settings.AUTO_BUSY_PREP_MINUTES})"
            )
    if not trigger:
        return None
    return store_busy_set(
        store,
        extra_prep_minutes=settings.AUTO_BUSY_EXTRA_PREP_MINUTES,
        until=now + timedelta(minutes=settings.AUTO_BUSY_MINUTES),
        via=Via.AUTO,
        trigger=trigger,
    )
