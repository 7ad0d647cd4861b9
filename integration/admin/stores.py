from datetime import timedelta

from django import forms
from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from integration.models import SpecialHours, Store, Via
from integration.selectors.busy import store_busy
from integration.selectors.stores import special_hours_near, store_accepting
from integration.services.stores import store_edit, store_pause, store_pause_end, store_resume, store_sync
from integration.services.stores.busy import store_busy_end, store_busy_set
from integration.templatetags.console import store_time, store_when, zone

from .base import OpsModelAdmin, action_apply, attention_filter, form_action
from .timed import MANAGE_STORES, BusyForm, SpecialHoursInline, TimelineInline, special_hours_save


class PauseForm(forms.Form):
    PRESETS = [
        ("", "until someone resumes it"),
        ("15", "15 minutes"),
        ("30", "30 minutes"),
        ("60", "1 hour"),
        ("closing", "until closing time today"),
    ]
    reason = forms.CharField(max_length=500, help_text="Shown to other ops staff and sent to Link.")
    preset = forms.ChoiceField(choices=PRESETS, required=False, widget=forms.RadioSelect, label="For")
    local_until = forms.DateTimeField(
        required=False,
        label="Or until (the store's own time)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )
    paused_until = forms.DateTimeField(
        required=False, label="Or until (UTC)", help_text="e.g. 2026-11-27 18:00. Nothing picked: until resumed."
    )

    def clean_paused_until(self):
        until = self.cleaned_data["paused_until"]
        if until and until <= timezone.now():
            raise forms.ValidationError("Pick a time in the future, or leave it empty.")
        return until

    def clean(self):
        data = super().clean()
        picked = [name for name in ("preset", "local_until", "paused_until") if data.get(name)]
        if len(picked) > 1:
            raise forms.ValidationError("Pick one end: a preset, a store-local time or a UTC time.")
        return data

    @staticmethod
    def end_for(store: Store, data: dict):
        if data.get("paused_until"):
            return data["paused_until"]
        preset = data.get("preset") or ""
        return store_pause_end(
            store,
            minutes=int(preset) if preset.isdigit() else None,
            until_closing=preset == "closing",
            local=data.get("local_until"),
        )


@admin.register(Store)
class StoreAdmin(OpsModelAdmin):
    store_is_subject = True  # a store's times on its own clock
    list_display = (
        "__str__",
        "venue_id",
        "external_store_id",
        "state",
        "accepting",
        "availability_week",
        "pause_summary",
        "busy_summary",
        "link_synced_at",
    )
    list_filter = (attention_filter(Store), "state", "pause_source")
    search_fields = ("name", "venue_id", "external_store_id")
    readonly_fields = (
        "venue_id",
        "state",
        "pause_reason",
        "pause_source",
        "paused_by",
        "paused_at",
        "paused_until",
        "disconnect_reason",
        "disconnect_in_flight",
        "connected_at",
        "disconnected_at",
        "link_status",
        "link_synced_at",
        "created_at",
        "updated_at",
        "availability_link",
    )
    readonly_fields = (*readonly_fields, "address_display")
    fields = ("name", "venue_id", "external_store_id", "timezone", "address_display", *readonly_fields[1:-1])
    list_select_related = ("paused_by", "menu", "busy")  # the accepting column reads the menu
    actions = ["pause_stores", "resume_stores", "sync_stores", "busy_quick", "busy_stores", "busy_end"]
    inlines = [SpecialHoursInline, TimelineInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related(special_hours_near())  # the accepting column

    def get_formsets_with_inlines(self, request, obj=None):
        """A post without an inline's forms (a script, an older page) leaves that inline alone."""
        for formset, inline in super().get_formsets_with_inlines(request, obj):
            if request.method == "POST" and f"{formset.get_default_prefix()}-TOTAL_FORMS" not in request.POST:
                continue
            yield formset, inline

    def save_formset(self, request, form, formset, change):
        """Special hours go through their service (timeline, announcement), not straight to the table."""
        if formset.model is SpecialHours:
            special_hours_save(request, form.instance, formset)
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []  # on the timeline
        else:
            super().save_formset(request, form, formset, change)

    def has_add_permission(self, request):
        return False  # stores come from Link's store.connected

    def save_model(self, request, obj, form, change):
        """Through the service: a mapping change can start or stop orders, and MP services hear of it."""
        edited = store_edit(obj, {name: getattr(obj, name) for name in form.changed_data}, user=request.user)
        obj.external_store_id, obj.updated_at = edited.external_store_id, edited.updated_at

    @admin.display(description="Address")
    def address_display(self, obj):
        """Link's address as lines to read (it comes from Link: not edited here)."""
        address = obj.address or {}
        if not isinstance(address, dict):
            return str(address) or "-"
        street = ", ".join(
            str(address[k]) for k in ("line1", "street", "line2", "address1", "address2") if address.get(k)
        )
        city = " ".join(
            str(address[k]) for k in ("city", "state", "region", "postal_code", "zip", "postcode") if address.get(k)
        )
        parts = [p for p in (street, city, address.get("country")) if p]
        known = {"line1", "street", "line2", "address1", "address2", "city", "state", "region", "postal_code"}
        known |= {"zip", "postcode", "country"}
        parts += [f"{k}: {v}" for k, v in address.items() if k not in known and v not in (None, "")]
        return format_html_join(mark_safe("<br>"), "{}", ((p,) for p in parts)) if parts else "-"

    def get_urls(self):
        from django.urls import path

        from .availability import store_availability_view

        view = self.admin_site.admin_view(lambda request, object_id: store_availability_view(self, request, object_id))
        return [
            path("<int:object_id>/availability/", view, name="integration_store_availability"),
            *super().get_urls(),
        ]

    def get_changelist_instance(self, request):
        """The page's stores with their last seven days' availability (five queries for the page)."""
        from integration.selectors.availability import stores_availability_totals

        from .availability import week_bounds

        changelist = super().get_changelist_instance(request)
        stores = list(changelist.result_list)
        if stores:
            first, last = week_bounds()
            totals = stores_availability_totals(first, last, stores=Store.objects.filter(pk__in=[s.pk for s in stores]))
            by_pk = {t.store.pk: t for t in totals}
            for store in stores:
                store.availability_totals = by_pk.get(store.pk)
        return changelist

    @admin.display(description="Available (7 days)")
    def availability_week(self, obj):
        from django.urls import reverse
        from django.utils.html import format_html

        totals = getattr(obj, "availability_totals", None)
        if totals is None or totals.availability is None:
            return "-"
        url = reverse("admin:integration_store_availability", args=[obj.pk])
        return format_html('<a href="{}">{} %</a>', url, f"{100 * totals.availability:.1f}")

    @admin.display(description="Availability")
    def availability_link(self, obj):
        from django.urls import reverse
        from django.utils.html import format_html

        if obj.pk is None:
            return "-"
        url = reverse("admin:integration_store_availability", args=[obj.pk])
        return format_html('<a href="{}">Day by day, gaps and CSV</a>', url)

    @admin.display(boolean=True, description="Accepting orders")
    def accepting(self, obj):
        return store_accepting(obj)[0]

    @admin.display(description="Busy")
    def busy_summary(self, obj):
        busy = store_busy(obj)
        if busy is None:
            return "-"
        cap = f", max {busy.max_orders_per_15_min}/15 min" if busy.max_orders_per_15_min else ""
        until = f" until {store_time(busy.until, obj.timezone)}" if busy.until else ""
        return f"+{busy.extra_prep_minutes} min{cap}{until} ({busy.get_via_display().lower()})"

    @admin.display(description="Pause")
    def pause_summary(self, obj):
        if obj.state != Store.State.PAUSED:
            return "-"
        who = obj.paused_by or obj.get_pause_source_display() or "?"
        if obj.paused_until:
            return format_html("{}: {} until {}", who, obj.pause_reason, store_when(obj.paused_until, obj.timezone))
        return f"{who}: {obj.pause_reason}, until resumed"

    def has_pause_permission(self, request):
        return request.user.has_perm("integration.pause_store")

    def has_resume_permission(self, request):
        return request.user.has_perm("integration.resume_store")

    def has_sync_permission(self, request):
        return request.user.has_perm("integration.sync_store")

    @admin.action(description="Pause (stop orders; tells Link)", permissions=["pause"])
    def pause_stores(self, request, queryset):
        def perform(store, data):
            was_paused = store.state == Store.State.PAUSED
            until = PauseForm.end_for(store, data)
            store = store_pause(store, user=request.user, reason=data["reason"], paused_until=until)
            done = "was paused already; reason and end updated" if was_paused else "paused"
            if store.paused_until:
                local = store.paused_until.astimezone(zone(store.timezone))
                until = f"it resumes by itself at {local:%Y-%m-%d %H:%M} {local.tzname()} (store time)"
            else:
                until = "it stays paused until someone resumes it"
            return f"{done}; Link is being told (see Outbound calls); {until}"

        return form_action(
            self,
            request,
            queryset,
            form_class=PauseForm,
            title="Pause stores",
            perform=perform,
            intro="Paused stores take no new orders. Orders already placed go on as usual. A store-local time "
            "is read in each store's own zone: " + ", ".join(f"{store}: {store.timezone}" for store in queryset[:20]),
        )

    @admin.action(description="Resume (take orders again; tells Link)", permissions=["resume"])
    def resume_stores(self, request, queryset):
        def perform(store):
            by_link = store.pause_source == Store.PauseSource.LINK
            store_resume(store, user=request.user)
            note = " (the restaurant had paused it on Link)" if by_link else ""
            return f"resumed{note}; Link is being told (see Outbound calls)"

        action_apply(self, request, queryset, perform, "Resume")

    @admin.action(description="Sync status from Link", permissions=["sync"])
    def sync_stores(self, request, queryset):
        def perform(store):
            result = store_sync(store)
            if result.skipped:
                return f"left as is: {result.skipped}"
            return f"Link says {result.link_status}; " + ("; ".join(result.changes) or "already in step")

        action_apply(self, request, queryset, perform, "Sync status")

    def has_busy_permission(self, request):
        return request.user.has_perm(MANAGE_STORES)

    @admin.action(description="Busy: +15 min for 1 h", permissions=["busy"])
    def busy_quick(self, request, queryset):
        def perform(store):
            until = timezone.now() + timedelta(hours=1)
            store_busy_set(store, extra_prep_minutes=15, until=until, user=request.user, via=Via.ADMIN)
            return f"busy: checkout quotes 15 more minutes until {store_time(until, store.timezone)}"

        action_apply(self, request, queryset, perform, "Busy +15 min for 1 h")

    @admin.action(description="Busy (longer prep times, a cap on orders)...", permissions=["busy"])
    def busy_stores(self, request, queryset):
        def perform(store, data):
            until = timezone.now() + timedelta(minutes=data["minutes"]) if data.get("minutes") else None
            busy = store_busy_set(
                store,
                extra_prep_minutes=data["extra_prep_minutes"],
                until=until,
                max_orders_per_15_min=data.get("max_orders_per_15_min"),
                user=request.user,
                via=Via.ADMIN,
            )
            cap = f", at most {busy.max_orders_per_15_min} orders per 15 minutes" if busy.max_orders_per_15_min else ""
            ends = f" until {store_time(until, store.timezone)}" if until else ""
            return f"busy: +{busy.extra_prep_minutes} min{cap}{ends}"

        return form_action(
            self,
            request,
            queryset,
            form_class=BusyForm,
            title="Busy mode",
            perform=perform,
            intro="Checkout quotes the extra minutes; beyond the cap, orders are refused (409 store_busy, with when "
            "to retry). It ends by itself at its end; MP services hear store.busy_changed.",
        )

    @admin.action(description="End busy mode (also an automatic one)", permissions=["busy"])
    def busy_end(self, request, queryset):
        def perform(store):
            ended = store_busy_end(store, user=request.user, via=Via.ADMIN)
            return "busy mode ended" if ended else "was not busy"

        action_apply(self, request, queryset, perform, "End busy mode")
