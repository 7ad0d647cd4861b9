"""The one periodic sweep (a django-q2 schedule, every minute): each domain's own sweep, in turn.

The outbox table, not the broker, is the source of truth, so every minute: due and abandoned calls to
Link go again, ended pause windows resume, unconfirmed orders are cancelled, due deliveries to MP
endpoints go again, endpoints failing for days are disabled,
and finished store-days are rolled up for the availability figures.
"""

from integration.services import stores
from integration.services.availability.rollup import availability_rollup
from integration.services.menus.snoozes import snoozes_expire
from integration.services.mp_events import deliveries, endpoints
from integration.services.ops import health
from integration.services.orders.recovery import orders_cancel_unconfirmed
from integration.services.outbox.sweep import calls_sweep
from integration.services.stores.busy import busy_expire
from integration.services.stores.special_hours import special_hours_announce_boundaries


def sweep_all() -> dict:
    health.worker_heartbeat_record()
    health.webhooks_heartbeat_schedule_ensure()
    return {
        "enqueued": calls_sweep(),
        "resumed": stores.store_resume_expired_pauses(),
        "unconfirmed_cancelled": len(orders_cancel_unconfirmed()),
        "deliveries_enqueued": deliveries.deliveries_sweep(),
        "endpoints_disabled": endpoints.endpoints_disable_failing(),
        "availability_days": availability_rollup(),
        # Issue 28's timed controls: ended snoozes and busy modes announced, special hours' boundaries.
        "snoozes_ended": snoozes_expire(),
        "busy_ended": busy_expire(),
        "special_hours_announced": special_hours_announce_boundaries(),
    }
