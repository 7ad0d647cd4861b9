"""django-q2 entry points: thin wrappers that call a service."""

from integration.services import orders, outbound, stores


def deliver_call(call_id: int) -> int:
    return outbound.call_deliver(call_id)


def sweep() -> dict:
    """The periodic sweep: due and abandoned calls, expired deadlines, ended pause windows, unconfirmed orders."""
    return {
        "enqueued": outbound.calls_sweep(),
        "resumed": stores.store_resume_expired_pauses(),
        "unconfirmed_cancelled": len(orders.orders_cancel_unconfirmed()),
    }
