"""``POST /link/webhooks/``: verify, parse, record, apply. Every refusal names its reason."""

import logging

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from integration import metrics
from integration.link import payloads, signatures
from integration.services.link_events import webhook_receive

from .errors import error_response

logger = logging.getLogger("integration.webhooks")

MAX_BODY_BYTES = 1024 * 1024


class LinkWebhookView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []  # never told to slow down (api/throttling.py)
    parser_classes = []
    receive = staticmethod(webhook_receive)

    @extend_schema(exclude=True)
    def post(self, request):
        django_request = request._request
        declared = django_request.META.get("CONTENT_LENGTH") or "0"
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            return self._refuse(413, "body_too_large", f"Webhook bodies are limited to {MAX_BODY_BYTES} bytes.")
        raw = django_request.body
        if len(raw) > MAX_BODY_BYTES:
            return self._refuse(413, "body_too_large", f"Webhook bodies are limited to {MAX_BODY_BYTES} bytes.")
        try:
            signatures.verify(
                django_request.headers.get(signatures.SIGNATURE_HEADER),
                raw,
                settings.LINK_WEBHOOK_SECRETS,
                tolerance=settings.LINK_WEBHOOK_TOLERANCE,
            )
        except signatures.SignatureError as exc:
            return self._refuse(401, exc.code, exc.message)
        try:
            envelope = payloads.parse_envelope(payloads.parse_json(raw))
        except payloads.PayloadError as exc:
            return self._refuse(400, exc.code, exc.message, exc.details)
        outcome = self.receive(envelope, raw, dict(django_request.headers))
        event = outcome.event
        metrics.WEBHOOKS_RECEIVED.labels(event.type, outcome.code).inc()
        if outcome.failed:
            return error_response(
                500,
                "processing_failed",
                f"Event {event.event_id} failed; it is stored and will apply when Link retries.",
            )
        answer = {"id": event.event_id, "status": event.status, "duplicate": outcome.duplicate}
        return Response(answer, status=status.HTTP_200_OK)

    @staticmethod
    def _refuse(http_status: int, code: str, message: str, details=None) -> Response:
        logger.warning("webhook refused: %s %s", http_status, code)
        metrics.WEBHOOKS_RECEIVED.labels("unknown", "refused").inc()
        return error_response(http_status, code, message, details)
