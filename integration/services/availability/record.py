"""The append-only record: a row per change of a store's standing, and per opening or closing of Link's circuit.

``availability_record`` is called by ``mp_events.events.store_accepting_announce`` (THE hook every store and
menu change goes through), inside the change's transaction and under its per-store lock, so the record
commits or rolls back with the change. ``link_reachability_record`` is called where the outbox opens or
closes a Link host's circuit.
"""

from datetime import datetime

from django.utils import timezone

from integration.models import AvailabilityChange, LinkReachability, Store
from integration.selectors.availability import store_availability_cause, store_hours_on_record


def availability_record(store: Store, *, at: datetime | None = None) -> AvailabilityChange | None:
    """A row when the store's ``(cause, hours)`` differs from its last row; None when nothing changed.

    The caller holds the store's announce lock (``store_accepting_announce``), so two transactions
    never both append the same change."""
    cause, detail, actor = store_availability_cause(store)
    hours = store_hours_on_record(store)
    last = AvailabilityChange.objects.filter(store_id=store.pk).order_by("-at", "-id").values("cause", "hours").first()
    if last is not None and last["cause"] == cause and last["hours"] == hours:
        return None
    return AvailabilityChange.objects.create(
        store_id=store.pk, at=at or timezone.now(), cause=cause, hours=hours, detail=detail[:500], actor=actor[:200]
    )


def link_reachability_record(host: str, reachable: bool, *, at: datetime | None = None) -> LinkReachability:
    """Link's circuit for ``host`` closed (``reachable``) or opened, at ``at`` (now)."""
    return LinkReachability.objects.create(host=host, reachable=reachable, at=at or timezone.now())
