from typing import cast

from django.db import connection, models


class WebhookEventManager(models.Manager):
    def insert_if_new(self, event: "WebhookEvent") -> bool:
        """INSERT ... ON CONFLICT (event_id) DO NOTHING; True (and ``event.pk`` set) when this call stored it.

        One statement, no savepoint: a concurrent copy waits on the unique index until the first commits.
        """
        fields = [f for f in self.model._meta.concrete_fields if not f.primary_key]
        columns = ", ".join(connection.ops.quote_name(cast(str, f.column)) for f in fields)
        placeholders = ", ".join(["%s"] * len(fields))
        values = [f.get_db_prep_save(f.pre_save(event, add=True), connection) for f in fields]
        table = connection.ops.quote_name(self.model._meta.db_table)
        # Identifiers come from the model; every value is a parameter.
        sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) ON CONFLICT (event_id) DO NOTHING RETURNING id"  # noqa: S608
        with connection.cursor() as cursor:
            cursor.execute(sql, values)
            row = cursor.fetchone()
        if row is None:
            return False
        event.pk = row[0]
        event._state.adding = False
        return True


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

    objects = WebhookEventManager()

    class Meta:
        ordering = ["-received_at", "-id"]
        permissions = [("replay_webhookevent", "Can replay a webhook event")]

    def __str__(self):
        return f"{self.type} {self.event_id}"
