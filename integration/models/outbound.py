from django.db import models


class OutboundCall(models.Model):
    """One intended outbound call (the outbox): to Link, or a delivery to an MP webhook endpoint (``kind``).

    The table, not the broker, is the source of truth."""

    class Kind(models.TextChoices):
        SUBMIT_ORDER = "submit_order", "Submit order"
        CANCEL_ORDER = "cancel_order", "Cancel order"
        PAUSE_STORE = "pause_store", "Pause store"
        RESUME_STORE = "resume_store", "Resume store"
        FETCH_MENU = "fetch_menu", "Fetch menu"
        DELIVER_EVENT = "deliver_event", "Deliver event to an MP webhook"
        DELIVER_ALERT = "deliver_alert", "Deliver an alert to people"

    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending"
        SUCCEEDED = "SUCCEEDED", "Succeeded"
        FAILED = "FAILED", "Failed"
        SKIPPED = "SKIPPED", "Skipped (no longer needed)"

    kind = models.CharField(max_length=32, choices=Kind.choices, db_index=True)
    method = models.CharField(max_length=8, default="POST")
    path = models.CharField(
        max_length=2000, help_text="Path under LINK_BASE_URL, or an absolute menu or MP webhook URL."
    )
    payload = models.JSONField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    deadline = models.DateTimeField()
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response = models.JSONField(null=True, blank=True)
    store = models.ForeignKey("integration.Store", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    order = models.ForeignKey(
        "integration.Order", null=True, blank=True, on_delete=models.CASCADE, related_name="outbound_calls"
    )
    endpoint = models.ForeignKey(
        "integration.WebhookEndpoint", null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(
        "integration.NotificationEvent", null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    waiting_on = models.CharField(
        max_length=255, blank=True, help_text="The Link host whose open circuit holds this call back (empty: not held)."
    )
    waiting_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        # The admin's "Calls to Link" page; the deliveries to MP services are the Delivery proxy's page.
        verbose_name = "call to Link"
        verbose_name_plural = "calls to Link"
        permissions = [("retry_outboundcall", "Can retry an outbound call now")]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="outbound_due"),
            models.Index(fields=["kind", "status"], name="outbound_kind_status"),
            models.Index(fields=["status", "completed_at"], name="outbound_status_completed"),
            models.Index(fields=["created_at"], name="outbound_created"),  # the admin list's order
            # The deliveries' dispatcher claims each endpoint's oldest due deliveries along this (issue 24), and the
            # endpoints' lag is read from it: one endpoint's backlog never costs another's claim a scan.
            models.Index(
                fields=["endpoint", "next_attempt_at", "id"],
                condition=models.Q(status="PENDING", kind="deliver_event"),
                name="delivery_due",
            ),
            models.Index(
                fields=["waiting_on", "created_at"],
                condition=models.Q(status="PENDING") & ~models.Q(waiting_on=""),
                name="outbound_waiting",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.pk}"


class CallAttempt(models.Model):
    """One HTTP try of an OutboundCall, with redacted headers and a truncated response."""

    class Outcome(models.TextChoices):
        SUCCESS = "success", "Success"
        RETRIABLE = "retriable", "Retriable error"
        PERMANENT = "permanent", "Permanent error"

    call = models.ForeignKey(OutboundCall, on_delete=models.CASCADE, related_name="call_attempts")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    request_method = models.CharField(max_length=8)
    request_url = models.CharField(max_length=2000)
    request_headers = models.JSONField(default=dict)
    request_body = models.TextField(blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["call_id", "number"]
        indexes = [models.Index(fields=["started_at"], name="attempt_started")]  # Link health, call trends
        constraints = [models.UniqueConstraint(fields=["call", "number"], name="attempt_number_unique")]

    def __str__(self):
        return f"{self.call} attempt {self.number}"


class LinkToken(models.Model):
    """The shared OAuth token, so every worker process uses one token until it nears expiry."""

    name = models.CharField(max_length=32, unique=True, default="default")
    access_token = models.TextField(blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    fetched_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"Link token ({self.name})"


class LinkCircuit(models.Model):
    """The circuit and request budget of one Link host (``services.outbox.circuit``: a ``CircuitState`` as JSON),
    when Redis does not keep it."""

    host = models.CharField(max_length=255, unique=True)
    state = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"Link circuit ({self.host})"
