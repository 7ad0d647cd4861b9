import json
from urllib.parse import urlsplit

from django.contrib import admin
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html

from integration.models import CallAttempt, Delivery, NotificationEvent, Order, OutboundCall, Store
from integration.services.outbox.calls import call_retry_now
from integration.templatetags.console import when

from .base import ReadOnlyAdmin, ReadOnlyInline, action_apply, attention_filter, shortened
from .paging import KeysetPagingMixin


class CallAttemptInline(ReadOnlyInline):
    model = CallAttempt
    fields = ("number", "started_at", "duration_ms", "status_code", "outcome", "error", "request", "response")
    readonly_fields = fields

    @admin.display(description="Request")
    def request(self, attempt):
        """The URL, and the (redacted) headers folded: they are rarely what one looks for."""
        return format_html(
            '<span class="id">{}</span><details><summary>headers</summary><pre class="blob">{}</pre></details>',
            attempt.request_url,
            json.dumps(attempt.request_headers, indent=1) if attempt.request_headers else "-",
        )

    @admin.display(description="Response (start)")
    def response(self, attempt):
        body = attempt.response_body or ""
        if not body:
            return "-"
        return format_html(
            '<span class="blob">{}</span>{}',
            shortened(body, 160),
            format_html('<details><summary>all of it</summary><pre class="blob">{}</pre></details>', body)
            if len(body) > 160
            else "",
        )


class WaitingFilter(admin.SimpleListFilter):
    title = "waiting for Link"
    parameter_name = "waiting"

    def lookups(self, request, model_admin):
        return [("held", "Held: Link's circuit is open"), ("draining", "Released when Link came back, not sent yet")]

    def queryset(self, request, queryset):
        pending = queryset.filter(status=OutboundCall.Status.PENDING)
        if self.value() == "held":
            return pending.exclude(waiting_on="")
        if self.value() == "draining":
            return pending.filter(waiting_on="", waiting_since__isnull=False)
        return queryset


class LinkKindFilter(admin.SimpleListFilter):
    """The kinds of call to Link (deliveries to MP services have their own page)."""

    title = "kind"
    parameter_name = "kind__exact"

    def lookups(self, request, model_admin):
        return [(k.value, k.label) for k in OutboundCall.Kind if k != OutboundCall.Kind.DELIVER_EVENT]

    def queryset(self, request, queryset):
        return queryset.filter(kind=self.value()) if self.value() else queryset


DELIVERY = OutboundCall.Kind.DELIVER_EVENT


@admin.register(OutboundCall)
class OutboundCallAdmin(KeysetPagingMixin, ReadOnlyAdmin):
    """Calls to Link only: the outbox's deliveries to MP services are the Deliveries page (``DeliveryAdmin``)."""

    list_display = (
        "id",
        "kind_display",
        "status",
        "store",
        "tries",
        "http_status",
        "short_error",
        "next_try",
        "created_at",
    )
    list_filter = (attention_filter(OutboundCall), WaitingFilter, "status", LinkKindFilter)
    change_list_template = "admin/integration/outboundcall/change_list.html"
    search_fields = ("order__external_order_id", "store__venue_id", "store__external_store_id")
    search_help_text = "Exact call id, order's external id, venue id or storefront id."
    list_select_related = ("store",)
    keyset_field = "created_at"
    show_facets = admin.ShowFacets.NEVER  # per-choice counts scan the whole table (1 s at 100k orders)
    readonly_fields = [f.name for f in OutboundCall._meta.fields]
    inlines = [CallAttemptInline]
    actions = ["retry_now"]

    def get_queryset(self, request):
        return super().get_queryset(request).exclude(kind=DELIVERY)

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            "title": "Calls to Link",
            **(extra_context or {}),
            **self.admin_site.link_circuits(request),
        }
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """A delivery's id opens its page among the deliveries (old links, the order's timeline)."""
        if str(object_id).isdigit() and OutboundCall.objects.filter(pk=object_id, kind=DELIVERY).exists():
            return HttpResponseRedirect(reverse("admin:integration_delivery_change", args=[object_id]))
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description="Tries", ordering="attempts")
    def tries(self, obj):
        return obj.attempts

    @admin.display(description="HTTP", ordering="last_status_code")
    def http_status(self, obj):
        return obj.last_status_code or "-"

    @admin.display(description="Next try", ordering="next_attempt_at")
    def next_try(self, obj):
        """When a pending call goes next: held by Link's circuit (since when), or its next try's time."""
        if obj.status != OutboundCall.Status.PENDING:
            return "-"
        if obj.waiting_on:
            return format_html("held since {}", when(obj.waiting_since))
        return when(obj.next_attempt_at)

    @admin.display(description="Kind", ordering="kind")
    def kind_display(self, obj):
        return obj.get_kind_display()

    def get_search_results(self, request, queryset, search_term):
        """Exact values: the order and stores are looked up first, so each part of the OR has its index
        (Django's default, ``icontains`` over a join, scanned 10 M calls)."""
        term = search_term.strip()
        if not term:
            return queryset, False
        orders = list(Order.objects.filter(external_order_id=term).values_list("pk", flat=True))
        stores = list(Store.objects.filter(Q(venue_id=term) | Q(external_store_id=term)).values_list("pk", flat=True))
        match = Q(order_id__in=orders) | Q(store_id__in=stores)
        if term.isdigit() and len(term) < 19:  # a bigint
            match |= Q(pk=int(term))
        return queryset.filter(match), False

    @admin.display(description="Last error")
    def short_error(self, obj):
        return shortened(obj.last_error)

    def has_retry_permission(self, request):
        return request.user.has_perm("integration.retry_outboundcall")

    @admin.action(description="Retry now", permissions=["retry"])
    def retry_now(self, request, queryset):
        def perform(call):
            call_retry_now(call)
            return "queued for an immediate try"

        action_apply(self, request, queryset, perform, "Retry now")


class EventTypeFilter(admin.SimpleListFilter):
    title = "event type"
    parameter_name = "event_type"

    def lookups(self, request, model_admin):
        types = NotificationEvent.objects.order_by().values_list("type", flat=True).distinct()[:50]
        return [(t, t) for t in sorted(types)]

    def queryset(self, request, queryset):
        return queryset.filter(event__type=self.value()) if self.value() else queryset


@admin.register(Delivery)
class DeliveryAdmin(OutboundCallAdmin):
    """Deliveries of events to MP services' webhook endpoints: apart from the calls to Link, with their own
    counts and filters. Read and retried with the outbound calls' permissions."""

    list_display = (
        "id",
        "event_display",
        "endpoint_display",
        "status",
        "tries",
        "http_status",
        "short_error",
        "next_try",
        "created_at",
    )
    list_filter = ("status", EventTypeFilter, "endpoint")
    list_select_related = ("event", "endpoint")
    search_fields = ("event__event_id",)
    search_help_text = "Exact call id or event id."

    def get_queryset(self, request):
        return super(OutboundCallAdmin, self).get_queryset(request).filter(kind=DELIVERY)

    def changelist_view(self, request, extra_context=None):
        extra_context = {"title": "Deliveries to MP services", **(extra_context or {})}
        return super(OutboundCallAdmin, self).changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return super(OutboundCallAdmin, self).change_view(request, object_id, form_url, extra_context)

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        match = Q(event__event_id=term)
        if term.isdigit() and len(term) < 19:
            match |= Q(pk=int(term))
        return queryset.filter(match), False

    def _outbound_perm(self, request, action: str) -> bool:
        return request.user.has_perm(f"integration.{action}_outboundcall")

    def has_view_permission(self, request, obj=None):
        return self._outbound_perm(request, "view") or self._outbound_perm(request, "change")

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    @admin.display(description="Event", ordering="event__type")
    def event_display(self, obj):
        if not obj.event_id:
            return "-"
        return format_html('{}<br><small class="id">{}</small>', obj.event.type, obj.event.event_id)

    @admin.display(description="Endpoint", ordering="endpoint__url")
    def endpoint_display(self, obj):
        if not obj.endpoint_id:
            return "-"
        where = urlsplit(obj.endpoint.url)
        return format_html(
            '<span title="{}">#{} {}</span>', obj.endpoint.url, obj.endpoint_id, where.netloc + where.path
        )
