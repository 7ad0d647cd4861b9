"""Stores: whether one takes orders now (state, mapping, menu, opening hours), and lookups."""

from datetime import datetime, timedelta

from django.db.models import F, Prefetch, Q
from django.utils import timezone

from integration.models import Menu, SpecialHours, Store
from integration.selectors.hours import hours_open_at, special_hours_describe, store_local_date, store_special_hours


def store_menu(store: Store) -> Menu | None:
    """The store's menu without a query when it was loaded with ``select_related("menu")``."""
    return getattr(store, "menu", None)


def store_published_menu(store: Store) -> Menu | None:
    """The store's menu if it is published; no query when loaded with ``select_related("menu")``."""
    menu = store_menu(store)
    return menu if menu is not None and menu.state == Menu.State.PUBLISHED else None


def store_accepting(store: Store, at: datetime | None = None) -> tuple[bool, str]:
    """Whether the store takes orders now, and if not, the first reason why.

    Load stores with ``select_related("menu")`` to avoid a query per store.
    """
    if store.state == Store.State.DISCONNECTED:
        return False, "disconnected from Link"
    if store.state == Store.State.PAUSED:
        return False, f"paused: {store.pause_reason}" if store.pause_reason else "paused"
    if not store.external_store_id:
        return False, "not mapped to an MP storefront"
    menu = store_published_menu(store)
    if menu is None:
        return False, "no published menu"
    at = at or timezone.now()
    special = store_special_hours(store, at)
    if not hours_open_at(menu.hours, store.timezone, at, special):
        today = special.get(store_local_date(store, at))
        if today is not None:  # the date's special hours decided (issue 28)
            return False, f"special hours: {special_hours_describe(today)} ({store.timezone})"
        return False, f"closed now (outside its opening hours, {store.timezone})"
    return True, ""


def special_hours_near() -> Prefetch:
    """Special hours of the dates any zone may be on around now (what ``store_special_hours`` reads)."""
    today = timezone.now().date()
    near = SpecialHours.objects.filter(date__gte=today - timedelta(days=2), date__lte=today + timedelta(days=2))
    return Prefetch("special_hours", queryset=near)


def stores_for_api():
    return Store.objects.select_related("menu", "busy").prefetch_related(special_hours_near()).order_by("name", "id")


def store_by_public_id(identifier: str) -> Store | None:
    """A store by the MP storefront id (preferred) or by Link's venue id; None if neither matches."""
    matches = list(stores_for_api().filter(Q(external_store_id=identifier) | Q(venue_id=identifier))[:2])
    for store in matches:
        if store.external_store_id == identifier:
            return store
    return matches[0] if matches else None


def stores_paused(limit: int = 5) -> list[Store]:
    """The most recently paused stores, with who paused them (for the dashboard)."""
    return list(
        Store.objects.filter(state=Store.State.PAUSED)
        .select_related("paused_by")
        .order_by(F("paused_at").desc(nulls_last=True), "-pk")[:limit]
    )
