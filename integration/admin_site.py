"""The ops console's admin site: the index page opens with what needs a person now.

Listed in INSTALLED_APPS instead of ``django.contrib.admin``, so this module is imported while apps
load: models and selectors are imported inside methods only.
"""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.urls import reverse


class OpsAdminSite(admin.AdminSite):
    site_header = "linkbridge ops console"
    site_title = "linkbridge ops"
    index_title = "What needs a person now"
    index_template = "admin/integration/dashboard.html"

    def dashboard(self, request) -> list[dict]:
        """One card per attention item of each model this user may see (counts: one query per model)."""
        from integration import selectors

        visible = []
        for model in dict.fromkeys(item.model for item in selectors.ATTENTION):
            model_admin = self._registry.get(model)
            if model_admin is not None and model_admin.has_view_or_change_permission(request):
                visible.append(model)
        counts = selectors.attention_counts(visible)
        cards = []
        for item in selectors.ATTENTION:
            if item.model not in visible:
                continue
            opts = item.model._meta
            url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist", current_app=self.name)
            card = {
                "key": f"{opts.model_name}-{item.key}",
                "label": selectors.attention_label(item),
                "todo": item.todo,
                "count": counts[(item.model, item.key)],
                "url": f"{url}?attention={item.key}",
            }
            if item.key == "paused" and card["count"]:
                card["stores"] = selectors.stores_paused()
            cards.append(card)
        return cards

    def index(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "dashboard": self.dashboard(request)}
        return super().index(request, extra_context)


class OpsAdminConfig(AdminConfig):
    default_site = "integration.admin_site.OpsAdminSite"
