"""One error shape for every API answer: ``{"error": {"code", "message", "details"}}``."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from django.views import defaults
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

PASSED_HEADERS = ("WWW-Authenticate", "Retry-After", "Allow")


def error_response(http_status: int, code: str, message: str, details=None, headers=None) -> Response:
    return Response(error_body(code, message, details), status=http_status, headers=headers)


def error_body(code: str, message: str, details=None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def not_found(request, exception=None):
    """Django's handler404: a URL no route matches answers the API's error body under /api/ and /link/."""
    if request.path.startswith(("/api/", "/link/")):
        return JsonResponse(error_body("not_found", f"No resource at {request.path!r}."), status=404)
    return defaults.page_not_found(request, exception)


class ApiError(exceptions.APIException):
    """Raise from a view to answer with a specific status and machine-readable code."""

    def __init__(self, http_status: int, code: str, message: str, details=None, headers: dict | None = None):
        super().__init__(message)
        self.status_code = http_status
        self.code = code
        self.message = message
        self.details = details or {}
        self.headers = headers


def exception_handler(exc, context):
    if isinstance(exc, ApiError):
        return error_response(exc.status_code, exc.code, exc.message, exc.details, headers=exc.headers)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        return error_response(
            status.HTTP_400_BAD_REQUEST, "invalid_request", "The request has invalid fields.", response.data
        )
    code = getattr(exc, "default_code", "error")
    message = str(exc.detail.get("detail", exc.detail)) if isinstance(exc.detail, dict) else str(exc.detail)
    if isinstance(exc, exceptions.UnsupportedMediaType):
        sent = context["request"].content_type[:100] if context.get("request") is not None else ""
        message = (
            f"Unsupported Content-Type {sent!r}: send Content-Type: application/json"
            if sent
            else "The body has no Content-Type: send Content-Type: application/json"
        ) + " with a JSON body."
    headers = {k: v for k, v in response.items() if k in PASSED_HEADERS}
    return error_response(response.status_code, str(code), message, headers=headers)


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.JSONField(
        help_text='An object with context; for 422 a list: [{"field", "code", "message"}, ...].'
    )


class ErrorSerializer(serializers.Serializer):
    """The error shape, for the OpenAPI schema."""

    error = ErrorDetailSerializer()
