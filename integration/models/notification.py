import base64
import secrets
from datetime import datetime
from typing import cast

from django.conf import settings
from django.db import models
from django.utils.dateparse import parse_datetime


def new_webhook_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def new_event_id() -> str:
    return f"msg_{secrets.token_hex(12)}"


class WebhookEndpoint(models.Model):
    """Where an API client wants its events pushed, signed with its own secret."""

    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    event_types = models.JSONField(default=list)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=500, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    auto_disabled = models.BooleanField(default=False, help_text="Disabled by a 410 or by days of failures.")
    ops_disabled = models.BooleanField(default=False, help_text="Disabled by ops: only ops re-enable it.")
    secret = models.CharField(max_length=100, default=new_webhook_secret)
    # Secrets replaced by a rotation, each with when it stops signing: [{"secret": ..., "until": ISO 8601}].
    previous_secrets = models.JSONField(default=list, blank=True)
    failing_since = models.DateTimeField(
        null=True, blank=True, help_text="First failed try since the last delivery that succeeded."
    )
    last_success_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        permissions = [("toggle_webhookendpoint", "Can disable or re-enable a webhook endpoint")]
        indexes = [models.Index(fields=["enabled", "failing_since"], name="endpoint_failing")]

    def __str__(self):
        return f"{self.url} (#{self.pk})"

    @property
    def previous_secret_until(self):
        """When the last of the previous secrets stops signing (None: there is none)."""
        # Written by endpoint_rotate_secret (isoformat, only parseable ones kept): parse_datetime never gives None.
        untils = cast(list[datetime], [parse_datetime(p["until"]) for p in self.previous_secrets if p.get("until")])
        return max(untils, default=None)


class NotificationEvent(models.Model):
    """One event for MP services: delivered to endpoints (outbox rows) and listed by the feed.

    ``client`` is the API client an order event belongs to; empty for store and menu events,
    which every client sees. The primary key is the feed's order: events are inserted under a
    transaction-level lock, so ids are committed in order and a cursor never skips one.
    """

    event_id = models.CharField(max_length=40, unique=True, default=new_event_id)
    type = models.CharField(max_length=40, db_index=True)
    client = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    order = models.ForeignKey("integration.Order", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    store = models.ForeignKey("integration.Store", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    sequence = models.PositiveIntegerField(null=True, blank=True)
    txid = models.BigIntegerField(default=0, help_text="The writing transaction's id: the feed's order.")
    timestamp = models.DateTimeField()
    data = models.JSONField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "sequence"], condition=models.Q(order__isnull=False), name="event_order_sequence"
            )
        ]
        indexes = [
            models.Index(fields=["client", "txid", "id"], name="event_client_feed"),
            # Everyone's events (store, menu) have no client; the feed reads them from its cursor on.
            models.Index(fields=["txid", "id"], condition=models.Q(client__isnull=True), name="event_everyone_feed"),
            models.Index(fields=["store", "type", "id"], name="event_store_type"),
            models.Index(fields=["timestamp"], name="event_timestamp"),
        ]

    def __str__(self):
        return f"{self.type} {self.event_id}"
