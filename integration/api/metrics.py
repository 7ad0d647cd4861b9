"""``GET /metrics``: Prometheus exposition, behind a bearer token."""

import hmac

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from integration import metrics


def _not_found() -> JsonResponse:
    return JsonResponse({"error": {"code": "not_found", "message": "Not found.", "details": {}}}, status=404)


@require_GET
def metrics_view(request):
    """404 when ``METRICS_TOKEN`` is unset, and to any request without it: the endpoint does not say it exists."""
    token = settings.METRICS_TOKEN
    sent = request.headers.get("Authorization", "")
    if not token or not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        return _not_found()
    return HttpResponse(metrics.render(), content_type=CONTENT_TYPE_LATEST)
