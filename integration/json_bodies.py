"""The one way a request body becomes JSON: UTF-8, strict, nested at most ``MAX_JSON_DEPTH`` levels.

Used by the API's parser (``api/parsers.py``, REST_FRAMEWORK's only parser) and by Link's webhook
(``link/payloads.parse_json``). Python's decoder recurses once per level: a body a thousand levels deep
raised RecursionError (a 500) in DRF's own JSONParser. Here it is a refusal, and so is anything deeper
than any body we take (orders nest modifiers 4 levels, about 12 JSON levels; Link's events 4).
"""

import json

MAX_JSON_DEPTH = 32


class JsonBodyError(ValueError):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def _nests_deeper_than(value, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def json_loads(raw: bytes, *, max_depth: int = MAX_JSON_DEPTH):
    """``raw`` as JSON, or JsonBodyError saying why not (not UTF-8, not JSON, NaN/Infinity, too deep)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise JsonBodyError("The body is not valid JSON in UTF-8.") from None
    try:
        body = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise JsonBodyError(f"The body nests deeper than {max_depth} levels.") from None
    except ValueError:
        raise JsonBodyError("The body is not valid JSON in UTF-8.") from None
    if _nests_deeper_than(body, max_depth):
        raise JsonBodyError(f"The body nests deeper than {max_depth} levels.")
    return body
