"""Bounded counts for pages that must stay fast whatever the size of a table.

``capped_counts`` counts each queryset's rows up to ``cap`` in one statement: a scalar subquery per
queryset, each ``SELECT COUNT(*) FROM (... LIMIT cap)``, so each stops after ``cap`` rows of its own best
index instead of reading every match. A page shows a count that reached the cap as "cap+" (``capped``)."""

from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import QuerySet

CAP = 1000


def capped_counts(querysets: dict[str, QuerySet], cap: int | None = None) -> dict[str, int]:
    cap = cap or CAP
    parts: list[str] = []
    params: list[Any] = []
    for key, queryset in querysets.items():
        alias = connection.ops.quote_name(key)
        try:
            sql, args = queryset.order_by().values("pk")[:cap].query.sql_with_params()
        except EmptyResultSet:
            parts.append(f"0 AS {alias}")
            continue
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) AS counted) AS {alias}")  # noqa: S608 (compiled SQL, values as params)
        params.extend(args)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(parts)}", params)
        row = cursor.fetchone()
    return dict(zip(querysets, row, strict=True))


def capped(count: int, cap: int | None = None) -> str:
    """``1,000+`` for a count that reached the cap, else the count."""
    cap = cap or CAP
    return f"{cap:,}+" if count >= cap else str(count)
