"""The ops console's admin site: the index page opens with what needs a person now.

Listed in INSTALLED_APPS instead of ``django.contrib.admin``, so this module is imported while apps
load: models and selectors are imported inside methods only.
"""

from functools import wraps

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST


def valid_text(text: str) -> bool:
    """False for text no query can take: NUL (PostgreSQL refuses it) or a lone surrogate (not UTF-8)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def query_problem(request) -> str:
    """Why a request's parameters cannot reach a query, or "": NUL (PostgreSQL refuses it in any text) or a
    lone surrogate (not encodable in UTF-8), in any name or value of the query string or a posted form."""
    forms = [("form", request.POST)] if request.method == "POST" else []
    for where, params in [("query string", request.GET), *forms]:
        for name, values in params.lists():
            if not all(valid_text(text) for text in (name, *values)):
                return f"The {where} parameter {name[:40]!r} contains a NUL character or a lone surrogate."
    return ""


class OpsAdminSite(admin.AdminSite):
    site_header = "linkbridge ops console"
    site_title = "linkbridge ops"
    index_title = "What needs a person now"
    index_template = "admin/integration/dashboard.html"
    # The app sidebar took 280 of 1280 px and left a list 631 px: too narrow for the order list's columns.
    enable_nav_sidebar = False

    @property
    def login_form(self):
        from integration.admin.base import LoginForm

        return LoginForm

    def admin_view(self, view, cacheable=False):
        """Every admin page (lists and their filters, exports, the board, trends, actions) refuses parameters
        no query can take with a 400 naming them, before any filter, paginator or form sees them: a NUL in
        ``?state__exact=`` used to reach PostgreSQL and answer 500 (issue 23 H5)."""

        @wraps(view)
        def checked(request, *args, **kwargs):
            if any(not valid_text(str(value)) for value in kwargs.values()):
                raise Http404("No such page: its address contains a NUL or a lone surrogate.")  # (path ids)
            problem = query_problem(request)
            if problem:
                context = {**self.each_context(request), "title": "Bad request", "problem": problem}
                return TemplateResponse(request, "admin/integration/bad_request.html", context, status=400)
            return view(request, *args, **kwargs)

        inner = super().admin_view(checked, cacheable)

        @wraps(inner)
        def in_viewer_zone(request, *args, **kwargs):
            """Every console page in the viewer's time zone (their setting; UTC until they pick one)."""
            from integration.admin.console import viewer_zone

            with timezone.override(viewer_zone(request)):
                return inner(request, *args, **kwargs)

        return in_viewer_zone

    def each_context(self, request):
        from integration.admin.console import viewer_zone

        return {**super().each_context(request), "viewer_zone": viewer_zone(request)}

    def dashboard(self, request) -> list[dict]:
        """One card per attention item of each model this user may see (counts: one query per model)."""
        from integration.selectors import attention
        from integration.selectors.snoozes import snoozes_long
        from integration.selectors.stores import stores_paused

        visible = []
        for model in dict.fromkeys(item.model for item in attention.ATTENTION):
            model_admin = self._registry.get(model)
            if model_admin is not None and model_admin.has_view_or_change_permission(request):
                visible.append(model)
        counts = attention.attention_counts(visible)
        cards = []
        for item in attention.ATTENTION:
            if item.model not in visible:
                continue
            opts = item.model._meta
            url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist", current_app=self.name)
            card = {
                "key": f"{opts.model_name}-{item.key}",
                "label": attention.attention_label(item),
                "todo": item.todo,
                "count": counts[(item.model, item.key)],
                "url": f"{url}?attention={item.key}",
            }
            if item.key == "paused" and card["count"]:
                card["stores"] = stores_paused()
            if item.key == "snoozed_long" and card["count"]:
                card["snoozes"] = snoozes_long()
            cards.append(card)
        return cards

    def link_circuits(self, request) -> dict:
        """Each Link host's circuit, held calls and drain, for users who may read the outbound calls."""
        from integration.models import OutboundCall
        from integration.services.outbox.backlog import backlog_status

        model_admin = self._registry.get(OutboundCall)
        if model_admin is None or not model_admin.has_view_or_change_permission(request):
            return {}
        return {
            "link_circuits": backlog_status(),
            "outbound_url": reverse("admin:integration_outboundcall_changelist", current_app=self.name),
        }

    def live_context(self, request) -> dict:
        """What the dashboard's live part shows: Link health (for who may read calls) and the cards."""
        from integration.models import OutboundCall
        from integration.selectors.link_health import link_health

        cards = self.dashboard(request)
        calls_admin = self._registry.get(OutboundCall)
        health = link_health() if calls_admin and calls_admin.has_view_or_change_permission(request) else None
        deliveries = self.deliveries_cluster_problem(request)
        attention = sum(card["count"] for card in cards) + (health is not None and health.level == "down")
        attention += deliveries is not None
        return {
            "dashboard": cards,
            "health": health,
            "deliveries_problem": deliveries,
            "delivery_lag": self.delivery_lag(request),
            "attention_total": attention,
        }

    def delivery_lag(self, request) -> list:
        """The MP webhook endpoints furthest behind (oldest undelivered event over 5 s), for who may see endpoints."""
        from integration.models import WebhookEndpoint
        from integration.selectors.deliveries import endpoints_lagging

        endpoints_admin = self._registry.get(WebhookEndpoint)
        if endpoints_admin is None or not endpoints_admin.has_view_or_change_permission(request):
            return []
        return endpoints_lagging()

    def deliveries_cluster_problem(self, request) -> str | None:
        """Endpoints are enabled but the deliveries' own cluster is not running (for who may see endpoints)."""
        from integration.models import WebhookEndpoint
        from integration.services.ops.health import webhooks_cluster_problem

        endpoints_admin = self._registry.get(WebhookEndpoint)
        if endpoints_admin is None or not endpoints_admin.has_view_or_change_permission(request):
            return None
        return webhooks_cluster_problem()

    def index(self, request, extra_context=None):
        from integration.admin.console import RecoverForm, recover_permissions

        context = {**(extra_context or {}), **self.live_context(request)}
        if request.user.has_perm("integration.view_store"):
            from integration.admin.availability import availability_panel_context

            context.update(availability_panel_context())
        if any(recover_permissions(self, request)):
            context["recover_form"] = RecoverForm()
        return super().index(request, context)

    def live_view(self, request):
        """The dashboard's live part alone: htmx swaps it in every few seconds."""
        return TemplateResponse(request, "admin/integration/_live.html", self.live_context(request))

    def board_view(self, request):
        from integration.admin.console import board_view

        return board_view(self, request)

    def trends_view(self, request):
        from integration.admin.console import trends_view

        return trends_view(self, request)

    def recover_view(self, request):
        from integration.admin.console import recover_view

        return recover_view(self, request)

    def zone_view(self, request):
        from integration.admin.console import zone_view

        return zone_view(self, request)

    def get_urls(self):
        return [
            path("zone/", self.admin_view(self.zone_view), name="ops_zone"),
            path("live/", self.admin_view(self.live_view), name="ops_live"),
            path("board/", self.admin_view(self.board_view), name="ops_board"),
            path("trends/", self.admin_view(self.trends_view), name="ops_trends"),
            path("recover/", self.admin_view(require_POST(self.recover_view)), name="ops_recover"),
            *super().get_urls(),
        ]


class OpsAdminConfig(AdminConfig):
    default_site = "integration.admin_site.OpsAdminSite"
