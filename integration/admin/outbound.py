from django.contrib import admin
from django.db.models import Q

from integration.models import CallAttempt, Order, OutboundCall, Store
from integration.services.outbox.calls import call_retry_now

from .base import ReadOnlyAdmin, ReadOnlyInline, action_apply, attention_filter, shortened
from .paging import KeysetPagingMixin


class CallAttemptInline(ReadOnlyInline):
    model = CallAttempt
    fields = (
        "number",
        "started_at",
        "duration_ms",
        "status_code",
        "outcome",
        "error",
        "request_url",
        "request_headers",
        "response_body",
    )
    readonly_fields = fields


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


@admin.register(OutboundCall)
class OutboundCallAdmin(KeysetPagingMixin, ReadOnlyAdmin):
    list_display = (
        "id",
        "kind",
        "status",
        "store",
        "attempts",
        "last_status_code",
        "short_error",
        "next_attempt_at",
        "waiting_since",
        "deadline",
        "created_at",
    )
    list_filter = (attention_filter(OutboundCall), WaitingFilter, "status", "kind")
    change_list_template = "admin/integration/outboundcall/change_list.html"
    search_fields = ("order__external_order_id", "store__venue_id", "store__external_store_id")
    search_help_text = "Exact call id, order's external id, venue id or storefront id."
    list_select_related = ("store",)
    keyset_field = "created_at"
    show_facets = admin.ShowFacets.NEVER  # per-choice counts scan the whole table (1 s at 100k orders)
    readonly_fields = [f.name for f in OutboundCall._meta.fields]
    inlines = [CallAttemptInline]
    actions = ["retry_now"]

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), **self.admin_site.link_circuits(request)}
        return super().changelist_view(request, extra_context)

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
