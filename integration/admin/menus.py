from django.contrib import admin

from integration.models import Menu
from integration.selectors.hours import hours_week
from integration.selectors.menus import menu_catalog, menus_for_admin
from integration.services.menus.fetching import menu_refresh_enqueue

from .base import ReadOnlyAdmin, action_apply, attention_filter, money, shortened
from .menu_layer import MenuLayerAdminMixin, menu_layer_context

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
    catalog = menu_catalog(menu)
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
    list_display = (
        "store",
        "menu_id",
        "version",
        "state",
        "category_count",
        "item_count",
        "group_count",
        "modifier_count",
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

    @admin.display(description="Last error")
    def short_error(self, obj):
        if not obj.last_error:
            return "-"
        text = shortened(obj.last_error)
        return f"{obj.last_error_at:%Y-%m-%d %H:%M}: {text}" if obj.last_error_at else text

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
        if menu is not None:
            extra.update(menu_layer_context(request, menu))  # versions, overrides (issue 27)
        return super().change_view(request, object_id, form_url, extra_context=extra)
