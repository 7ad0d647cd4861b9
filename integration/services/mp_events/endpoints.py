"""Webhook endpoints of API clients: URL rules, secrets and their rotation, disable and re-enable."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from integration.link import routes
from integration.models import OutboundCall, WebhookEndpoint
from integration.models.notification import new_webhook_secret
from integration.services.errors import ActionRefused
from integration.services.mp_events.events import EVENT_TYPES
from integration.services.outbox.calls import calls_skip


class EndpointRefused(ActionRefused):
    """``code`` and ``details`` say which field was refused."""

    def __init__(self, message: str, *, code: str = "invalid_endpoint", details=None):
        super().__init__(message)
        self.message, self.code, self.details = message, code, details or {}


def endpoint_url_check(url: str) -> None:
    allowed, why = routes.host_allowed(url, settings.MP_WEBHOOK_HOSTS, "MP_WEBHOOK_HOSTS")
    if not allowed:
        raise EndpointRefused(f"This URL cannot receive webhooks: {why}.", code="url_not_allowed", details={"url": url})


def endpoint_event_types_check(event_types) -> list[str]:
    if not isinstance(event_types, list) or not event_types:
        raise EndpointRefused("event_types must be a non-empty list.", details={"event_types": event_types})
    unknown = sorted({str(t) for t in event_types} - set(EVENT_TYPES))
    if unknown:
        raise EndpointRefused(
            f"Unknown event types: {', '.join(unknown)}.",
            code="unknown_event_type",
            details={"unknown": unknown, "known": list(EVENT_TYPES)},
        )
    return list(dict.fromkeys(event_types))


def endpoint_create(client, *, url: str, event_types: list, description: str = "") -> WebhookEndpoint:
    endpoint_url_check(url)
    return WebhookEndpoint.objects.create(
        client=client, url=url, event_types=endpoint_event_types_check(event_types), description=description
    )


def endpoint_update(endpoint: WebhookEndpoint, **changes) -> WebhookEndpoint:
    """PATCH: ``url``, ``event_types``, ``description``, ``enabled`` (re-enabling clears the failure streak)."""
    if "url" in changes:
        endpoint_url_check(changes["url"])
        endpoint.url = changes["url"]
    if "event_types" in changes:
        endpoint.event_types = endpoint_event_types_check(changes["event_types"])
    if "description" in changes:
        endpoint.description = changes["description"]
    endpoint.save()
    if changes.get("enabled") is True:
        return endpoint_enable(endpoint)
    if changes.get("enabled") is False:
        return endpoint_disable(endpoint, reason="disabled by its client")
    return endpoint


def endpoint_rotate_secret(endpoint: WebhookEndpoint, now=None) -> WebhookEndpoint:
    """A new secret; the old one keeps signing beside it for ``MP_WEBHOOK_SECRET_OVERLAP_HOURS``."""
    now = now or timezone.now()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_until = now + timedelta(hours=settings.MP_WEBHOOK_SECRET_OVERLAP_HOURS)
        endpoint.secret = new_webhook_secret()
        endpoint.save()
    return endpoint


def endpoint_secrets(endpoint: WebhookEndpoint, now=None) -> list[str]:
    """The secrets that sign a delivery now: the current one, and the previous during the overlap."""
    now = now or timezone.now()
    secrets = [endpoint.secret]
    if endpoint.previous_secret and endpoint.previous_secret_until and endpoint.previous_secret_until > now:
        secrets.append(endpoint.previous_secret)
    return secrets


def _pending_deliveries(endpoint_id: int):
    return OutboundCall.objects.filter(
        kind=OutboundCall.Kind.DELIVER_EVENT, endpoint_id=endpoint_id, status=OutboundCall.Status.PENDING
    )


def endpoint_disable(endpoint: WebhookEndpoint, *, reason: str, auto: bool = False) -> WebhookEndpoint:
    """No new deliveries; pending ones are skipped (the feed still lists every event)."""
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        if endpoint.enabled:
            endpoint.enabled = False
            endpoint.disabled_reason = reason[:500]
            endpoint.disabled_at = timezone.now()
            endpoint.auto_disabled = auto
            endpoint.save()
            calls_skip(_pending_deliveries(endpoint.pk), f"endpoint disabled: {reason}"[:500])
    return endpoint


def endpoint_enable(endpoint: WebhookEndpoint) -> WebhookEndpoint:
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        endpoint.enabled = True
        endpoint.disabled_reason = ""
        endpoint.disabled_at = None
        endpoint.auto_disabled = False
        endpoint.failing_since = None
        endpoint.save()
    return endpoint


def endpoints_disable_failing(now=None) -> int:
    """Endpoints with no delivery through for ``MP_WEBHOOK_DISABLE_AFTER_HOURS`` are disabled."""
    hours = settings.MP_WEBHOOK_DISABLE_AFTER_HOURS
    cutoff = (now or timezone.now()) - timedelta(hours=hours)
    failing = WebhookEndpoint.objects.filter(enabled=True, failing_since__lt=cutoff)
    for endpoint in failing:
        endpoint_disable(endpoint, reason=f"every delivery failed for {hours:g} hours", auto=True)
    return len(failing)
