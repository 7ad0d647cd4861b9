"""Every kind of outbound call, declared once. ``IntegrationConfig.ready`` registers them."""

from django.conf import settings

from integration.models import OutboundCall
from integration.services import stores
from integration.services.menus import fetching
from integration.services.mp_events import deliveries
from integration.services.ops import alerts
from integration.services.orders import cancellation, submission
from integration.services.outbox.kinds import CallKind, call_kinds_register

Kind = OutboundCall.Kind


def register_call_kinds() -> None:
    call_kinds_register(
        CallKind(
            Kind.SUBMIT_ORDER,
            on_success=submission.order_submit_succeeded,
            on_failure=submission.order_submit_failed,
            retry_refusal=submission.order_submit_retry_refusal,
            deadline_setting="LINK_SUBMIT_DEADLINE",
        ),
        CallKind(
            Kind.CANCEL_ORDER,
            on_success=cancellation.order_cancel_succeeded,
            on_failure=cancellation.order_cancel_failed,
            retry_refusal=cancellation.order_cancel_retry_refusal,
        ),
        *(
            CallKind(
                kind, retry_refusal=stores.store_availability_retry_refusal, ordering_key=stores.STORE_AVAILABILITY
            )
            for kind in (Kind.PAUSE_STORE, Kind.RESUME_STORE)
        ),
        CallKind(
            Kind.FETCH_MENU,
            on_success=fetching.menu_fetch_succeeded,
            on_failure=fetching.menu_fetch_failed,
            max_bytes=settings.LINK_MENU_MAX_BYTES,
        ),
        CallKind(
            Kind.DELIVER_EVENT,
            send=deliveries.delivery_send,
            channel=deliveries.delivery_channel,
            enqueue=deliveries.delivery_enqueue,
            on_success=deliveries.delivery_succeeded,
            on_failure=deliveries.delivery_failed,
            retry_refusal=deliveries.delivery_retry_refusal,
            deadline_setting="MP_WEBHOOK_DEADLINE",
            claim_lease_setting="MP_WEBHOOK_CLAIM_LEASE",
            to_link=False,
        ),
        CallKind(
            Kind.DELIVER_ALERT,
            send=alerts.alert_send,
            channel=alerts.alert_channel,
            enqueue=alerts.alert_enqueue,
            deadline_setting="ALERT_DELIVERY_DEADLINE",
            to_link=False,
        ),
    )
