"""The OpenAPI schema's common answers: every refusal DRF or the project can give, in the error shape."""

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
