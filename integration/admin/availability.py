"""Availability in the console (issue 26): a store's page (day bars per cause, the gaps and who caused them,
CSV), the alert history, and what the dashboard and the store list show."""

import csv
from datetime import date, timedelta

from django import forms
from django.contrib import admin
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.utils import timezone

from integration.models import Alert, OutboundCall, Store
from integration.models.availability import CAUSES
from integration.selectors.availability import (
    MAX_DAYS,
    availability_gaps,
    store_availability_days,
    store_local_today,
    stores_availability_ranked,
)

COLOURS = {
    "accepting": "#3a9d5d",
    "paused_on_link": "#e0a030",
    "paused_by_ops": "#6a7fdb",
    "disconnected": "#b03a3a",
    "no_menu": "#8a5a9c",
    "link_unreachable": "#d46a1f",
}


class PeriodForm(forms.Form):
    start = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end"):
            if data["end"] < data["start"]:
                raise forms.ValidationError("'To' must be on or after 'From'.")
            if (data["end"] - data["start"]).days + 1 > MAX_DAYS:
                raise forms.ValidationError(f"At most {MAX_DAYS} days.")
        return data


def _bars(days) -> list[dict]:
    rows = []
    for day in days:
        parts = [("accepting", day.accepting_seconds), *day.unavailable_seconds.items()]
        total = day.scheduled_seconds or 1
        rows.append(
            {
                "day": day,
                "segments": [
                    {"cause": c, "seconds": s, "pct": round(100 * s / total, 2), "colour": COLOURS[c]}
                    for c, s in parts
                    if s
                ],
                "share": round(100 * day.accepting_seconds / day.scheduled_seconds, 1)
                if day.scheduled_seconds
                else None,
                "down": sum(day.unavailable_seconds.values()),
            }
        )
    return rows


def store_availability_view(model_admin, request, object_id):
    store = get_object_or_404(Store.objects.select_related("menu"), pk=object_id)
    today = store_local_today(store)
    form = PeriodForm(request.GET or {"start": today - timedelta(days=13), "end": today})
    first, last = (today - timedelta(days=13), today)
    if form.is_valid():
        first, last = form.cleaned_data["start"], form.cleaned_data["end"]
    days = store_availability_days(store, first, last)
    if request.GET.get("format") == "csv":
        return _csv(store, days)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": f"Availability of {store}",
        "opts": model_admin.model._meta,
        "original": store,
        "form": form,
        "rows": _bars(days),
        "gaps": availability_gaps(store, first, last),
        "colours": COLOURS,
        "causes": CAUSES,
        "csv_query": f"start={first}&end={last}&format=csv",
        "totals": {
            "scheduled": sum(d.scheduled_seconds for d in days),
            "accepting": sum(d.accepting_seconds for d in days),
        },
    }
    return TemplateResponse(request, "admin/integration/store_availability.html", context)


def _csv(store: Store, days) -> HttpResponse:
    response = HttpResponse(content_type="text/csv")
    name = store.external_store_id or store.venue_id
    response["Content-Disposition"] = f'attachment; filename="availability-{name}.csv"'
    writer = csv.writer(response)
    writer.writerow(["store", "timezone", "date", "scheduled_seconds", "accepting_seconds", *CAUSES])
    for day in days:
        writer.writerow(
            [name, store.timezone, day.date.isoformat(), day.scheduled_seconds, day.accepting_seconds]
            + [day.unavailable_seconds[c] for c in CAUSES]
        )
    return response


def week_bounds(now=None) -> tuple[date, date]:
    """This week, for the console: the last seven days up to today (UTC dates, each store in its own zone)."""
    today = (now or timezone.now()).date()
    return today - timedelta(days=6), today


def worst_stores_this_week(limit: int = 10) -> list:
    first, last = week_bounds()
    return [t for t in stores_availability_ranked(first, last)[:limit] if t.unavailable_total]


def availability_panel_context() -> dict:
    from integration.services.ops.alerts import alerts_undeliverable

    first, last = week_bounds()
    return {
        "availability_worst": worst_stores_this_week(),
        "availability_week": (first, last),
        "alerts_firing": list(Alert.objects.filter(state=Alert.State.FIRING).order_by("-fired_at")[:10]),
        "alerts_undeliverable": list(alerts_undeliverable()),
    }


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    """The alert history: every occurrence, when it fired and resolved, and what was sent."""

    list_display = ("rule", "subject", "state", "since", "fired_at", "resolved_at", "title")
    list_filter = ("state", "rule")
    search_fields = ("subject", "title")
    date_hierarchy = "since"
    readonly_fields = ("rule", "subject", "state", "since", "fired_at", "clear_since", "resolved_at", "title")
    fields = (*readonly_fields, "details", "messages")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Messages sent for it (webhook, e-mail)")
    def messages(self, obj):
        from django.utils.html import format_html_join

        calls = OutboundCall.objects.filter(kind=OutboundCall.Kind.DELIVER_ALERT).order_by("pk")
        calls = [c for c in calls.filter(created_at__gte=obj.since) if _mentions(c, obj)][:20]
        return format_html_join(
            "\n",
            "<div>{} {} to {}: <code>{}</code> ({})</div>",
            (
                (
                    c.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                    c.payload["alert"]["state"],
                    c.path,
                    c.payload["text"],
                    c.status,
                )
                for c in calls
            ),
        )


def _mentions(call: OutboundCall, alert: Alert) -> bool:
    details = (call.payload or {}).get("alert", {}).get("details", {})
    ids = [details.get("alert_id")] + [s.get("alert_id") for s in details.get("stores", [])]
    return alert.pk in ids
