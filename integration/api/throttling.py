"""The API's per-client rate limit (issue 23 H10): ``API_RATE_LIMIT`` requests per client, 429 with
Retry-After past it.

A client is its user (token or session); counts live in the default cache, which is Redis when
REDIS_URL is set, so every web worker and host shares one count (LocMemCache otherwise: per process).
Runs after authentication and permissions (DRF's order), so refused callers are not counted; the health
checks and Link's webhook set no throttle (a balancer or Link must never be told to slow down).
"""

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class ClientRateThrottle(SimpleRateThrottle):
    scope = "api"

    def get_rate(self) -> str | None:
        return settings.API_RATE_LIMIT or None  # read per request: a test or a reload may change it

    def get_cache_key(self, request, view) -> str:
        user = request.user
        ident = f"user-{user.pk}" if user and user.is_authenticated else f"addr-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
