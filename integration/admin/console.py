"""The console's own pages: the live order board and the trends (thin: the reads are in integration.console)."""

from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse

from integration.console.board import order_board, stores_for_picker
from integration.console.trends import OUTCOMES, RANGES, trends
from integration.models import Order, Store

from .charts import lines, stacked_bars


def _may_read_orders(site, request) -> None:
    model_admin = site._registry.get(Order)
    if model_admin is None or not model_admin.has_view_or_change_permission(request):
        raise PermissionDenied("You may not read orders.")


def _store(request) -> Store | None:
    value = request.GET.get("store", "")
    return Store.objects.filter(pk=value).first() if value.isdigit() else None


def board_view(site, request):
    _may_read_orders(site, request)
    store = _store(request)
    context = {
        **site.each_context(request),
        "title": "Order board",
        "columns": order_board(store),
        "store": store,
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
    charts = [
        (
            "orders",
            stacked_bars(hours, {label: data.orders[key] for key, label in OUTCOMES}, "Orders per hour by outcome"),
        ),
        (
            "rates",
            lines(
                hours,
                {"rejected": data.reject_rate, "cancelled": data.cancel_rate},
                "Reject and cancel rate (% of finished orders)",
                "%",
            ),
        ),
        (
            "confirm",
            lines(
                hours,
                {"median": data.confirm_p50, "p90": data.confirm_p90},
                "Time to confirm (submitted -> confirmed)",
                " s",
            ),
        ),
        (
            "prep",
            lines(hours, {"median": data.prep_p50, "p90": data.prep_p90}, "Prep time (confirmed -> ready)", " min"),
        ),
        (
            "calls",
            lines(hours, {"succeeded": data.call_success}, "Calls to Link: share of tries that succeeded", "%"),
        ),
        (
            "latency",
            lines(hours, {"median": data.latency_p50, "p90": data.latency_p90}, "Calls to Link: latency", " ms"),
        ),
    ]
    context = {
        **site.each_context(request),
        "title": "Trends",
        "charts": charts,
        "range_key": range_key,
        "ranges": list(RANGES),
        "store": store,
        "stores": stores_for_picker(),
        "total_orders": sum(sum(values) for values in data.orders.values()),
    }
    return TemplateResponse(request, "admin/integration/trends.html", context)
