"""Link's word on one order, in our terms: from an order event's validated data or from ``GET /v2/orders/{id}``."""

import datetime as dt
from dataclasses import dataclass

from django.utils.dateparse import parse_datetime

from .payloads import OrderEvent
from .routes import ORDER_STATUS_TO_STATE

# Order event type -> the order state it reports.
ORDER_EVENT_STATES = {
    "order.confirmed": "CONFIRMED",
    "order.preparing": "IN_PREP",
    "order.ready": "READY",
    "order.rejected": "REJECTED",
    "order.cancelled": "CANCELLED",
}


@dataclass(frozen=True, kw_only=True)
class LinkOrderReport:
    state: str | None  # the Order.State reported; None: a Link status we do not know
    link_status: str  # Link's own status word; events do not carry one
    link_order_id: str
    external_order_id: str
    prep_time_minutes: int | None = None
    estimated_ready_at: dt.datetime | None = None
    ready_at: dt.datetime | None = None
    reason_code: str = ""
    reason: str = ""
    cancelled_by: str = ""

    @classmethod
    def from_event(cls, event_type: str, data: OrderEvent) -> "LinkOrderReport":
        """Fields an event type does not carry stay at their defaults."""
        return cls(
            state=ORDER_EVENT_STATES[event_type],
            link_status="",
            link_order_id=data.order_id,
            external_order_id=data.external_order_id,
            prep_time_minutes=getattr(data, "prep_time_minutes", None),
            estimated_ready_at=getattr(data, "estimated_ready_at", None),
            ready_at=getattr(data, "ready_at", None),
            reason_code=getattr(data, "reason_code", ""),
            reason=getattr(data, "reason", ""),
            cancelled_by=getattr(data, "cancelled_by", ""),
        )

    @classmethod
    def from_read(cls, body: dict | list | None) -> "LinkOrderReport":
        """The answer of ``GET /v2/orders/{id}``, read leniently: a field that is missing or malformed stays empty."""
        body = body if isinstance(body, dict) else {}
        status = str(body.get("status") or "")
        return cls(
            state=ORDER_STATUS_TO_STATE.get(status),
            link_status=status,
            link_order_id=str(body.get("order_id") or ""),
            external_order_id=str(body.get("external_order_id") or ""),
            estimated_ready_at=_time(body.get("estimated_ready_at")),
            ready_at=_time(body.get("updated_at")) if status == "READY" else None,
            reason_code=str(body.get("reason_code") or ""),
            reason=str(body.get("reason") or ""),
        )


def _time(value) -> dt.datetime | None:
    if not value:
        return None
    try:
        return parse_datetime(str(value))
    except ValueError:
        return None
