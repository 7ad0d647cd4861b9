"""IANA time zone names: the one check every write of a store's time zone goes through."""

import functools
import zoneinfo

from django.core.exceptions import ValidationError


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def is_time_zone(name) -> bool:
    return isinstance(name, str) and name in _zones()


def validate_time_zone(value) -> None:
    if not is_time_zone(value):
        raise ValidationError(
            "%(zone)r is not an IANA time zone name (like America/New_York).",
            code="invalid_time_zone",
            params={"zone": value},
        )
