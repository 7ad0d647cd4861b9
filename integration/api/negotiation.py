"""Content negotiation that cannot fail: the API answers JSON whatever ``Accept`` asks for.

DRF's default answered ``Accept: text/html`` with its browsable renderer, which needs a parser to build
its forms: on the health checks and Link's webhook (no parsers) that was a 500 (issue 23 H2, H3), and a
Link event already applied was answered 500, so Link retried it for a day. A client that asks for a type
we cannot give gets the first renderer's (JSON) instead of a 406: the answer's Content-Type says what
it is. Views with renderers of their own (the schema: YAML or JSON; the docs page: HTML) still choose
among them by ``Accept`` and ``?format=``.
"""

from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation


class JsonUnlessAsked(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except NotAcceptable:
            renderer = renderers[0]
            return renderer, renderer.media_type
