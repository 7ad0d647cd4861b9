"""Menu versions benchmark (issue 27): ingest of the 5,000-item menu with versions kept against without,
and the diff of two of its versions.

    DATABASE_URL=postgres://localhost/linkbridge python -m tests.bench.menu_versions

Both ingests replace a live v1 with a v2 (prices changed on a tenth of the items), the case where a
version is compared and kept; "without" runs the same ingest with the version recording switched off.
Targets: the ratio within 1.10; the diff (API view: two rows read, decompressed, compared) < 0.3 s.
"""

import json
import os
import statistics
import time
from unittest import mock

from .menus import SIZE, _bench_database, _check, _timed

TARGET_RATIO = 1.10
TARGET_DIFF_S = 0.3
RUNS = 7


def bench_menu_versions(*, setup: bool = True, verbose: bool = False) -> list[str]:
    from django.test import Client
    from rest_framework.authtoken.models import Token

    from integration.models import MenuVersion
    from integration.selectors.menu_versions import menu_versions_diff
    from integration.services.menus import ingest
    from tests.factories import StoreFactory
    from tests.menus import build_menu

    lines = []

    def say(line: str) -> None:
        lines.append(line)
        if verbose:
            print(line, flush=True)

    with _bench_database(setup):
        v1 = build_menu(venue_id="ven_bv", menu_id="men_bv", version=1, **SIZE)
        v2 = json.loads(json.dumps(v1))
        v2["version"] = 2
        for item in v2["items"][::10]:
            item["price"] += 25
        raw1, raw2 = json.dumps(v1), json.dumps(v2)

        def ingest_v2(n: int, *, keep: bool) -> float:
            store = StoreFactory(venue_id="ven_bv", external_store_id=f"sf_bv_{'k' if keep else 'n'}{n}")
            off = mock.patch.object(ingest, "menu_version_record", return_value=None)
            if keep:
                assert ingest.menu_ingest(store, json.loads(raw1)).outcome == ingest.INGESTED
                record = ingest.menu_version_record

                def timed_record(*args, **kwargs):
                    started = time.perf_counter()
                    try:
                        return record(*args, **kwargs)
                    finally:
                        recording.append(time.perf_counter() - started)

                with mock.patch.object(ingest, "menu_version_record", timed_record):
                    result, seconds, _ = _timed(lambda: ingest.menu_ingest(store, json.loads(raw2)))
            else:
                with off:
                    assert ingest.menu_ingest(store, json.loads(raw1)).outcome == ingest.INGESTED
                    result, seconds, _ = _timed(lambda: ingest.menu_ingest(store, json.loads(raw2)))
            assert result.outcome == ingest.INGESTED, result.message
            store.delete()
            return seconds

        with_versions, without, recording = [], [], []
        for n in range(RUNS):  # interleaved, so a loaded machine's slow spell hits both
            without.append(ingest_v2(n, keep=False))
            with_versions.append(ingest_v2(n, keep=True))
        kept, bare = min(with_versions), min(without)
        ratio = kept / bare
        median_ratio = statistics.median(with_versions) / statistics.median(without)
        say(
            f"ingest v1 -> v2 of {SIZE['items']} items / {SIZE['modifiers']} modifiers: without versions "
            f"{bare:.3f} s, with versions kept {kept:.3f} s (best of {RUNS}); ratio {ratio:.3f} "
            f"(of the medians: {median_ratio:.3f}) [target <= {TARGET_RATIO}: {_check(ratio <= TARGET_RATIO)}]"
        )
        record = statistics.median(recording)
        say(
            f"of which keeping the version (compare with v1, compress, write, prune): {record:.3f} s median, "
            f"{record / bare:.1%} of the ingest without"
        )

        store = StoreFactory(venue_id="ven_bv", external_store_id="sf_bv")
        ingest.menu_ingest(store, json.loads(raw1))
        ingest.menu_ingest(store, json.loads(raw2))
        row = MenuVersion.objects.get(store=store, version=2)
        kib, mib = len(bytes(row.content)) / 2**10, len(raw2) / 2**20
        say(f"one version kept: {kib:.0f} KiB compressed (the document: {mib:.1f} MiB of JSON)")
        runs = [_timed(lambda: menu_versions_diff(store, 1, 2))[1] for _ in range(RUNS)]
        diff = statistics.median(runs)
        say(f"diff of v1 and v2 (selector): {diff:.3f} s median of {RUNS}")
        token = Token.objects.create(user=_user()).key
        client = Client(HTTP_AUTHORIZATION=f"Token {token}")
        url = "/api/v1/stores/sf_bv/menu/diff/?from=1&to=2"
        client.get("/api/v1/stores/")  # warm-up
        timings = []
        for _ in range(RUNS):
            response, seconds, _ = _timed(lambda: client.get(url))
            assert response.status_code == 200, response.content[:300]
            timings.append(seconds)
        api = statistics.median(timings)
        changed = len(response.json()["items"]["changed"])
        say(
            f"GET .../menu/diff/?from=1&to=2: {api:.3f} s median of {RUNS}, {changed} items changed "
            f"[target < {TARGET_DIFF_S} s: {_check(api < TARGET_DIFF_S)}]"
        )
    return lines


def _user():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create(username="bench-versions")


if __name__ == "__main__":
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linkbridge.settings")
    os.environ.setdefault("LINKBRIDGE_DEMO", "1")
    django.setup()
    bench_menu_versions(verbose=True)
