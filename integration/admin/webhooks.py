from django.contrib import admin
from django.db.models import Q

from integration.models import WebhookEvent
from integration.services.errors import ActionRefused
from integration.services.link_events import HANDLERS, webhook_replay

from .base import ReadOnlyAdmin, action_apply, attention_filter
from .paging import KeysetPagingMixin


class TypeFilter(admin.SimpleListFilter):
    """The types we handle, listed from the dispatch table: no SELECT DISTINCT over every event."""

    title = "type"
    parameter_name = "type"

    def lookups(self, request, model_admin):
        return [(name, name) for name in sorted(HANDLERS)] + [("other", "other (unknown types)")]

    def queryset(self, request, queryset):
        if self.value() == "other":
            return queryset.exclude(type__in=list(HANDLERS))
        return queryset.filter(type=self.value()) if self.value() else queryset


@admin.register(WebhookEvent)
class WebhookEventAdmin(KeysetPagingMixin, ReadOnlyAdmin):
    list_display = ("event_id", "type", "venue_id", "status", "status_reason", "tries", "received_at")
    # A received-date filter, not date_hierarchy: that scans the whole table for its year/month links.
    list_filter = (attention_filter(WebhookEvent), "status", TypeFilter, ("received_at", admin.DateFieldListFilter))
    search_fields = ("event_id", "venue_id", "external_order_id")
    search_help_text = "Exact event id, venue id or order's external id."
    keyset_field = "received_at"
    show_facets = admin.ShowFacets.NEVER  # per-choice counts scan the whole table (1 s at 100k orders)
    readonly_fields = [f.name for f in WebhookEvent._meta.fields]
    actions = ["replay"]

    @admin.display(description="Tries", ordering="attempts")
    def tries(self, obj):
        return obj.attempts

    def get_search_results(self, request, queryset, search_term):
        """Exact values, each with its index (Django's default, ``icontains`` on each, scanned 20 M rows)."""
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(Q(event_id=term) | Q(venue_id=term) | Q(external_order_id=term)), False

    def has_replay_permission(self, request):
        return request.user.has_perm("integration.replay_webhookevent")

    @admin.action(description="Replay (apply again; already applied events change nothing)", permissions=["replay"])
    def replay(self, request, queryset):
        def perform(event):
            outcome = webhook_replay(event)
            if outcome.duplicate:
                done = outcome.event.get_status_display().lower()
                why = f" ({outcome.event.status_reason})" if outcome.event.status_reason else ""
                raise ActionRefused(
                    f"it was {done} already{why}; replaying it would change nothing. "
                    "Only failed (or never applied) events replay; to re-apply one anyway: "
                    "manage.py link_replay_webhooks --force --ids <event id>."
                )
            if outcome.failed:
                raise ActionRefused(f"failed again: {outcome.event.error}. See the traceback on the event.")
            return f"applied: {outcome.event.get_status_display().lower()}"

        action_apply(self, request, queryset, perform, "Replay")
