"""The API's only parser (REST_FRAMEWORK's DEFAULT_PARSER_CLASSES): JSON through ``json_bodies``.

Bodies are JSON: a form or any other Content-Type is a 415 naming ``application/json`` (a JSON body sent
as a form used to be parsed into one odd field, answered "store: This field is required"). A body nested
deeper than ``json_bodies.MAX_JSON_DEPTH`` is a 400 ``parse_error``, never a RecursionError.
"""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from integration import json_bodies


class JsonParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        try:
            return json_bodies.json_loads(raw)
        except json_bodies.JsonBodyError as exc:
            raise ParseError(f"JSON parse error: {exc.message}") from None
