from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from integration.api.health import HealthView, ReadyView
from integration.api.metrics import metrics_view
from integration.api.webhooks import LinkWebhookView

handler404 = "integration.api.errors.not_found"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("link/webhooks/", LinkWebhookView.as_view(), name="link-webhooks"),
    path("healthz/", HealthView.as_view(), name="health"),
    path("readyz/", ReadyView.as_view(), name="ready"),
    path("metrics", metrics_view, name="metrics"),
    # Browsers ask for it on every page: the console's icon, not a 404 in the logs.
    path("favicon.ico", RedirectView.as_view(url=static("integration/favicon.svg"), permanent=True)),
    path("api/v1/", include("integration.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # A page: GET only (OPTIONS answered DRF's metadata through the HTML renderer, with no template: 500).
    path(
        "api/docs/",
        SpectacularSwaggerView.as_view(url_name="api-schema", http_method_names=["get", "head"]),
        name="api-docs",
    ),
]
