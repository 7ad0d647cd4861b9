from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from integration.models import Menu, Via
from integration.selectors.hours import hours_week
from integration.selectors.menus import menu_catalog, menus_for_admin
from integration.selectors.snoozes import catalog_snoozes_apply, snoozes_active, snoozes_of_store
from integration.services.menus.fetching import menu_refresh_enqueue
from integration.services.menus.snoozes import SnoozeRefused, catalog_snooze, catalog_unsnooze
from integration.templatetags.console import store_time, store_when

from .base import ReadOnlyAdmin, action_apply, attention_filter, money, shortened
from .menu_layer import MenuLayerAdminMixin, menu_layer_context
from .timed import MANAGE_CATALOG, SnoozeForm

CATALOG_ITEMS_SHOWN = 300


class HasErrorFilter(admin.SimpleListFilter):
    title = "last fetch"
    parameter_name = "error"

    def lookups(self, request, model_admin):
        return [("yes", "Failed (see last error)"), ("no", "Fine")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(last_error="")
        if self.value() == "no":
            return queryset.filter(last_error="")
        return queryset


def catalog_tree(menu: Menu, limit: int = CATALOG_ITEMS_SHOWN) -> dict:
    """The catalog for the template, flat: items name their groups; each group is listed once, its
    modifiers naming the groups they open (links), so the page grows with the menu, not its nesting."""
    catalog = catalog_snoozes_apply(menu_catalog(menu), snoozes_active(menu.store))  # the MP's snoozes shown
    groups = {group["id"]: group for group in catalog["modifier_groups"]}
    for group in groups.values():
        for modifier in group["modifiers"]:
            modifier["price_display"] = money(modifier["price"], menu.currency)
            modifier["opens"] = [groups[gid] for gid in modifier["modifier_group_ids"]]
    shown, total = 0, 0
    for category in catalog["categories"]:
        total += len(category["items"])
        category["items"] = category["items"][: max(0, limit - shown)]
        shown += len(category["items"])
        for item in category["items"]:
            item["price_display"] = money(item["price"], menu.currency)
            item["groups"] = [groups[gid] for gid in item["modifier_group_ids"]]
    catalog["categories"] = [c for c in catalog["categories"] if c["items"]]
    catalog.update(shown=shown, total=total, groups=list(groups.values()))
    return catalog


@admin.register(Menu)
class MenuAdmin(MenuLayerAdminMixin, ReadOnlyAdmin):
    store_is_subject = True  # a menu's times on its store's clock
    list_display = (
        "store",
        "menu_id",
        "version",
        "state",
        "catalog_size",
        "fetched_at",
        "short_error",
    )
    list_filter = (attention_filter(Menu), "state", HasErrorFilter)
    search_fields = ("menu_id", "store__venue_id", "store__external_store_id", "store__name")
    list_select_related = ("store",)
    show_full_result_count = False
    readonly_fields = [f.name for f in Menu._meta.fields if f.name != "hours"]
    exclude = ("hours",)  # shown as a weekly table above the catalog
    change_form_template = "admin/integration/menu/change_form.html"
    actions = ["refresh_menus"]

    def get_queryset(self, request):
        return menus_for_admin()

    @admin.display(description="Catalog", ordering="item_count")
    def catalog_size(self, obj):
        return (
            f"{obj.item_count} items in {obj.category_count} categories; "
            f"{obj.modifier_count} modifiers in {obj.group_count} groups"
        )

    @admin.display(description="Last error")
    def short_error(self, obj):
        if not obj.last_error:
            return "-"
        text = shortened(obj.last_error)
        return (
            format_html("{}: {}", store_when(obj.last_error_at, obj.store.timezone), text)
            if obj.last_error_at
            else text
        )

    def has_refresh_permission(self, request):
        return request.user.has_perm("integration.refresh_menu")

    @admin.action(description="Refresh menu (fetch Link's published menu now)", permissions=["refresh"])
    def refresh_menus(self, request, queryset):
        def perform(menu):
            call, created = menu_refresh_enqueue(menu.store)
            if not created:
                return f"a fetch was queued already (outbound call #{call.pk}); the menu updates when it arrives"
            return f"fetch queued as outbound call #{call.pk}; the menu updates when it arrives"

        action_apply(self, request, queryset, perform, "Refresh menu")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        menu = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if menu is not None and menu.version is not None:
            extra["catalog"] = catalog_tree(menu)
            extra["week"] = hours_week(menu.hours)
            extra["snoozes"] = snoozes_of_store(menu.store)
            if request.user.has_perm(MANAGE_CATALOG):
                extra["snooze_form"] = SnoozeForm()
                extra["snooze_url"] = reverse("admin:integration_menu_snooze", args=[menu.pk])
        if menu is not None:
            extra.update(menu_layer_context(request, menu))  # versions, overrides (issue 27)
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def get_urls(self):
        view = self.admin_site.admin_view(require_POST(self.snooze_view))
        return [path("<int:menu_pk>/snooze/", view, name="integration_menu_snooze"), *super().get_urls()]

    def snooze_view(self, request, menu_pk: int):
        """The menu page's snooze presets (1 h, the rest of the day, until a time) and "End" buttons."""
        if not request.user.has_perm(MANAGE_CATALOG):
            raise PermissionDenied("You may not snooze menu entries.")
        menu = get_object_or_404(menus_for_admin(), pk=menu_pk)
        back = redirect(reverse("admin:integration_menu_change", args=[menu.pk]))
        if request.POST.get("end"):
            kind, link_id = request.POST.get("kind", "item"), request.POST["end"]
            ended = catalog_unsnooze(menu.store, kind, link_id, user=request.user, via=Via.ADMIN)
            note = "back on sale" if ended else "was not snoozed"
            self.log_change(request, menu, f"Snooze of {kind} {link_id} ended: {note}")
            messages.success(request, f"{kind} {link_id}: {note}.")
            return back
        form = SnoozeForm(request.POST)
        if not form.is_valid():
            messages.error(request, f"Not snoozed: {form.errors.as_text()}")
            return back
        kind, link_id = form.cleaned_data["kind"], form.cleaned_data["link_id"]
        try:
            snooze = catalog_snooze(menu.store, kind, link_id, form.until(), user=request.user, via=Via.ADMIN)
        except SnoozeRefused as exc:
            messages.error(request, f"Not snoozed: {exc.message}")
            return back
        until = store_time(snooze.until, menu.store.timezone)
        self.log_change(request, menu, f"Snoozed {kind} {link_id} until {until}")
        messages.success(request, f"{snooze.name} ({link_id}) snoozed until {until}; it comes back by itself.")
        return back
