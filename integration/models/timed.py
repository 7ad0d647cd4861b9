"""The marketplace's own timed controls (issue 28): item and modifier snoozes, special hours, busy mode, and
the store's timeline of who changed them. They change what MP customers can order, not what Link publishes."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class Via(models.TextChoices):
    """Where a change came from."""

    API = "api", "Internal API"
    ADMIN = "admin", "Admin"
    AUTO = "auto", "Automatic"
    TIME = "time", "Its time came"


class ItemSnooze(models.Model):
    """An item or modifier the MP does not sell until ``until``. Keyed by Link's id on the store, not by a
    catalog row, so it survives new menu versions (which replace the rows)."""

    class Kind(models.TextChoices):
        ITEM = "item", "Item"
        MODIFIER = "modifier", "Modifier"

    store = models.ForeignKey("integration.Store", on_delete=models.CASCADE, related_name="snoozes")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.ITEM)
    link_id = models.CharField(max_length=64)
    name = models.CharField(max_length=200, blank=True, help_text="Its name when snoozed (for people).")
    until = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    via = models.CharField(max_length=8, choices=Via.choices, default=Via.API)

    class Meta:
        ordering = ["until", "id"]
        constraints = [models.UniqueConstraint(fields=["store", "kind", "link_id"], name="snooze_store_kind_link_id")]
        indexes = [models.Index(fields=["until"], name="snooze_until")]

    def __str__(self):
        return f"{self.kind} {self.link_id} until {self.until:%Y-%m-%d %H:%M}"


class SpecialHours(models.Model):
    """One store-local date whose hours replace the menu's: closed, or one opening ``[open, close)`` (a close
    at or before the open runs past midnight, as the menu's hours do)."""

    store = models.ForeignKey("integration.Store", on_delete=models.CASCADE, related_name="special_hours")
    date = models.DateField(help_text="The store's own date.")
    closed = models.BooleanField(default=False)
    open = models.CharField(max_length=5, blank=True, help_text="HH:MM, store-local.")
    close = models.CharField(max_length=5, blank=True, help_text="HH:MM; at or before open: after midnight.")

    class Meta:
        ordering = ["date"]
        verbose_name_plural = "special hours"
        constraints = [models.UniqueConstraint(fields=["store", "date"], name="special_hours_store_date")]
        indexes = [models.Index(fields=["date"], name="special_hours_date")]

    def __str__(self):
        return f"{self.date}: {'closed' if self.closed else f'{self.open}-{self.close}'}"

    def as_dict(self) -> dict:
        if self.closed:
            return {"date": self.date.isoformat(), "closed": True}
        return {"date": self.date.isoformat(), "open": self.open, "close": self.close}


class StoreBusy(models.Model):
    """A busy kitchen: extra prep minutes to quote, an optional cap on orders per trailing 15 minutes, until
    ``until`` (None: until ended). One row while busy; gone when it ends."""

    store = models.OneToOneField("integration.Store", on_delete=models.CASCADE, related_name="busy")
    extra_prep_minutes = models.PositiveIntegerField(default=0)
    max_orders_per_15_min = models.PositiveIntegerField(null=True, blank=True)
    since = models.DateTimeField(default=timezone.now)
    until = models.DateTimeField(null=True, blank=True, db_index=True)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    via = models.CharField(max_length=8, choices=Via.choices, default=Via.API)
    trigger = models.CharField(max_length=300, blank=True, help_text="For automatic busy: what set it off.")

    class Meta:
        verbose_name_plural = "busy stores"

    def __str__(self):
        return f"busy +{self.extra_prep_minutes} min"


class StoreTimelineEntry(models.Model):
    """The store's and its menu's timeline of the MP's own controls: who, when, what, from where."""

    class Area(models.TextChoices):
        STORE = "store", "Store"
        MENU = "menu", "Menu"

    store = models.ForeignKey("integration.Store", on_delete=models.CASCADE, related_name="timeline")
    area = models.CharField(max_length=8, choices=Area.choices)
    action = models.CharField(max_length=32)
    summary = models.TextField()
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    via = models.CharField(max_length=8, choices=Via.choices)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "store timeline entries"
        indexes = [models.Index(fields=["store", "area", "at"], name="timeline_store_area_at")]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.action}"
