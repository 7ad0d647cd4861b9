import csv
import re
from datetime import date, datetime, time

from django import forms
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpResponseBadRequest, StreamingHttpResponse
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from integration.link.routes import CANCEL_REASON_CODES, UNACCEPTED
from integration.models import Order, OrderLine, OutboundCall
from integration.selectors.board import order_timers
from integration.selectors.order_export import orders_csv_rows
from integration.selectors.orders import order_timeline, submission_statuses
from integration.services.errors import ActionRefused
from integration.services.orders.cancellation import order_cancel
from integration.services.orders.recovery import order_reconcile, order_retry_submission
from integration.templatetags.console import STATE_LABELS, duration, order_state, store_time

from .base import ReadOnlyAdmin, ReadOnlyInline, StoreFilter, action_apply, attention_filter, form_action, money
from .paging import KeysetChangeList, KeysetPagingMixin
from .times import PREFIX as ZONED


class Echo:
    """csv.writer's file: each row comes back as text, to stream."""

    def write(self, value):
        return value


class CancelForm(forms.Form):
    reason_code = forms.ChoiceField(choices=CANCEL_REASON_CODES, help_text="Sent to Link with the cancel.")
    reason = forms.CharField(max_length=500, required=False, help_text="Free text for Link and other ops staff.")


def _day_start(value: str):
    """``2026-11-30`` (the range form's date) as that day's first instant in the viewer's zone (the console
    runs each view in it); anything else as given."""
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time.min, tzinfo=timezone.get_current_timezone())
    except ValueError:
        pass
    return value


class PlacedAtFilter(admin.DateFieldListFilter):
    """Django's date links, plus the range form's bare dates read as the viewer's days (as Django's own
    "Today" link is): Django would take them as naive times and log a RuntimeWarning on every such page."""

    def queryset(self, request, queryset):
        for key in (self.lookup_kwarg_since, self.lookup_kwarg_until):
            if key in self.used_parameters:
                self.used_parameters[key] = [_day_start(v) for v in self.used_parameters[key]]
        return super().queryset(request, queryset)


class StateFilter(admin.SimpleListFilter):
    """The state in ops' words (the model's labels name Link's statuses), and the pending orders Link lacks."""

    title = "state"
    parameter_name = "state__exact"

    def lookups(self, request, model_admin):
        shown = {**STATE_LABELS, "PENDING": "Not confirmed yet (at Link or not)"}
        return [*shown.items(), ("not_at_link", "of which not yet at Link")]

    def queryset(self, request, queryset):
        if self.value() == "not_at_link":
            return queryset.filter(state=Order.State.PENDING, link_order_id__isnull=True)
        return queryset.filter(state=self.value()) if self.value() in STATE_LABELS else queryset


class CancelStatusFilter(admin.SimpleListFilter):
    title = "cancel"
    parameter_name = "cancel"
    statuses = (Order.CancelStatus.REQUESTED, Order.CancelStatus.REFUSED)

    def lookups(self, request, model_admin):
        shown = [(status, status.label) for status in self.statuses]
        return [*shown, ("unaccepted", "Cancelled: not confirmed in time")]

    def queryset(self, request, queryset):
        if self.value() in self.statuses:
            return queryset.cancel_status(self.value())
        if self.value() == "unaccepted":
            return queryset.filter(cancel_reason_code=UNACCEPTED)
        return queryset


def money_column(field: str, description: str):
    """A read-only column showing a line's amount ``field`` as money in its order's currency."""

    @admin.display(description=description)
    def show(self, line):
        return money(getattr(line, field), line.order.currency)

    return show


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    store_is_subject = True
    fields = (
        "position",
        "item_link_id",
        "name",
        "quantity",
        "item_price_display",
        "unit_price_display",
        "line_total_display",
        "tax_display",
        "modifier_list",
        "special_instructions",
    )
    readonly_fields = fields

    item_price_display = money_column("item_price", "Item price")
    unit_price_display = money_column("unit_price", "Unit price (with modifiers)")
    line_total_display = money_column("line_total", "Line total")
    tax_display = money_column("tax", "Tax")

    @admin.display(description="Modifiers")
    def modifier_list(self, line):
        """``Iced Tea +$0.75``, ``2 x Extra cheese +$1.00 each``; nested ones indented under theirs."""

        def describe(modifiers, depth=0):
            out = []
            for m in modifiers:
                quantity = m.get("quantity") or 1
                price = m.get("unit_price") or 0
                shown = f"+{money(price, line.order.currency)}" if price else "no charge"
                each = " each" if quantity > 1 and price else ""
                name = f"{quantity} x {m['name']}" if quantity > 1 else m["name"]
                out.append(
                    ("\u2003" * depth + ("\u21b3 " if depth else ""), name, f"{shown}{each}", m.get("modifier_id"))
                )
                out += describe(m.get("modifiers") or [], depth + 1)
            return out

        rows = describe(line.modifiers)
        if not rows:
            return "-"
        return format_html_join(
            mark_safe("<br>"),
            '{}<span title="Link ids: modifier {}">{}</span> <span class="money">{}</span>',
            ((indent, link_id, name, price) for indent, name, price, link_id in rows),
        )


class OrderChangeList(KeysetChangeList):
    def get_results(self, request):
        super().get_results(request)
        self.result_list = list(self.result_list)
        statuses = submission_statuses([order.pk for order in self.result_list])
        for order in self.result_list:
            order.submission_status = statuses.get(order.pk)


@admin.register(Order)
class OrderAdmin(KeysetPagingMixin, ReadOnlyAdmin):
    list_display = (
        "display_code",
        "external_order_id",
        "store",
        "state_display",
        "age",
        "total_display",
        "cancel_display",
        "submission_display",
    )
    list_filter = (
        attention_filter(Order),
        StateFilter,
        CancelStatusFilter,
        ("placed_at", PlacedAtFilter),
        StoreFilter,
    )
    keyset_field = "placed_at"
    store_is_subject = True  # an order's times on its store's clock
    change_list_template = "admin/integration/order/change_list.html"
    search_fields = ("external_order_id",)
    search_help_text = "Exact external id, Link order id or display code; part of a customer's name or phone."
    list_select_related = ("store",)
    show_facets = admin.ShowFacets.NEVER  # per-choice counts scan the whole table (1 s at 100k orders)
    inlines = [OrderLineInline]
    readonly_fields = [*(f.name for f in Order._meta.fields), "total_display"]
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "display_code",
                    "state",
                    "store",
                    "total_display",
                    "placed_at",
                    "pending_since",
                    "external_order_id",
                    "link_order_id",
                    "link_status",
                )
            },
        ),
        (
            "Customer and fulfillment",
            {"fields": ("customer_name", "customer_phone", "fulfillment_type", "scheduled_for", "notes")},
        ),
        (
            "Kitchen",
            {
                "fields": (
                    "submitted_at",
                    "confirmed_at",
                    "prep_time_minutes",
                    "estimated_ready_at",
                    "ready_at",
                    "closed_at",
                )
            },
        ),
        (
            "Rejected, cancelled or failed",
            {
                "fields": (
                    "reason_code",
                    "reason",
                    "cancelled_by",
                    "failure_reason",
                    "cancel_requested_at",
                    "cancel_requested_by",
                    "cancel_reason_code",
                    "cancel_reason",
                    "cancel_refused_at",
                    "cancel_refusal",
                )
            },
        ),
        (
            "Amounts (minor units)",
            {
                "classes": ["collapse"],
                "fields": ("currency", "subtotal", "tax", "tip", "delivery_fee", "discount", "total"),
            },
        ),
        (
            "Technical",
            {
                "classes": ["collapse"],
                "fields": ("id", "created_by", "idempotency_key", "request_hash", "menu_version", "updated_at"),
            },
        ),
    )
    change_form_template = "admin/integration/order/change_form.html"
    actions = ["cancel_orders", "retry_submissions", "reconcile_orders"]

    def get_changelist(self, request, **kwargs):
        return OrderChangeList

    def get_search_results(self, request, queryset, search_term):
        """Exact ids, code or phone; and, from 3 characters, part of the customer's name or (4 digits) phone."""
        term = search_term.strip()
        if not term:
            return queryset, False
        match = (
            Q(external_order_id=term) | Q(link_order_id=term) | Q(display_code=term.upper()) | Q(customer_phone=term)
        )
        if len(term) >= 3:
            match |= Q(customer_name__icontains=term)
        digits = re.sub(r"\D", "", term)
        if len(digits) >= 4:
            match |= Q(customer_phone__contains=digits)
        return queryset.filter(match), False

    def get_urls(self):
        export = path("export.csv", self.admin_site.admin_view(self.export_view), name="integration_order_export")
        return [export, *super().get_urls()]

    def export_view(self, request):
        """The order list as CSV, with the list's filters, search and order."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        try:
            orders = self.get_changelist_instance(request).get_queryset(request)
        except IncorrectLookupParameters as exc:
            return HttpResponseBadRequest(f"These filters cannot be exported: {exc}", content_type="text/plain")
        writer = csv.writer(Echo())
        response = StreamingHttpResponse(
            (writer.writerow(row) for row in orders_csv_rows(orders)), content_type="text/csv"
        )
        response["Content-Disposition"] = f'attachment; filename="orders-{timezone.now():%Y%m%d-%H%M}.csv"'
        return response

    @admin.display(description="Age", ordering="placed_at")
    def age(self, order):
        return duration(timezone.now() - order.placed_at)

    @admin.display(description="State", ordering="state")
    def state_display(self, order):
        return order_state(order)

    @admin.display(description="Total", ordering="total")
    def total_display(self, order):
        return money(order.total, order.currency)

    @admin.display(description="Cancel")
    def cancel_display(self, order):
        status = order.cancel_status
        return "-" if status == Order.CancelStatus.NONE else Order.CancelStatus(status).label.split(" (")[0]

    @admin.display(description="Submission to Link")
    def submission_display(self, order):
        status = getattr(order, "submission_status", None)
        shown = OutboundCall.Status(status).label.split(" (")[0] if status in OutboundCall.Status.values else "-"
        if order.link_order_id:
            return format_html('{} <span class="id" title="Link\'s order id">{}</span>', shown, order.link_order_id)
        return shown

    def change_view(self, request, object_id, form_url="", extra_context=None):
        order = self.get_object(request, object_id)
        extra_context = {**(extra_context or {}), "timeline": order_timeline(order) if order else []}
        if order is not None:
            extra_context["order_timers"] = order_timers(order)
            extra_context["order_actions"] = self.page_actions(request, order)
        return super().change_view(request, object_id, form_url, extra_context)

    def page_actions(self, request, order) -> list[tuple[str, str]]:
        """The list's actions that apply to this order now, as buttons on its page."""
        allowed = self.get_actions(request)
        wanted = [
            ("cancel_orders", "Cancel...", order.state in Order.OPEN_STATES),
            ("retry_submissions", "Retry submission", order.state == Order.State.FAILED),
            ("reconcile_orders", "Reconcile with Link", bool(order.link_order_id)),
        ]
        return [(name, label) for name, label, applies in wanted if applies and name in allowed]

    def get_fieldsets(self, request, obj=None):
        """Groups with nothing filled in are folded."""
        fieldsets = super().get_fieldsets(request, obj)  # times swapped for their zoned columns (ZonedTimes)
        if obj is None:
            return fieldsets
        folded = []
        for title, options in fieldsets:
            names = [name.removeprefix(ZONED) for name in options["fields"]]
            empty = all(getattr(obj, name, None) in (None, "", 0) for name in names)
            if empty and title and "collapse" not in options.get("classes", []):
                options = {**options, "classes": [*options.get("classes", []), "collapse"]}
            folded.append((title, options))
        return folded

    def has_cancel_permission(self, request):
        return request.user.has_perm("integration.cancel_order")

    def has_retry_submission_permission(self, request):
        return request.user.has_perm("integration.retry_order_submission")

    def has_reconcile_permission(self, request):
        return request.user.has_perm("integration.reconcile_order")

    @admin.action(description="Cancel (tells Link)", permissions=["cancel"])
    def cancel_orders(self, request, queryset):
        def perform(order, data):
            asked = timezone.now()
            order = order_cancel(order, reason_code=data["reason_code"], reason=data["reason"], user=request.user)
            if order.cancel_status == Order.CancelStatus.REQUESTED and order.cancel_requested_at < asked:
                who = order.cancel_requested_by or "the marketplace"
                return (
                    f"a cancel ({order.cancel_reason_code}) was already asked by {who} at "
                    f"{store_time(order.cancel_requested_at, order.store.timezone)}; still waiting for Link's answer"
                )
            if order.cancel_status == Order.CancelStatus.CANCELLED:
                return "cancelled before its submission left; never sent to Link"
            return "cancel requested; waiting for Link's answer (see the order's timeline)"

        return form_action(
            self,
            request,
            queryset,
            form_class=CancelForm,
            title="Cancel orders",
            perform=perform,
            intro="Only orders not yet ready can be cancelled. Link may still refuse; the refusal shows on the order.",
        )

    @admin.action(description="Retry submission (failed orders)", permissions=["retry_submission"])
    def retry_submissions(self, request, queryset):
        def perform(order):
            order_retry_submission(order, user=request.user)
            return "submitted again with the same external id (see Outbound calls)"

        action_apply(self, request, queryset, perform, "Retry submission")

    @admin.action(description="Reconcile with Link (read Link's status)", permissions=["reconcile"])
    def reconcile_orders(self, request, queryset):
        def perform(order):
            result = order_reconcile(order, user=request.user)
            if not result.link_status and result.note:  # nothing was read
                raise ActionRefused(
                    f"{result.note}. Wait for Link's answer to its submission, or retry the submission if it failed."
                )
            if result.change:
                return f"Link says {result.link_status}: {result.change}"
            if result.note:
                return f"Link says {result.link_status or '-'}; left as is: {result.note}"
            return f"Link says {result.link_status}; already in step"

        action_apply(self, request, queryset, perform, "Reconcile")
