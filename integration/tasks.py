"""django-q2 entry points: thin wrappers that call a service."""

from integration.services import outbound, stores
from integration.services.orders.recovery import orders_cancel_unconfirmed


def deliver_call(call_id: int) -> int:
    return outbound.call_deliver(call_id)


def sweep() -> dict:
    """The periodic sweep: due and abandoned calls, expired deadlines, ended pause windows, unconfirmed orders."""
    return {
        "enqueued": outbound.calls_sweep(),
        "resumed": stores.store_resume_expired_pauses(),
        "unconfirmed_cancelled": len(orders_cancel_unconfirmed()),
    }
