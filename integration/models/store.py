from django.conf import settings
from django.db import models
from django_fsm import FSMField, transition
from django_fsm_log.decorators import fsm_log_by, fsm_log_description

from integration.timezones import validate_time_zone


class Store(models.Model):
    """One Link venue, mapped (or not yet) to one MP storefront."""

    class State(models.TextChoices):
        ACTIVE = "ACTIVE", "Active"
        PAUSED = "PAUSED", "Paused"
        DISCONNECTED = "DISCONNECTED", "Disconnected"

    class PauseSource(models.TextChoices):
        LINK = "LINK", "Link (restaurant)"
        MP = "MP", "Marketplace"

    venue_id = models.CharField(max_length=64, unique=True)
    external_store_id = models.CharField(
        max_length=64, unique=True, null=True, blank=True, help_text="MP storefront id; empty = unmapped."
    )
    name = models.CharField(max_length=200, blank=True)
    timezone = models.CharField(
        max_length=64, default="UTC", validators=[validate_time_zone], help_text="IANA name, e.g. America/New_York."
    )
    address = models.JSONField(default=dict, blank=True)
    state = FSMField(max_length=16, choices=State.choices, default=State.ACTIVE, db_index=True)

    pause_reason = models.CharField(max_length=500, blank=True)
    pause_source = models.CharField(max_length=8, choices=PauseSource.choices, blank=True)
    paused_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_until = models.DateTimeField(null=True, blank=True)

    disconnect_reason = models.CharField(max_length=500, blank=True)
    disconnect_in_flight = models.CharField(max_length=16, blank=True)
    connected_at = models.DateTimeField(null=True, blank=True)
    disconnected_at = models.DateTimeField(null=True, blank=True)

    link_status = models.CharField(max_length=16, blank=True, help_text="Status Link reported at the last sync.")
    link_synced_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        permissions = [
            ("pause_store", "Can pause a store"),
            ("resume_store", "Can resume a store"),
            ("sync_store", "Can sync a store's status from Link"),
        ]
        indexes = [models.Index(fields=["external_store_id", "state"], name="store_mapping_state")]

    def __str__(self):
        return self.name or self.venue_id

    @property
    def is_mapped(self) -> bool:
        return bool(self.external_store_id)

    @fsm_log_description
    @fsm_log_by
    @transition(field=state, source="*", target=State.ACTIVE)
    def connect(self, by=None, description=None):
        pass

    @fsm_log_description
    @fsm_log_by
    @transition(field=state, source="*", target=State.DISCONNECTED)
    def disconnect(self, by=None, description=None):
        pass

    @fsm_log_description
    @fsm_log_by
    @transition(field=state, source=[State.ACTIVE, State.PAUSED], target=State.PAUSED)
    def pause(self, by=None, description=None):
        pass

    @fsm_log_description
    @fsm_log_by
    @transition(field=state, source=State.PAUSED, target=State.ACTIVE)
    def resume(self, by=None, description=None):
        pass
