"""Option parsing and the read-from-Link loop shared by the link_* commands."""

from datetime import timedelta

from django.core.management.base import CommandError
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from tqdm import tqdm

from integration.link.client import LinkError
from integration.models import Store


def parse_since(value: str):
    """``2026-11-27T10:00:00Z`` or a span back from now: ``30m``, ``6h``, ``2d``."""
    units = {"m": "minutes", "h": "hours", "d": "days"}
    if value and value[-1] in units and value[:-1].isdigit():
        return timezone.now() - timedelta(**{units[value[-1]]: int(value[:-1])})
    parsed = parse_datetime(value)
    if parsed is None:
        raise CommandError(f"--since {value!r}: give an ISO time (2026-11-27T10:00:00Z) or a span like 6h or 2d.")
    return parsed


def stores_for_venues(venues: list[str] | None) -> QuerySet[Store]:
    """Stores in primary-key order, only ``venues`` when given; an unknown venue id is an error."""
    stores = Store.objects.order_by("pk")
    if not venues:
        return stores
    stores = stores.filter(venue_id__in=venues)
    missing = set(venues) - set(stores.values_list("venue_id", flat=True))
    if missing:
        raise CommandError(
            f"Unknown venue(s): {', '.join(sorted(missing))}. Stores appear when Link sends store.connected."
        )
    return stores


def progress(iterable, verbosity: int, *, disable: bool = False, **kwargs) -> tqdm:
    """A progress bar on stderr; none at ``--verbosity 0``."""
    return tqdm(iterable, disable=disable or verbosity == 0, **kwargs)


def link_reads(command, rows, read, name, counts: dict, verbosity: int, *, errors: str = "errors", **bar):
    """``(row, read(row))`` for each row, under a progress bar; a row Link could not answer is written
    to stderr as ``<name(row)>: <error>``, counted in ``counts[errors]`` and skipped."""
    for row in progress(rows.iterator(chunk_size=200), verbosity, **bar):
        try:
            result = read(row)
        except LinkError as exc:
            counts[errors] += 1
            command.stderr.write(f"{name(row)}: {exc}")
            continue
        yield row, result
