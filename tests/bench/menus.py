"""Menu benchmark: generate a 5,000-item menu in the sandbox, ingest it, ingest it again unchanged,
serve its catalog.

    DATABASE_URL=postgres://localhost/linkbridge python -m tests.bench.menus

``bench_menus()`` returns the report lines (``tests.bench.run`` prints them; run alone, as
above, it prints as it goes). It migrates a throwaway database ``test_<NAME>_menus_bench`` next
to DATABASE_URL's and drops it at the end, so it never touches real data nor a test run's
database; a caller already inside a prepared database passes ``setup=False``.

Targets: the sandbox generates it in < 2 s, first ingest < 2 s, unchanged re-ingest < 10% of it,
catalog response < 0.3 s. Timings run without tracemalloc (it slows Python several fold); peak
memory comes from a second, traced pass of the same work.
"""

import json
import os
import statistics
import time
import tracemalloc
from contextlib import contextmanager

SIZE = {"items": 5000, "groups": 1000, "modifiers": 10000, "depth": 2}
TARGET_GENERATE_S = 2.0
TARGET_INGEST_S = 2.0
TARGET_UNCHANGED_RATIO = 0.10
TARGET_CATALOG_S = 0.3


@contextmanager
def _count_queries():
    from django.db import connection

    counter = {"n": 0}

    def wrapper(execute, sql, params, many, context):
        counter["n"] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield counter


def _timed(fn):
    with _count_queries() as queries:
        started = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - started
    return result, elapsed, queries["n"]


def _peak_mib(fn) -> float:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


@contextmanager
def _bench_database(setup: bool):
    if not setup:
        yield
        return
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit("The menu benchmark needs PostgreSQL: set DATABASE_URL=postgres://...")
    connection.settings_dict.setdefault("TEST", {})
    connection.settings_dict["TEST"]["NAME"] = f"test_{connection.settings_dict['NAME']}_menus_bench"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        yield
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def _check(ok: bool) -> str:
    return "ok" if ok else "OVER TARGET"


def bench_menus(*, setup: bool = True, verbose: bool = False) -> list[str]:
    from django.test import Client
    from rest_framework.authtoken.models import Token

    from dev.sandbox.menus import generate_menu
    from integration.models import Menu
    from integration.services.menus.ingest import INGESTED, UNCHANGED, menu_ingest
    from tests.factories import StoreFactory
    from tests.menus import build_menu

    lines = []

    def say(line: str) -> None:
        lines.append(line)
        if verbose:
            print(line, flush=True)

    generate = min(_timed(lambda: generate_menu("ven_bench", "men_bench", 1, **SIZE))[1] for _ in range(3))
    say(
        f"sandbox generates the menu (what it serves at menu_url): {generate:.3f} s best of 3 "
        f"[target < {TARGET_GENERATE_S} s: {_check(generate < TARGET_GENERATE_S)}]"
    )

    with _bench_database(setup):
        store = StoreFactory(venue_id="ven_bench", external_store_id="sf_bench")
        document = build_menu(venue_id=store.venue_id, menu_id="men_bench", version=1, **SIZE)
        raw = json.dumps(document)
        say(
            f"menu: {SIZE['items']} items, {SIZE['groups']} modifier groups, {SIZE['modifiers']} modifiers, "
            f"nesting depth {SIZE['depth']}; {len(raw) / 2**20:.1f} MiB of JSON"
        )

        decode = min(_timed(lambda: json.loads(raw))[1] for _ in range(3))
        say(f"JSON decode of the body (the client's work, before ingest): {decode:.3f} s")

        result, first, queries = _timed(lambda: menu_ingest(store, document))
        assert result.outcome == INGESTED, result.message
        say(
            f"first ingest: {first:.3f} s, {queries} queries "
            f"[target < {TARGET_INGEST_S} s: {_check(first < TARGET_INGEST_S)}]"
        )

        runs = []
        for _ in range(3):
            copy = json.loads(raw)  # a fresh document, as from a new fetch
            result, seconds, queries = _timed(lambda doc=copy: menu_ingest(store, doc))
            assert result.outcome == UNCHANGED, result.message
            runs.append(seconds)
        again = statistics.median(runs)
        ratio = again / first
        say(
            f"unchanged re-ingest: {again:.3f} s median of 3 ({ratio:.1%} of the first), {queries} queries "
            f"[target < {TARGET_UNCHANGED_RATIO:.0%}: {_check(ratio < TARGET_UNCHANGED_RATIO)}]"
        )

        changed = json.loads(raw)
        changed["version"] = 2
        changed["items"][0]["price"] += 1
        result, seconds, queries = _timed(lambda: menu_ingest(store, changed))
        assert result.outcome == INGESTED, result.message
        changed_raw = json.dumps(changed)
        say(f"changed re-ingest (v2, one price; replaces the rows): {seconds:.3f} s, {queries} queries")

        peak_first = _peak_mib(lambda: menu_ingest(store, json.loads(changed_raw), force=True))
        peak_again = _peak_mib(lambda: menu_ingest(store, json.loads(changed_raw)))
        say(
            f"peak memory (tracemalloc, JSON decode included): ingest {peak_first:.0f} MiB, "
            f"unchanged re-ingest {peak_again:.0f} MiB"
        )

        token = Token.objects.create(user=_bench_user()).key
        client = Client(HTTP_AUTHORIZATION=f"Token {token}")
        url = f"/api/v1/stores/{store.external_store_id}/menu/"
        warm, seconds, _ = _timed(lambda: client.get("/api/v1/stores/"))  # imports, URL resolver, auth
        assert warm.status_code == 200, warm.content[:500]
        say(f"process warm-up (GET /api/v1/stores/, first request of the process): {seconds:.3f} s")
        for label in ("catalog API (first request)", "catalog API (again)"):
            response, seconds, queries = _timed(lambda: client.get(url))
            assert response.status_code == 200, response.content[:500]
            say(
                f"{label}: {seconds:.3f} s, {queries} queries, {len(response.content) / 2**20:.1f} MiB "
                f"[target < {TARGET_CATALOG_S} s: {_check(seconds < TARGET_CATALOG_S)}]"
            )
        etag = response["ETag"]
        response, seconds, queries = _timed(lambda: client.get(url, HTTP_IF_NONE_MATCH=etag))
        assert response.status_code == 304
        say(f"catalog API with If-None-Match: 304 in {seconds:.3f} s, {queries} queries")
        assert Menu.objects.get(store=store).item_count == SIZE["items"]
    return lines


def _bench_user():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create(username="bench-client")


if __name__ == "__main__":
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linkbridge.settings")
    os.environ.setdefault("LINKBRIDGE_DEMO", "1")  # dev secrets; the bench sets Link's values itself
    django.setup()
    bench_menus(verbose=True)
