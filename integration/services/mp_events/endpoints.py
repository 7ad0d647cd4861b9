"""Webhook endpoints of API clients: URL rules, secrets and their rotation, disable and re-enable."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from integration.link import routes
from integration.models import OutboundCall, WebhookEndpoint
from integration.models.notification import new_webhook_secret
from integration.services.errors import ActionRefused
from integration.services.mp_events.events import EVENT_TYPES
from integration.services.outbox.calls import calls_skip


class EndpointRefused(ActionRefused):
    """``code`` and ``details`` say which field was refused."""

    def __init__(self, message: str, *, code: str = "invalid_endpoint", details=None, status: int = 422):
        super().__init__(message)
        self.message, self.code, self.details, self.status = message, code, details or {}, status


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
    """A client has at most ``MP_WEBHOOK_ENDPOINTS_PER_CLIENT`` endpoints (every event fans out to each one: 300
    made one pause a burst of 600 deliveries that other clients waited behind)."""
    endpoint_url_check(url)
    event_types = endpoint_event_types_check(event_types)
    limit = settings.MP_WEBHOOK_ENDPOINTS_PER_CLIENT
    with transaction.atomic():
        # The client's row lock serialises its concurrent registrations, so two never both take the last place.
        type(client).objects.select_for_update().filter(pk=client.pk).exists()
        if WebhookEndpoint.objects.filter(client=client).count() >= limit:
            raise EndpointRefused(
                f"You have {limit} webhook endpoints, the most a client may have (MP_WEBHOOK_ENDPOINTS_PER_CLIENT): "
                "delete one first, or subscribe an existing one to more event types.",
                code="too_many_endpoints",
                details={"limit": limit},
            )
        return WebhookEndpoint.objects.create(client=client, url=url, event_types=event_types, description=description)


def endpoint_update(endpoint: WebhookEndpoint, **changes) -> WebhookEndpoint:
    """PATCH: ``url``, ``event_types``, ``description``, ``enabled`` (re-enabling clears the failure streak).

    An endpoint ops disabled stays disabled until ops lift it: its client's ``enabled: true`` is refused (409,
    naming ops' reason) and the request changes nothing."""
    if changes.get("enabled") is True and endpoint.ops_disabled and not endpoint.enabled:
        raise EndpointRefused(
            f"Ops disabled this endpoint ({endpoint.disabled_reason or 'no reason given'}); only ops can re-enable "
            "it: ask them to. The event feed has every event meanwhile.",
            code="disabled_by_ops",
            details={"disabled_reason": endpoint.disabled_reason, "disabled_at": endpoint.disabled_at},
            status=409,
        )
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
    """A new secret; each replaced one keeps signing beside it for ``MP_WEBHOOK_SECRET_OVERLAP_HOURS`` from its
    own rotation, so a second rotation (or a retried call) within the overlap never cuts off a secret a consumer
    may still verify with. Expired ones are dropped here."""
    now = now or timezone.now()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        until = now + timedelta(hours=settings.MP_WEBHOOK_SECRET_OVERLAP_HOURS)
        kept = [p for p in endpoint.previous_secrets if _valid_until(p) and _valid_until(p) > now]
        endpoint.previous_secrets = [{"secret": endpoint.secret, "until": until.isoformat()}, *kept]
        endpoint.secret = new_webhook_secret()
        endpoint.save()
    return endpoint


def _valid_until(previous: dict):
    return parse_datetime(str(previous.get("until") or ""))


def endpoint_secrets(endpoint: WebhookEndpoint, now=None) -> list[str]:
    """The secrets that sign a delivery now: the current one, and each previous one until its overlap ends."""
    now = now or timezone.now()
    previous = [p["secret"] for p in endpoint.previous_secrets if _valid_until(p) and _valid_until(p) > now]
    return [endpoint.secret, *previous]


def _pending_deliveries(endpoint_id: int):
    return OutboundCall.objects.filter(
        kind=OutboundCall.Kind.DELIVER_EVENT, endpoint_id=endpoint_id, status=OutboundCall.Status.PENDING
    )


def endpoint_disable(
    endpoint: WebhookEndpoint, *, reason: str, auto: bool = False, by_ops: bool = False
) -> WebhookEndpoint:
    """No new deliveries; pending ones are skipped (the feed still lists every event). ``by_ops``: only ops
    (``endpoint_enable``) lift it, never its client's PATCH."""
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        if endpoint.enabled:
            endpoint.enabled = False
            endpoint.disabled_reason = reason[:500]
            endpoint.disabled_at = timezone.now()
            endpoint.auto_disabled = auto
            endpoint.ops_disabled = by_ops
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
        endpoint.ops_disabled = False
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
