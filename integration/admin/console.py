"""The console's own pages: the live order board and the trends (thin: the reads are in integration.console)."""

import zoneinfo
from datetime import timedelta

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from integration.models import ConsoleUser, Order, OutboundCall, Store
from integration.selectors.board import order_board, store_for_picker, stores_for_picker
from integration.selectors.link_health import RETRY_BATCH, calls_to_retry_since, orders_to_retry_since
from integration.selectors.trends import OUTCOMES, RANGES, trends

from .charts import lines, stacked_bars


def _may_read_orders(site, request) -> None:
    model_admin = site._registry.get(Order)
    if model_admin is None or not model_admin.has_view_or_change_permission(request):
        raise PermissionDenied("You may not read orders.")


def _store(request) -> Store | None:
    return store_for_picker(request.GET.get("store", ""))


def board_view(site, request):
    _may_read_orders(site, request)
    store = _store(request)
    context = {
        **site.each_context(request),
        "title": "Order board",
        "columns": order_board(store),
        "store": store,
        "store_asked": request.GET.get("store", ""),
        "stores": stores_for_picker(),
    }
    partial = request.headers.get("HX-Request") == "true"
    template = "admin/integration/_board.html" if partial else "admin/integration/board.html"
    return TemplateResponse(request, template, context)


def trends_view(site, request):
    _may_read_orders(site, request)
    store = _store(request)
    range_key = request.GET.get("range") if request.GET.get("range") in RANGES else "24h"
    data = trends(range_key, store)
    hours = data.hours
    series = [
        ("orders", "Orders per hour by outcome", None, {label: data.orders[key] for key, label in OUTCOMES}),
        (
            "rates",
            "Reject and cancel rate (% of finished orders)",
            "%",
            {"rejected": data.reject_rate, "cancelled": data.cancel_rate},
        ),
        (
            "confirm",
            "Time to confirm (submitted -> confirmed)",
            " s",
            {"median": data.confirm_p50, "p90": data.confirm_p90},
        ),
        ("prep", "Prep time (confirmed -> ready)", " min", {"median": data.prep_p50, "p90": data.prep_p90}),
        ("calls", "Calls to Link: share of tries that succeeded", "%", {"succeeded": data.call_success}),
        ("latency", "Calls to Link: latency", " ms", {"median": data.latency_p50, "p90": data.latency_p90}),
    ]
    if store is None:  # deliveries go to MP services, not to one store
        series.append(
            (
                "deliveries",
                "MP webhook deliveries per second (through, 2xx)",
                "/s",
                {"delivered": data.deliveries_per_second},
            )
        )
    charts = [
        (key, title, stacked_bars(hours, values, title) if unit is None else lines(hours, values, title, unit))
        for key, title, unit, values in series
    ]
    context = {
        **site.each_context(request),
        "title": "Trends",
        "charts": charts,
        "range_key": range_key,
        "ranges": list(RANGES),
        "store": store,
        "store_asked": request.GET.get("store", ""),
        "stores": stores_for_picker(),
        "total_orders": sum(sum(values) for values in data.orders.values()),
        "rollup": data.rollup,
        "rollup_stale": data.rollup_stale,
        "live_hours": data.live_hours,
        "hours": len(data.hours),
    }
    return TemplateResponse(request, "admin/integration/trends.html", context)


class RecoverForm(forms.Form):
    PRESETS = [("15", "15 minutes ago"), ("60", "1 hour ago"), ("360", "6 hours ago"), ("1440", "24 hours ago")]
    preset = forms.ChoiceField(choices=PRESETS, initial="60", required=False, label="Since")
    since = forms.DateTimeField(required=False, label="or since (UTC)", help_text="YYYY-MM-DD HH:MM")

    def since_value(self):
        if self.cleaned_data.get("since"):
            return self.cleaned_data["since"]
        return timezone.now() - timedelta(minutes=int(self.cleaned_data.get("preset") or 60))


def recover_permissions(site, request) -> tuple[bool, bool]:
    """(may retry orders' submissions, may retry calls)."""
    orders_admin, calls_admin = site._registry.get(Order), site._registry.get(OutboundCall)
    return (
        bool(orders_admin and orders_admin.has_retry_submission_permission(request)),
        bool(calls_admin and calls_admin.has_retry_permission(request)),
    )


def recover_view(site, request):
    """ "Retry everything that failed since ...": failed orders, then calls, each through its own action,
    so every row is refused or done with its reason, and logged, exactly as from the lists."""
    may_orders, may_calls = recover_permissions(site, request)
    if not (may_orders or may_calls):
        raise PermissionDenied("You may not retry orders or calls.")
    form = RecoverForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Not retried: {form.errors.as_text()}")
        return HttpResponseRedirect(reverse("admin:index", current_app=site.name))
    since = form.since_value()
    for allowed, admin_, rows, action in (
        (may_orders, site._registry.get(Order), orders_to_retry_since(since), "retry_submissions"),
        (may_calls, site._registry.get(OutboundCall), calls_to_retry_since(since), "retry_now"),
    ):
        if not allowed:
            continue
        total = rows.count()
        noun = admin_.model._meta.verbose_name_plural
        if not total:
            messages.info(request, f"No {noun} to retry since {since:%Y-%m-%d %H:%M} UTC.")
            continue
        getattr(admin_, action)(request, rows[:RETRY_BATCH])
        if total > RETRY_BATCH:
            messages.warning(request, f"{total - RETRY_BATCH} more {noun}: press Retry again.")
    return HttpResponseRedirect(reverse("admin:index", current_app=site.name))


def viewer_zone(request) -> str:
    """The signed-in user's zone (their console setting), read once per request; UTC by default."""
    if not hasattr(request, "_console_zone"):
        user = getattr(request, "user", None)
        zone = None
        if user is not None and user.is_authenticated:
            zone = ConsoleUser.objects.filter(user=user).values_list("time_zone", flat=True).first()
        request._console_zone = zone or "UTC"
    return request._console_zone


class ZoneForm(forms.ModelForm):
    class Meta:
        model = ConsoleUser
        fields = ["time_zone"]
        labels = {"time_zone": "Your time zone"}


def zone_view(site, request):
    """Each user picks the zone the console shows times in (where no store is the subject)."""
    setting = ConsoleUser.objects.filter(user=request.user).first() or ConsoleUser(user=request.user)
    form = ZoneForm(request.POST or None, instance=setting)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f"Times are now shown in {setting.time_zone} (a store's own times in its zone).")
        return HttpResponseRedirect(request.GET.get("next") or reverse("admin:index", current_app=site.name))
    context = {
        **site.each_context(request),
        "title": "Your time zone",
        "form": form,
        "zones": sorted(zoneinfo.available_timezones()),
    }
    return TemplateResponse(request, "admin/integration/zone.html", context)
