from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from integration.models import NotificationEvent, OutboundCall, WebhookEndpoint
from integration.selectors.deliveries import endpoint_lag
from integration.services.errors import ActionRefused
from integration.services.mp_events.endpoints import endpoint_disable, endpoint_enable
from integration.templatetags.console import when

from .base import ReadOnlyAdmin, action_apply, attention_filter, shortened


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "client",
        "url",
        "event_types_short",
        "enabled",
        "failing_since",
        "last_success_at",
        "short_reason",
    )
    list_filter = (attention_filter(WebhookEndpoint), "enabled")
    search_fields = ("url", "client__username", "description")
    list_select_related = ("client",)
    fields = (
        "client",
        "url",
        "description",
        "event_types_display",
        "enabled",
        "disabled_reason",
        "disabled_at",
        "ops_disabled",
        "failing_since",
        "last_success_at",
        "lag",
        "previous_secret_until",
        "created_at",
        "updated_at",
        "delivery_log",
    )
    readonly_fields = fields  # the secret is never shown here
    actions = ["disable", "enable"]

    @admin.display(description="Lag (oldest undelivered event)")
    def lag(self, obj):
        seconds = endpoint_lag(obj)
        return f"{seconds:.1f} s" if seconds else "nothing waiting"

    @admin.display(description="Deliveries (newest 50)")
    def delivery_log(self, obj):
        calls = OutboundCall.objects.filter(endpoint=obj).select_related("event").order_by("-id")[:50]
        rows = format_html_join(
            "",
            '<tr><td><a href="{}">#{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>',
            (
                (
                    reverse("admin:integration_delivery_change", args=[c.pk]),
                    c.pk,
                    f"{c.event.type} {c.event.event_id}" if c.event_id else "",
                    c.get_status_display(),
                    c.attempts,
                    c.last_status_code or "",
                    shortened(c.last_error),
                    when(c.created_at),
                )
                for c in calls
            ),
        )
        every = reverse("admin:integration_delivery_changelist") + f"?endpoint__id__exact={obj.pk}"
        return format_html(
            "<table><tr><th>Call</th><th>Event</th><th>Status</th><th>Tries</th><th>Last status</th>"
            '<th>Last error</th><th>Created</th></tr>{}</table><p><a href="{}">Every delivery, with its tries</a></p>',
            rows,
            every,
        )

    @admin.display(description="Event types")
    def event_types_display(self, obj):
        types = obj.event_types or []
        if not types:
            return "every type"
        return format_html(
            '<ul class="event-types">{}</ul>', format_html_join("", "<li>{}</li>", ((t,) for t in types))
        )

    @admin.display(description="Event types")
    def event_types_short(self, obj):
        types = obj.event_types or []
        if not types:
            return "every type"
        return format_html(
            '<span title="{}">{} type{}</span>', ", ".join(types), len(types), "s" if len(types) > 1 else ""
        )

    @admin.display(description="Disabled because")
    def short_reason(self, obj):
        return shortened(obj.disabled_reason, 80)

    def has_toggle_permission(self, request):
        return request.user.has_perm("integration.toggle_webhookendpoint")

    @admin.action(
        description="Disable (pending deliveries are dropped; the event feed keeps every event)", permissions=["toggle"]
    )
    def disable(self, request, queryset):
        def perform(endpoint):
            if not endpoint.enabled:
                raise ActionRefused("it is already disabled.")
            endpoint_disable(endpoint, reason=f"disabled by ops ({request.user.get_username()})", by_ops=True)
            return "disabled"

        action_apply(self, request, queryset, perform, "Disable")

    @admin.action(description="Re-enable", permissions=["toggle"])
    def enable(self, request, queryset):
        def perform(endpoint):
            if endpoint.enabled:
                raise ActionRefused("it is enabled already.")
            endpoint_enable(endpoint)
            return "enabled: new events are delivered again (missed ones are in the event feed)"

        action_apply(self, request, queryset, perform, "Re-enable")


@admin.register(NotificationEvent)
class NotificationEventAdmin(ReadOnlyAdmin):
    list_display = ("id", "event_id", "type", "client", "order_code", "store", "sequence", "timestamp")
    list_filter = ("type",)
    search_fields = ("event_id", "order__external_order_id", "store__venue_id")
    list_select_related = ("client", "order", "store")
    show_full_result_count = False
    readonly_fields = [f.name for f in NotificationEvent._meta.fields]

    @admin.display(description="Order", ordering="order")
    def order_code(self, obj):
        if obj.order_id is None:
            return "-"
        return format_html('<span title="{}">{}</span>', obj.order.external_order_id, obj.order.display_code)
