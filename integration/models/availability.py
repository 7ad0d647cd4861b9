"""Availability (issue 26): the append-only record of whether each store takes orders and why, Link's
reachability, the per store-day rollup computed from them, and the alerts sent to people."""

from django.db import models

CAUSES = ("paused_on_link", "paused_by_ops", "disconnected", "no_menu", "link_unreachable")


class AvailabilityChange(models.Model):
    """One change of a store's standing (written in the change's transaction, never updated).

    ``cause`` is what keeps the store from taking orders *whenever it is scheduled* (its opening hours are
    applied when figures are computed: a store outside its hours is not scheduled, not down): empty when it
    would accept, else ``paused_on_link``, ``paused_by_ops``, ``disconnected``, ``no_menu`` or
    ``unmapped`` (not counted: an unmapped store has no storefront to be down on). ``hours`` are the
    menu's opening hours in effect from ``at`` on."""

    UNMAPPED = "unmapped"
    CAUSE_CHOICES = [("", "accepting")] + [(c, c) for c in CAUSES if c != "link_unreachable"] + [(UNMAPPED, UNMAPPED)]

    store = models.ForeignKey("integration.Store", on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField()
    cause = models.CharField(max_length=32, choices=CAUSE_CHOICES, blank=True)
    hours = models.JSONField(default=list, blank=True)
    detail = models.CharField(max_length=500, blank=True, help_text="Why, as the store said it then.")
    actor = models.CharField(max_length=200, blank=True, help_text="Who or what made the change.")

    class Meta:
        ordering = ["store_id", "at", "id"]
        indexes = [models.Index(fields=["store", "at"], name="availability_store_at")]

    def __str__(self):
        return f"{self.store_id} {self.at:%Y-%m-%d %H:%M:%S} {self.cause or 'accepting'}"

    @property
    def accepting(self) -> bool:
        return self.cause == ""


class LinkReachability(models.Model):
    """Link's circuit opening (``reachable=False``) and closing, per Link host, as the outbox saw it."""

    host = models.CharField(max_length=255)
    at = models.DateTimeField()
    reachable = models.BooleanField()

    class Meta:
        ordering = ["host", "at", "id"]
        indexes = [models.Index(fields=["host", "at"], name="link_reach_host_at")]

    def __str__(self):
        return f"{self.host} {'closed' if self.reachable else 'open'} at {self.at:%Y-%m-%d %H:%M:%S}"


class StoreDayFigures(models.Model):
    """A store-day's seconds: scheduled, accepting, and unavailable by cause (``CAUSES``)."""

    store = models.ForeignKey("integration.Store", on_delete=models.CASCADE, related_name="+")
    date = models.DateField()
    scheduled_seconds = models.PositiveIntegerField(default=0)
    accepting_seconds = models.PositiveIntegerField(default=0)
    paused_on_link = models.PositiveIntegerField(default=0)
    paused_by_ops = models.PositiveIntegerField(default=0)
    disconnected = models.PositiveIntegerField(default=0)
    no_menu = models.PositiveIntegerField(default=0)
    link_unreachable = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True
        ordering = ["store_id", "date"]


class AvailabilityDay(StoreDayFigures):
    """One finished store-local day of one store, computed from the changes (``services.availability``):
    the all-stores reads sum these instead of walking a year of changes."""

    class Meta(StoreDayFigures.Meta):
        constraints = [models.UniqueConstraint(fields=["store", "date"], name="availability_day_unique")]
        indexes = [models.Index(fields=["date", "store"], name="availability_day_date")]

    def __str__(self):
        return f"{self.store_id} {self.date}"


class AvailabilityLiveDay(StoreDayFigures):
    """A day of a store not rolled up yet (today; yesterday until its final rollup): its figures up to
    ``as_of``, rewritten by the live rollup every 30 s, deleted by the final rollup when it writes the day's
    ``AvailabilityDay``. What the all-stores list orders by for those days (the figures it returns are
    computed exactly from the record). A table of its own, a row or two per store: rewriting it every 30 s
    leaves no dead rows in ``AvailabilityDay``'s indexes, which the list's ranking scans."""

    as_of = models.DateTimeField()

    class Meta(StoreDayFigures.Meta):
        constraints = [models.UniqueConstraint(fields=["store", "date"], name="availability_live_day_unique")]

    def __str__(self):
        return f"{self.store_id} {self.date} as of {self.as_of:%H:%M:%S}"


class AvailabilityWatermark(models.Model):
    """Per store: the last local day rolled up into ``AvailabilityDay`` (days after it are computed live), and
    the store's standing at the end of that day (its last change by then), so the live part needs no search."""

    store = models.OneToOneField("integration.Store", on_delete=models.CASCADE, primary_key=True, related_name="+")
    through = models.DateField()
    has_state = models.BooleanField(default=False)
    cause = models.CharField(max_length=32, blank=True)
    hours = models.JSONField(default=list, blank=True)
    detail = models.CharField(max_length=500, blank=True)
    actor = models.CharField(max_length=200, blank=True)

    def __str__(self):
        return f"{self.store_id} through {self.through}"


class ClusterBeat(models.Model):
    """The last time each django-q2 cluster ran the alert evaluation (``worker``, ``webhooks``)."""

    name = models.CharField(max_length=100, primary_key=True)
    beat_at = models.DateTimeField()

    def __str__(self):
        return f"{self.name} at {self.beat_at:%H:%M:%S}"


class Alert(models.Model):
    """One occurrence of a rule's condition on one subject: pending until it held for the rule's threshold,
    firing (one message sent), then resolved (one message) once clear for ``ALERT_RESOLVE_SECONDS``."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending (not yet past its threshold)"
        FIRING = "firing", "Firing"
        RESOLVED = "resolved", "Resolved"
        CLEARED = "cleared", "Cleared before firing"

    rule = models.CharField(max_length=40)
    subject = models.CharField(max_length=200, help_text="What it is about: 'link', 'store:<id>', ...")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    since = models.DateTimeField(help_text="When the condition began.")
    fired_at = models.DateTimeField(null=True, blank=True)
    clear_since = models.DateTimeField(null=True, blank=True, help_text="Clear since then (not yet resolved).")
    resolved_at = models.DateTimeField(null=True, blank=True)
    title = models.CharField(max_length=300, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-since", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "subject"],
                condition=models.Q(state__in=["pending", "firing"]),
                name="alert_one_open_per_subject",
            )
        ]
        indexes = [models.Index(fields=["state", "rule"], name="alert_state_rule")]

    def __str__(self):
        return f"{self.rule} {self.subject} ({self.state})"
