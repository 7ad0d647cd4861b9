from django.db import models


class WebhookEvent(models.Model):
    """An inbound Link event, stored raw before it is applied (dj-stripe style)."""

    class Status(models.TextChoices):
        RECEIVED = "RECEIVED", "Received"
        PROCESSED = "PROCESSED", "Processed"
        IGNORED = "IGNORED", "Ignored"
        FAILED = "FAILED", "Failed"

    event_id = models.CharField(max_length=100, unique=True)
    type = models.CharField(max_length=64, db_index=True)
    venue_id = models.CharField(max_length=64, blank=True, db_index=True)
    external_order_id = models.CharField(max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField(null=True, blank=True, help_text="When Link says the event happened.")
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    headers = models.JSONField(default=dict)
    body = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED, db_index=True)
    status_reason = models.CharField(max_length=500, blank=True)
    error = models.TextField(blank=True)
    traceback = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        permissions = [("replay_webhookevent", "Can replay a webhook event")]

    def __str__(self):
        return f"{self.type} {self.event_id}"
