"""Ingest: normalized rows, unchanged and stale documents, refused menus keep the live one."""

import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from integration.models import (
    CategoryItem,
    GroupModifier,
    ItemGroup,
    Menu,
    MenuCategory,
    MenuItem,
    Modifier,
    ModifierGroup,
    ModifierNestedGroup,
    Store,
)
from integration.services.menus import rows
from integration.services.menus.ingest import INGESTED, INVALID, STALE, UNCHANGED, menu_ingest
from tests.factories import StoreFactory
from tests.menus import build_menu, find, publish_menu, with_changes
from tests.waiting import wait_until_blocked

from .test_menu_document import DEFECTS

pytestmark = pytest.mark.django_db


@pytest.fixture
def store():
    return StoreFactory(venue_id="ven_1", external_store_id="sf_1")


def live_items(store) -> dict:
    return dict(MenuItem.objects.filter(menu__store=store).values_list("link_id", "price"))


def test_ingest_writes_every_row_and_link(store):
    doc = build_menu(items=6, groups=3, modifiers=6, depth=2, categories=2)
    result = menu_ingest(store, doc)
    assert result.outcome == INGESTED, result.message
    menu = Menu.objects.get(store=store)
    assert (menu.state, menu.version, menu.menu_id, menu.currency) == ("PUBLISHED", 1, "men_1", "USD")
    assert (menu.category_count, menu.item_count, menu.group_count, menu.modifier_count) == (2, 6, 3, 6)
    assert menu.content_hash and menu.fetched_at and menu.last_error == "" and menu.revision == 1
    assert MenuCategory.objects.filter(menu=menu).count() == 2
    assert CategoryItem.objects.filter(category__menu=menu).count() == 6
    assert ItemGroup.objects.filter(item__menu=menu).count() == sum(len(i["modifier_group_ids"]) for i in doc["items"])
    assert GroupModifier.objects.filter(group__menu=menu).count() == 6
    nested = ModifierNestedGroup.objects.filter(modifier__menu=menu).select_related("modifier", "group")
    assert {(n.modifier.link_id, n.group.link_id) for n in nested} == {
        (m["id"], g) for m in doc["modifiers"] for g in m["modifier_group_ids"]
    }
    item = MenuItem.objects.get(menu=menu, link_id="itm_2")
    assert (item.price, item.available, str(item.tax_rate), item.description) == (
        949,
        True,
        "0.08750",
        doc["items"][1]["description"],
    )
    links = ItemGroup.objects.filter(item=item).order_by("position").values_list("group__link_id", flat=True)
    assert list(links) == doc["items"][1]["modifier_group_ids"]


def test_new_version_replaces_rows_wholesale(store):
    publish_menu(store, items=5, version=1)
    doc = build_menu(items=2, groups=1, modifiers=1, version=2)
    find(doc, "items", "itm_1")["price"] = 100
    assert menu_ingest(store, doc).outcome == INGESTED
    assert live_items(store) == {"itm_1": 100, "itm_2": 949}
    assert Modifier.objects.filter(menu__store=store).count() == 1
    assert ModifierGroup.objects.count() == 1 and GroupModifier.objects.count() == 1
    assert CategoryItem.objects.count() == 2
    assert Menu.objects.get(store=store).version == 2


def test_unchanged_document_is_recognised_and_touches_only_the_menu_row(store):
    doc = build_menu(items=50, groups=5, modifiers=20)
    menu_ingest(store, doc)
    before = Menu.objects.get(store=store)
    ids_before = set(MenuItem.objects.values_list("pk", flat=True))
    with CaptureQueriesContext(connection) as ctx:
        result = menu_ingest(store, with_changes(doc))
    assert result.outcome == UNCHANGED
    writes = [
        q["sql"]
        for q in ctx.captured_queries
        if not q["sql"].lstrip().upper().startswith(("SELECT", "SAVEPOINT", "RELEASE"))
    ]
    assert len(writes) == 1 and writes[0].startswith('UPDATE "integration_menu"'), writes
    assert set(MenuItem.objects.values_list("pk", flat=True)) == ids_before
    after = Menu.objects.get(store=store)
    assert after.fetched_at > before.fetched_at and after.revision == before.revision


def test_same_content_under_a_new_version_moves_the_version_without_row_work(store):
    doc = build_menu(items=10)
    menu_ingest(store, doc)
    ids_before = set(MenuItem.objects.values_list("pk", flat=True))
    result = menu_ingest(store, with_changes(doc, version=2, published_at="2026-11-28T09:00:00Z"))
    assert result.outcome == UNCHANGED
    menu = Menu.objects.get(store=store)
    assert menu.version == 2 and menu.published_at.day == 28 and menu.revision == 2
    assert set(MenuItem.objects.values_list("pk", flat=True)) == ids_before


def test_force_reingests_an_unchanged_document(store):
    doc = build_menu(items=10)
    menu_ingest(store, doc)
    MenuItem.objects.filter(link_id="itm_1").update(available=False)
    assert menu_ingest(store, doc, force=True).outcome == INGESTED
    assert MenuItem.objects.get(link_id="itm_1").available is True


def test_older_version_never_replaces_a_newer_one(store):
    publish_menu(store, items=3, version=8)
    older = build_menu(items=7, version=7)
    result = menu_ingest(store, older)
    assert result.outcome == STALE and "v7 is older than the live v8" in result.message
    menu = Menu.objects.get(store=store)
    assert menu.version == 8 and menu.item_count == 3 and len(live_items(store)) == 3
    assert menu.last_error == ""


def test_a_new_menu_id_replaces_the_old_menu_whatever_its_version(store):
    publish_menu(store, items=3, version=8, menu_id="men_old")
    result = menu_ingest(store, build_menu(items=2, version=1, menu_id="men_new"))
    assert result.outcome == INGESTED
    menu = Menu.objects.get(store=store)
    assert (menu.menu_id, menu.version, menu.item_count) == ("men_new", 1, 2)


@pytest.mark.parametrize("name", list(DEFECTS))
def test_each_defect_keeps_the_old_menu_live_and_records_why(store, name):
    publish_menu(store, items=3, groups=2, modifiers=4, depth=2, version=1)
    before = Menu.objects.get(store=store)
    mutate, expected = DEFECTS[name]
    doc = build_menu(items=3, groups=2, modifiers=4, depth=2, version=2)
    find(doc, "items", "itm_1")["price"] = 1  # the new version differs, so it would be ingested
    mutate(doc)
    result = menu_ingest(store, doc)
    assert result.outcome == INVALID
    menu = Menu.objects.get(store=store)
    assert expected in menu.last_error and menu.last_error_at is not None
    assert (menu.version, menu.state, menu.content_hash, menu.revision) == (
        1,
        "PUBLISHED",
        before.content_hash,
        before.revision,
    )
    assert live_items(store)["itm_1"] == 899


def test_menu_for_another_venue_is_refused(store):
    publish_menu(store, items=2)
    result = menu_ingest(store, build_menu(items=5, venue_id="ven_other", version=2))
    assert result.outcome == INVALID
    assert "venue_id 'ven_other' is not this store's venue (ven_1)" in Menu.objects.get(store=store).last_error
    assert len(live_items(store)) == 2


def test_a_good_ingest_clears_the_last_error(store):
    publish_menu(store, items=2)
    menu_ingest(store, with_changes(build_menu(items=2, version=2), currency="??"))
    assert Menu.objects.get(store=store).last_error
    assert menu_ingest(store, build_menu(items=4, version=3)).outcome == INGESTED
    menu = Menu.objects.get(store=store)
    assert (menu.last_error, menu.last_error_at, menu.version) == ("", None, 3)


def test_dry_run_decides_and_validates_but_writes_nothing(store):
    publish_menu(store, items=2, version=1)
    before = Menu.objects.get(store=store)
    assert menu_ingest(store, build_menu(items=9, version=2), dry_run=True).outcome == INGESTED
    assert menu_ingest(store, build_menu(items=2, version=1), dry_run=True).outcome == UNCHANGED
    bad = with_changes(build_menu(items=2, version=2), currency="??")
    assert menu_ingest(store, bad, dry_run=True).outcome == INVALID
    after = Menu.objects.get(store=store)
    assert (after.version, after.item_count, after.last_error, after.updated_at) == (1, 2, "", before.updated_at)


def _count_ingest_queries(store, items: int) -> int:
    doc = build_menu(items=items, groups=max(2, items // 10), modifiers=items * 2, depth=2, venue_id=store.venue_id)
    with CaptureQueriesContext(connection) as ctx:
        assert menu_ingest(store, doc).outcome == INGESTED
    return len(ctx.captured_queries)


@pytest.mark.postgres_only  # SQLite's bulk_create must batch by its variable limit
def test_ingest_query_count_does_not_grow_with_the_menu():
    small = _count_ingest_queries(StoreFactory(), 100)
    large = _count_ingest_queries(StoreFactory(), 2000)
    assert small == large, (small, large)
    assert Menu.objects.filter(item_count=2000).count() == 1


@pytest.mark.postgres_only  # SQLite's bulk_create must batch by its variable limit
def test_replacing_query_count_does_not_grow_with_the_menu(store):
    counts = []
    for version, items in ((1, 100), (2, 2000), (3, 100)):
        doc = build_menu(items=items, groups=items // 10, modifiers=items * 2, depth=2, version=version)
        with CaptureQueriesContext(connection) as ctx:
            assert menu_ingest(store, doc).outcome == INGESTED
        counts.append(len(ctx.captured_queries))
    assert counts[1] == counts[2], counts
    assert Menu.objects.get(store=store).item_count == 100


def test_the_bulk_create_path_for_other_databases_writes_the_same_rows(store, monkeypatch):
    doc = build_menu(items=20, groups=4, modifiers=12, depth=2)
    other = StoreFactory(venue_id="ven_2")
    menu_ingest(store, doc)
    monkeypatch.setattr(rows, "_unnest_supported", lambda: False)
    menu_ingest(other, with_changes(doc, venue_id="ven_2"))

    def shape(s: Store):
        menu = Menu.objects.get(store=s)
        return (
            sorted(MenuItem.objects.filter(menu=menu).values_list("link_id", "price", "available", "tax_rate")),
            sorted(
                GroupModifier.objects.filter(group__menu=menu).values_list(
                    "group__link_id", "modifier__link_id", "position"
                )
            ),
            sorted(
                ModifierNestedGroup.objects.filter(modifier__menu=menu).values_list(
                    "modifier__link_id", "group__link_id"
                )
            ),
            sorted(
                CategoryItem.objects.filter(category__menu=menu).values_list(
                    "category__link_id", "item__link_id", "position"
                )
            ),
            sorted(
                ItemGroup.objects.filter(item__menu=menu).values_list("item__link_id", "group__link_id", "position")
            ),
        )

    assert shape(other) == shape(store)


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("first", [7, 8], ids=["v7-holds-the-lock-first", "v8-holds-the-lock-first"])
def test_concurrent_v7_and_v8_ingests_end_at_v8(monkeypatch, first):
    store = StoreFactory(venue_id="ven_1")
    publish_menu(store, items=2, version=6)
    docs = {
        7: build_menu(items=7, groups=2, modifiers=4, version=7),
        8: build_menu(items=8, groups=3, modifiers=6, version=8),
    }
    holding = threading.Event()
    original = rows.replace_rows

    def slow_replace(menu, parsed):
        if not holding.is_set():  # the first ingest holds the Menu row lock now
            holding.set()
            wait_until_blocked()  # until the other ingest really waits for that lock
        return original(menu, parsed)

    monkeypatch.setattr(rows, "replace_rows", slow_replace)
    outcomes = {}

    def ingest(version):
        try:
            outcomes[version] = menu_ingest(Store.objects.get(pk=store.pk), docs[version]).outcome
        finally:
            connection.close()

    second = 8 if first == 7 else 7
    threads = [threading.Thread(target=ingest, args=(first,)), threading.Thread(target=ingest, args=(second,))]
    threads[0].start()
    assert holding.wait(5)
    threads[1].start()
    for t in threads:
        t.join(10)
    menu = Menu.objects.get(store=store)
    assert menu.version == 8 and menu.item_count == 8
    assert sorted(live_items(store)) == sorted(i["id"] for i in docs[8]["items"])
    assert ModifierGroup.objects.filter(menu=menu).count() == 3
    assert outcomes == ({7: INGESTED, 8: INGESTED} if first == 7 else {8: INGESTED, 7: STALE})
