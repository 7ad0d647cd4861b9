"""The admin's side of issue 28 (special hours and the timeline on the store page, busy mode's actions, snooze
presets on the menu page): forms and inlines that call the services, nothing more."""

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.utils import timezone

from integration.models import ItemSnooze, SpecialHours, Store, StoreTimelineEntry, Via
from integration.services.menus.snoozes import END_OF_DAY
from integration.services.stores.special_hours import HHMM, SpecialHoursRefused, store_special_hours_replace

from .base import ReadOnlyInline

MANAGE_STORES = "integration.manage_stores"
MANAGE_CATALOG = "integration.manage_catalog"
TIMELINE_DAYS = 30


class SpecialHoursForm(forms.ModelForm):
    class Meta:
        model = SpecialHours
        fields = ("date", "closed", "open", "close")
        widgets = {"date": forms.DateInput(attrs={"type": "date"})}

    def clean(self):
        data = super().clean()
        opens, closes = data.get("open") or "", data.get("close") or ""
        if data.get("closed"):
            if opens or closes:
                raise forms.ValidationError("Closed all day: leave open and close empty.")
        elif not (HHMM.match(opens) and HHMM.match(closes)):
            raise forms.ValidationError("Tick closed, or give open and close as HH:MM (the store's own time).")
        return data


class SpecialHoursInline(admin.TabularInline):
    """Edited on the store page; saved through ``store_special_hours_replace`` (``StoreAdmin.save_formset``),
    so the change is on the timeline and MP services hear when it changes whether the store takes orders."""

    model = SpecialHours
    form = SpecialHoursForm
    extra = 1
    verbose_name_plural = "special hours (store-local dates; they replace the menu's hours on those dates)"

    def get_queryset(self, request):
        return super().get_queryset(request).filter(date__gte=timezone.now().date() - timedelta(days=1))

    def _may(self, request):
        return request.user.has_perm(MANAGE_STORES)

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(MANAGE_STORES) or request.user.has_perm("integration.view_store")

    def has_add_permission(self, request, obj=None):
        return self._may(request)

    def has_change_permission(self, request, obj=None):
        return self._may(request)

    def has_delete_permission(self, request, obj=None):
        return self._may(request)


def special_hours_save(request, store: Store, formset) -> None:
    entries = []
    for form in formset.forms:
        data = getattr(form, "cleaned_data", None) or {}
        if not data.get("date") or data.get("DELETE"):
            continue
        entry = {"date": data["date"].isoformat()}
        entry |= {"closed": True} if data.get("closed") else {"open": data["open"], "close": data["close"]}
        entries.append(entry)
    try:
        store_special_hours_replace(store, entries, user=request.user, via=Via.ADMIN)
    except SpecialHoursRefused as exc:
        problems = "; ".join(p["message"] for p in exc.problems)
        messages.error(request, f"Special hours not saved: {exc.message} {problems}")


class TimelineInline(ReadOnlyInline):
    model = StoreTimelineEntry
    fields = ("at", "area", "action", "summary", "by", "via")
    readonly_fields = fields
    verbose_name_plural = f"timeline: snoozes, special hours, busy mode (last {TIMELINE_DAYS} days)"

    def get_queryset(self, request):
        since = timezone.now() - timedelta(days=TIMELINE_DAYS)
        return super().get_queryset(request).filter(at__gte=since).select_related("by")

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("integration.view_store")


class BusyForm(forms.Form):
    extra_prep_minutes = forms.IntegerField(min_value=0, max_value=240, initial=15)
    minutes = forms.IntegerField(
        min_value=1, max_value=7 * 24 * 60, required=False, initial=60, help_text="Empty: until someone ends it."
    )
    max_orders_per_15_min = forms.IntegerField(
        min_value=1, max_value=1000, required=False, help_text="Empty: no cap (only longer prep times)."
    )


class SnoozeForm(forms.Form):
    PRESETS = [("60", "1 hour"), (END_OF_DAY, "the rest of the day (until the store's midnight)"), ("until", "until")]
    kind = forms.ChoiceField(choices=ItemSnooze.Kind.choices, initial=ItemSnooze.Kind.ITEM)
    link_id = forms.CharField(max_length=64, label="Id (Link's)")
    preset = forms.ChoiceField(choices=PRESETS, widget=forms.RadioSelect, initial="60", label="For")
    local_until = forms.DateTimeField(
        required=False,
        label="Until (the store's own time)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )

    def clean(self):
        data = super().clean()
        if data.get("preset") == "until" and not data.get("local_until"):
            raise forms.ValidationError("Give the time it comes back (the store's own time).")
        return data

    def until(self):
        data = self.cleaned_data
        if data["preset"] == END_OF_DAY:
            return END_OF_DAY
        if data["preset"] == "until":
            return data["local_until"].replace(tzinfo=None).isoformat()  # naive: read in the store's zone
        return timezone.now() + timedelta(minutes=int(data["preset"]))
