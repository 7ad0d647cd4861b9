"""Fetching a menu document: through the outbox (``fetch_menu`` calls) or at once (``menu_refresh``)."""

from django.conf import settings
from django.db import transaction

from integration.link import routes
from integration.link.client import LinkError, LinkResponse, get_client
from integration.models import Menu, OutboundCall, Store
from integration.services.errors import ActionRefused
from integration.services.outbox.calls import call_create

from .ingest import ERROR_MAX, INVALID, NOT_ON_LINK, IngestResult, menu_ingest, record_error


def pending_fetches(store_id: int):
    return OutboundCall.objects.filter(
        store_id=store_id, kind=OutboundCall.Kind.FETCH_MENU, status=OutboundCall.Status.PENDING
    )


def menu_fetch_succeeded(call: OutboundCall, response: LinkResponse) -> str | None:
    """The outbox fetched a menu (after menu.published, or an ops refresh): ingest it now.

    A document that fails validation rejects the answer: ops see a failed fetch, with the reason.
    """
    assert call.store is not None  # a menu fetch is always for its store
    result = menu_ingest(call.store, response.data)
    return result.message[:ERROR_MAX] if result.outcome == INVALID else None


def menu_fetch_failed(call: OutboundCall, reason: str) -> None:
    assert call.store is not None  # a menu fetch is always for its store
    record_error(call.store, f"fetching the menu failed ({call.path[:200]}): {reason}")


class MenuRefreshRefused(ActionRefused):
    """The store's state does not allow a refresh; the message says what would."""


def menu_refresh_enqueue(store: Store) -> tuple[OutboundCall, bool]:
    """Ops asked for a fresh copy: ``GET /v2/venues/{id}/menu`` through the outbox, then ingest.

    Returns the fetch call and whether it is new (False: one was queued already).
    """
    if store.state == Store.State.DISCONNECTED:
        raise MenuRefreshRefused(
            f"{store} is disconnected from Link, which serves it no menu; it comes back when Link reconnects it."
        )
    with transaction.atomic():
        path = routes.venue_menu_path(store.venue_id)
        queued = pending_fetches(store.pk).filter(path=path).first()
        if queued is not None:
            return queued, False
        return call_create(kind=OutboundCall.Kind.FETCH_MENU, method="GET", path=path, store=store), True


def menu_refresh(store: Store, *, force: bool = False, dry_run: bool = False) -> IngestResult:
    """Pull the currently published menu now and ingest it (synchronous; raises LinkError).

    Link's 404 is an answer, not a failure, while we have no live menu either (NOT_ON_LINK); with
    a live menu here it means the two sides disagree, and that is an error ops must see.
    """
    try:
        response = get_client().request(
            "GET", routes.venue_menu_path(store.venue_id), max_bytes=settings.LINK_MENU_MAX_BYTES
        )
    except LinkError as exc:
        live = Menu.objects.filter(store=store, state=Menu.State.PUBLISHED).exists()
        if exc.status_code == 404 and not live:
            return IngestResult(NOT_ON_LINK, f"Link has no published menu for this venue ({exc.code})")
        if not dry_run:
            note = "; our menu is live, so Link and we disagree" if exc.status_code == 404 else ""
            record_error(store, f"refreshing the menu failed: {exc}{note}")
        raise
    return menu_ingest(store, response.data, force=force, dry_run=dry_run)
