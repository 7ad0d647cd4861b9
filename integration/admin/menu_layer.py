"""The menu layer in the ops console (issue 27): price rules (with a preview before saving), and on the
menu page what changed in a version (with a picker) and the store's content overrides."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from integration.models import Menu, PriceRule, Store
from integration.selectors.menu_layer import item_overrides_with_orphans, price_rule_preview
from integration.selectors.menu_versions import SECTIONS, menu_version_get, menu_versions_diff, menu_versions_for_store
from integration.services.menus import overrides as override_services
from integration.services.menus import price_rules as rule_services

from .base import OpsModelAdmin, money

MANAGE_CATALOG = "integration.manage_catalog"
DIFF_ROWS = 200


# --- price rules ------------------------------------------------------------------------------------------


class PriceRuleForm(forms.ModelForm):
    exclude_items = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Link item ids that keep Link's price, separated by commas or lines.",
    )

    class Meta:
        model = PriceRule
        fields = [
            "name",
            "stores",
            "markup_percent",
            "markup_fixed",
            "rounding_step",
            "rounding_ending",
            "exclude_items",
            "modifiers",
        ]
        help_texts = {"stores": "None chosen: every store. A store's own rule wins over an every-store rule."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["exclude_items"] = "\n".join(self.instance.exclude_items or [])

    def clean_exclude_items(self):
        text = self.cleaned_data.get("exclude_items") or ""
        return [part.strip() for part in text.replace(",", "\n").splitlines() if part.strip()]

    def rule_fields(self) -> rule_services.RuleFields:
        data = self.cleaned_data
        return rule_services.RuleFields(
            name=data.get("name"),
            stores=[s.external_store_id or s.venue_id for s in data.get("stores") or []],
            markup_percent=data.get("markup_percent"),
            markup_fixed=data.get("markup_fixed"),
            rounding_step=data.get("rounding_step"),
            rounding_ending=data.get("rounding_ending"),
            exclude_items=data.get("exclude_items"),
            modifiers=data.get("modifiers"),
        )

    def clean(self):
        data = super().clean()
        if not self.errors:
            try:
                rule_services.price_rule_validate(self.rule_fields(), self.instance if self.instance.pk else None)
            except rule_services.PriceRuleInvalid as exc:
                for error in exc.errors:
                    field = {"rounding.step": "rounding_step", "rounding.ending": "rounding_ending"}.get(
                        error["field"], error["field"].split("[")[0]
                    )
                    self.add_error(field if field in self.fields else None, error["message"])
        return data


@admin.register(PriceRule)
class PriceRuleAdmin(OpsModelAdmin):
    form = PriceRuleForm
    list_display = ("name", "scope", "markup_percent", "markup_fixed", "rounding", "modifiers", "updated_at")
    search_fields = ("name",)
    filter_horizontal = ("stores",)
    change_form_template = "admin/integration/pricerule/change_form.html"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("stores")

    @admin.display(description="Stores")
    def scope(self, rule):
        names = [s.external_store_id or s.venue_id for s in rule.stores.all()]
        return ", ".join(names) if names else "every store"

    @admin.display(description="Rounding")
    def rounding(self, rule):
        if not rule.rounding_step:
            return "to the cent"
        return f"up to x{rule.rounding_ending:02d} every {rule.rounding_step}"

    def has_add_permission(self, request):
        return request.user.has_perm(MANAGE_CATALOG)

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm(MANAGE_CATALOG)

    def has_delete_permission(self, request, obj=None):
        return request.user.has_perm(MANAGE_CATALOG)

    def get_urls(self):
        preview = self.admin_site.admin_view(self.preview_view)
        return [
            path("add/preview/", preview, name="integration_pricerule_preview_add"),
            path("<path:object_id>/change/preview/", preview, name="integration_pricerule_preview"),
            *super().get_urls(),
        ]

    def preview_view(self, request, object_id=None):
        """The form as posted, validated, and what saving it would change; Save posts the same fields on."""
        obj = self.get_object(request, object_id) if object_id else None
        if not (self.has_change_permission(request, obj) if obj else self.has_add_permission(request)):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseRedirect("../")
        form = self.get_form(request, obj)(request.POST, instance=obj)
        preview = None
        if form.is_valid():
            values, stores = rule_services.price_rule_validate(form.rule_fields(), obj)
            candidate = PriceRule(**{**({f: getattr(obj, f) for f in values} if obj else {}), **values})
            preview = price_rule_preview(candidate, stores or [], rule_id=obj.pk if obj else None)
            for entry in preview["stores"]:
                for row in entry.get("rows", []):
                    currency = entry["currency"]
                    row.update(
                        link_display=money(row["link"], currency),
                        now_display=money(row["now"], currency),
                        new_display=money(row["new"], currency),
                        direction="up" if row["new"] > row["now"] else "down" if row["new"] < row["now"] else "",
                    )
        posted = [(key, value) for key in request.POST for value in request.POST.getlist(key) if key != "_preview"]
        context = {
            **self.admin_site.each_context(request),
            "title": f"Preview: {request.POST.get('name') or 'price rule'}",
            "opts": self.model._meta,
            "form": form,
            "preview": preview,
            "posted": posted,
            "save_url": "../",  # add/ or <id>/change/
        }
        return TemplateResponse(request, "admin/integration/pricerule/preview.html", context)

    def save_model(self, request, obj, form, change):
        fields = form.rule_fields()
        rule = (
            rule_services.price_rule_update(obj, fields)
            if change
            else rule_services.price_rule_create(fields, user=request.user)
        )
        obj.pk = rule.pk
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change):
        pass  # the service set the stores

    def delete_model(self, request, obj):
        rule_services.price_rule_delete(obj)

    def delete_queryset(self, request, queryset):
        for rule in queryset:
            rule_services.price_rule_delete(rule)


# --- the menu page: versions and overrides ----------------------------------------------------------------


def _money_change(field: str, values: list, currency: str) -> dict:
    old, new = values
    if field == "price":
        direction = "up" if new > old else "down" if new < old else ""
        return {"field": field, "old": money(old, currency), "new": money(new, currency), "direction": direction}
    return {"field": field, "old": _text(old), "new": _text(new), "direction": ""}


def _text(value) -> str:
    if isinstance(value, list):
        return ", ".join(value) or "none"
    if value is None or value == "":
        return "-"
    return str(value)


def versions_context(menu: Menu, wanted: str | None) -> dict:
    """The version picker and "what changed in version N" against the version kept before it."""
    store = menu.store
    versions = list(menu_versions_for_store(store)[:50])
    if not versions:
        return {"versions": []}
    chosen = next((v for v in versions if str(v.version) == (wanted or "")), None) or next(
        (v for v in versions if v.version == menu.version), versions[0]
    )
    context = {"versions": versions, "chosen": chosen, "diff": None}
    if chosen.previous_version is None or menu_version_get(store, chosen.previous_version) is None:
        return context
    diff = menu_versions_diff(store, chosen.previous_version, chosen.version)
    currency = chosen.currency
    sections = []
    for section in SECTIONS:
        part = diff[section]
        changed = [
            {"id": c["id"], "changes": [_money_change(f, v, currency) for f, v in c["changes"].items()]}
            for c in part["changed"][:DIFF_ROWS]
        ]
        sections.append(
            {
                "name": section.replace("_", " "),
                "added": part["added"][:DIFF_ROWS],
                "removed": part["removed"][:DIFF_ROWS],
                "changed": changed,
                "counts": {k: len(v) for k, v in part.items()},
                "cut": any(len(v) > DIFF_ROWS for v in part.values()),
            }
        )
    context["diff"] = {"from": diff["from"], "to": diff["to"], "sections": sections}
    return context


def menu_layer_context(request, menu: Menu) -> dict:
    return {
        "layer_versions": versions_context(menu, request.GET.get("version")),
        "layer_overrides": item_overrides_with_orphans(menu.store),
        "layer_can_manage": request.user.has_perm(MANAGE_CATALOG),
        "layer_override_url": reverse("admin:integration_menu_override", args=[menu.pk]),
    }


class MenuLayerAdminMixin:
    """Mixed into MenuAdmin: the override form's URL and the page's context."""

    def get_urls(self):
        view = self.admin_site.admin_view(self.override_view)
        return [path("<int:menu_id>/override/", view, name="integration_menu_override"), *super().get_urls()]

    def override_view(self, request, menu_id: int):
        if request.method != "POST" or not request.user.has_perm(MANAGE_CATALOG):
            raise PermissionDenied
        menu = Menu.objects.select_related("store").filter(pk=menu_id).first()
        if menu is None:
            raise PermissionDenied
        store: Store = menu.store
        item_id = request.POST.get("item_id", "").strip()
        back = reverse("admin:integration_menu_change", args=[menu.pk]) + "#menu-overrides"
        if "_delete" in request.POST:
            if override_services.item_override_delete(store, item_id):
                messages.success(request, f"Override of {item_id} dropped: Link's content again.")
            return HttpResponseRedirect(back)
        data = {"hidden": request.POST.get("hidden") == "on"}
        for key in ("name", "description", "image_url"):
            value = request.POST.get(key, "")
            data[key] = value if value.strip() else None
        try:
            override_services.item_override_set(store, item_id, data, user=request.user)
        except override_services.OverrideInvalid as exc:
            messages.error(request, "; ".join(f"{e['field']}: {e['message']}" for e in exc.errors))
        else:
            messages.success(request, f"Override of {item_id} saved; it stays across Link's versions.")
        return HttpResponseRedirect(back)
