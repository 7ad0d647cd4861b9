"""The ops console: what needs a person. One condition per item serves its dashboard card and the
changelist filter that lands on exactly those rows."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, Model, OuterRef, Q
from django.utils import timezone

from integration.counting import capped_counts
from integration.models import Menu, MenuVersion, Order, OutboundCall, Store, WebhookEndpoint, WebhookEvent
from integration.selectors.calls import calls_failed_unsettled
from integration.selectors.snoozes import menus_with_long_snoozes


@dataclass(frozen=True)
class Attention:
    """Rows that need a person: one dashboard card, and the changelist filter (``?attention=key``)
    that lands on exactly those rows. ``where(now)`` is the condition."""

    key: str
    model: type[Model]
    label: str
    todo: str
    where: Callable[[datetime], Q]


def _recent(now: datetime) -> datetime:
    return now - timedelta(hours=settings.OPS_ATTENTION_HOURS)


def _overdue(now: datetime) -> Q:
    # As orders_unconfirmed: the deadline counts from pending_since (placed_at for orders from before it),
    # which Link's 201 sets; an order Link has not taken yet is not late to be confirmed.
    cutoff = now - timedelta(seconds=settings.LINK_CONFIRM_DEADLINE)
    return Q(state=Order.State.PENDING, submitted_at__isnull=False) & (
        Q(pending_since__lt=cutoff) | Q(pending_since__isnull=True, placed_at__lt=cutoff)
    )


def _failed_call_unresolved(now: datetime) -> Q:
    return calls_failed_unsettled() & Q(completed_at__gte=_recent(now))


ATTENTION = [
    Attention(
        "unmapped",
        Store,
        "Unmapped stores",
        "Open each store and enter its MP storefront id: until then it takes no orders.",
        lambda now: (Q(external_store_id__isnull=True) | Q(external_store_id="")) & ~Q(state=Store.State.DISCONNECTED),
    ),
    Attention(
        "paused",
        Store,
        "Paused stores",
        "Resume a store once the reason is gone; a pause with an end time resumes by itself.",
        lambda now: Q(state=Store.State.PAUSED),
    ),
    Attention(
        "overdue",
        Order,
        "Orders pending past the confirm deadline",
        "The sweep asks Link to cancel these (UNACCEPTED); reconcile one that stays, or call the restaurant.",
        _overdue,
    ),
    Attention(
        "failed",
        Order,
        "Failed orders (last {hours} h)",
        "Link never took them: retry the submission once the store takes orders, else tell the customer.",
        lambda now: Q(state=Order.State.FAILED, placed_at__gte=_recent(now)),
    ),
    Attention(
        "cancel_refused",
        Order,
        "Cancels refused by Link (last {hours} h)",
        "The restaurant goes on with these: call it, or let the order finish and refund the customer.",
        lambda now: Q(cancel_refused_at__gte=_recent(now)),
    ),
    Attention(
        "failed",
        OutboundCall,
        "Failed calls to Link not since settled (last {hours} h)",
        "Read the last error; Retry now once its cause is fixed (an order's submission: retry it on the order).",
        _failed_call_unresolved,
    ),
    Attention(
        "failed",
        WebhookEvent,
        "Failed webhook events",
        "Read the error and traceback on the event; Replay it once the cause is fixed.",
        lambda now: Q(status=WebhookEvent.Status.FAILED),
    ),
    Attention(
        "failing",
        WebhookEndpoint,
        "MP webhook endpoints failing for over an hour",
        "Their deliveries are being retried; tell the owner. After MP_WEBHOOK_DISABLE_AFTER_HOURS they are disabled.",
        lambda now: Q(enabled=True, failing_since__lt=now - timedelta(hours=1)),
    ),
    Attention(
        "disabled",
        WebhookEndpoint,
        "MP webhook endpoints disabled by failures",
        "Tell the endpoint's owner (410 Gone, or days without one delivery); Re-enable once it answers again.",
        lambda now: Q(enabled=False, auto_disabled=True),
    ),
    Attention(
        "failed",
        Menu,
        "Menus that failed to fetch or validate",
        "The live menu stays as it was: have the cause fixed on Link, then Refresh menu.",
        lambda now: ~Q(last_error=""),
    ),
    Attention(
        "snoozed_long",
        Menu,
        "Menus with items snoozed for more than 24 h",
        "Forgotten snoozes? Open the menu and end the ones no longer needed (each ends by itself at its time).",
        menus_with_long_snoozes,
    ),
    Attention(
        "repriced",
        Menu,
        "New menu versions changing many prices (last {hours} h)",
        "Link's new version changes more than MENU_CHANGE_ALERT_PERCENT of the prices: open the menu's "
        '"what changed" and check with the restaurant before customers are surprised.',
        lambda now: Q(Exists(_repriced_versions(now))),
    ),
]


def _repriced_versions(now: datetime):
    """The live version of the menu, kept recently, with a share of prices changed over the threshold."""
    return MenuVersion.objects.filter(
        store=OuterRef("store"),
        version=OuterRef("version"),
        created_at__gte=_recent(now),
        summary__prices__percent__gt=settings.MENU_CHANGE_ALERT_PERCENT,
    )


def attention_items(model: type[Model]) -> list[Attention]:
    return [item for item in ATTENTION if item.model is model]


def attention_label(item: Attention) -> str:
    return item.label.format(hours=settings.OPS_ATTENTION_HOURS)


def attention_counts(models: list[type[Model]], now: datetime | None = None) -> dict[tuple[type[Model], str], int]:
    """Count every attention item of ``models``, each up to ``counting.CAP`` (a card then says "1,000+"):
    one statement for every card, a bounded subquery per item, each on its own index; no card reads more
    than CAP rows however far a table has grown (a Link outage can fail thousands of calls an hour)."""
    now = now or timezone.now()
    items = [item for item in ATTENTION if item.model in models]
    counts = capped_counts({_alias(item): item.model._default_manager.filter(item.where(now)) for item in items})
    return {(item.model, item.key): counts[_alias(item)] for item in items}


def _alias(item: Attention) -> str:
    return f"{item.model._meta.model_name}_{item.key}"
