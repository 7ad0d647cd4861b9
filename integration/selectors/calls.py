"""Outbound calls to Link: which failures still stand (deliveries to MP webhook endpoints are not calls to
Link: their endpoints' cards say what needs a person)."""

from django.db.models import Exists, OuterRef, Q

from integration.models import OutboundCall
from integration.services.outbox.kinds import link_kinds


def calls_failed_unsettled() -> Q:
    """A failed call counts until something supersedes it: a later call of the same kind for the same
    order (or, without an order, the same store), which counts instead if it fails too; for a
    submission, also Link's order id arriving (Link had it after all)."""
    later = OutboundCall.objects.filter(kind=OuterRef("kind"), pk__gt=OuterRef("pk"))
    superseded = Exists(later.filter(order_id=OuterRef("order_id"))) | (
        Q(order__isnull=True) & Exists(later.filter(order__isnull=True, store_id=OuterRef("store_id")))
    )
    taken = Q(kind=OutboundCall.Kind.SUBMIT_ORDER, order__link_order_id__isnull=False)
    return Q(status=OutboundCall.Status.FAILED, kind__in=link_kinds()) & ~superseded & ~taken
