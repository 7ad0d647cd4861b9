"""The OpenAPI schema: the bounds the serializers enforce, and the common answers (every refusal DRF or the
project can give, in the error shape)."""

from drf_spectacular import openapi
from drf_spectacular.plumbing import is_list_serializer
from rest_framework import serializers


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's, plus two bounds it leaves out, so that a request the schema calls valid is one the
    API takes (Schemathesis generated "" for a required id and [] for an order's items, and was refused):

    - a request string that may not be blank (DRF's CharField without ``allow_blank``): ``minLength`` 1;
    - a nested list (``Serializer(many=True, min_length=..., max_length=...)``): ``minItems`` / ``maxItems``.
    """

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if not isinstance(schema, dict):
            return schema
        not_blank = direction == "request" and isinstance(field, serializers.CharField) and not field.allow_blank
        if not_blank and schema.get("type") == "string" and not schema.get("minLength"):
            schema["minLength"] = 1
        if is_list_serializer(field) and schema.get("type") == "array":
            if field.min_length is not None:
                schema["minItems"] = max(schema.get("minItems", 0), field.min_length)
            if field.max_length is not None:
                schema["maxItems"] = field.max_length
        return schema


ERROR_REF = {"$ref": "#/components/schemas/Error"}
COMMON = {
    "401": "not_authenticated or authentication_failed: no valid token or session.",
    "403": "permission_denied: the client's permissions do not include this.",
    "429": "throttled: past API_RATE_LIMIT requests for this client; Retry-After says when to try again.",
}
WITH_BODY = {
    "400": "parse_error (the body is not JSON, or nests deeper than 32 levels) or invalid_request.",
    "415": "unsupported_media_type: send Content-Type: application/json.",
}
WITH_QUERY = {"400": "invalid_request: a query parameter is out of range."}
WITH_PATH_ID = {"404": "not_found: no such resource (or it belongs to another client)."}


def add_error_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: document the answers shared by every internal API operation."""
    for path, operations in result.get("paths", {}).items():
        if not path.startswith("/api/v1/"):
            continue
        for operation in operations.values():
            wanted = dict(COMMON)
            if "requestBody" in operation:
                wanted.update(WITH_BODY)
            if any(p.get("in") == "query" for p in operation.get("parameters", [])):
                wanted.update(WITH_QUERY)
            if "{" in path:
                wanted.update(WITH_PATH_ID)
            responses = operation.setdefault("responses", {})
            for code, description in wanted.items():
                responses.setdefault(
                    code, {"content": {"application/json": {"schema": ERROR_REF}}, "description": description}
                )
    return result
