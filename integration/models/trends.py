from django.db import models


class TrendHour(models.Model):
    """One hour of every store's orders and calls to Link, rolled up for the trends charts
    (``services.trends``): counts, and exact percentiles of that hour (they cannot be summed from
    per-store rows, so there are none: one store's chart is computed from its own orders)."""

    hour = models.DateTimeField(unique=True)
    # Orders placed in the hour, by where they stand now (recomputed when any of them changes).
    ready = models.PositiveIntegerField(default=0)
    open = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    cancelled = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    confirm_p50 = models.FloatField(null=True, blank=True)  # seconds, submitted -> confirmed
    confirm_p90 = models.FloatField(null=True, blank=True)
    prep_p50 = models.FloatField(null=True, blank=True)  # seconds, confirmed -> ready
    prep_p90 = models.FloatField(null=True, blank=True)
    orders_at = models.DateTimeField(null=True, blank=True, help_text="When the order columns were computed.")
    # Our tries to Link started in the hour (computed once the hour is over: tries never change).
    call_tries = models.PositiveIntegerField(default=0)
    call_ok = models.PositiveIntegerField(default=0)
    latency_p50 = models.FloatField(null=True, blank=True)  # ms
    latency_p90 = models.FloatField(null=True, blank=True)
    # MP webhook deliveries that went through (2xx) in the hour (issue 24: the charts' deliveries per second).
    deliveries = models.PositiveIntegerField(default=0)
    calls_at = models.DateTimeField(null=True, blank=True, help_text="When the call columns were computed.")

    class Meta:
        ordering = ["hour"]

    def __str__(self):
        return f"{self.hour:%Y-%m-%d %H:00}"


class TrendRollup(models.Model):
    """The rollup's watermarks (one row): the hours from ``covered_from`` on are rolled up, their order
    columns as of every change up to ``orders_seen``, their call columns for the hours before ``calls_until``."""

    covered_from = models.DateTimeField()
    orders_seen = models.DateTimeField()
    calls_until = models.DateTimeField()
    ran_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"trends rolled up from {self.covered_from:%Y-%m-%d %H:00}, changes to {self.orders_seen:%H:%M:%S}"
