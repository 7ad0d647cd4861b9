"""Link's Menu document (contract section 4): checked, then handed on in our own terms.

Pure Python over the decoded JSON, no database. A menu with any defect is refused whole, with
every problem listed (up to a cap), so that the previous menu stays live and ops can read why.

What passes here must also fit the database (issue 23 H6): no string holds a NUL or a lone
surrogate (PostgreSQL stores neither), and every integer fits its column (``INT_MIN``..``INT_MAX``).
A document that fails that is refused like any other invalid menu, never left to fail at the INSERT.
One field is dropped rather than refused (H12): an ``image_url`` that is not an http(s) URL
(``javascript:``, ``data:``...) is emptied and the item kept; ``ParsedMenu.dropped`` says which.
"""

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeGuard
from urllib.parse import urlsplit

from django.utils.dateparse import parse_datetime

from integration.text import storable, text_problem

from .menu_nesting import nesting_check
from .routes import url_has_unsafe_characters

DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")  # datetime.weekday() order
# Fields that change with every publication; the content hash leaves them out so that a new
# version with the same content is recognised as unchanged.
VOLATILE_KEYS = frozenset({"version", "published_at"})
MAX_PROBLEMS_SHOWN = 25
ID_MAX, NAME_MAX, URL_MAX = 64, 200, 2000
INT_MIN, INT_MAX = -(2**31), 2**31 - 1  # PostgreSQL integer: version, sort_order, prices, selections
PRICE_MAX = INT_MAX
TAX_DECIMALS, TAX_DIGITS = 5, 7
TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
MAX_NESTING = 4  # modifier groups nest at most this deep (an item's groups are level 1): as deep as an order may


def is_web_url(value: str) -> bool:
    """An absolute http(s) URL with a host and no whitespace or control characters: the only image
    URLs stored and served (not ``javascript:``, ``data:``, scheme-relative ``//host``...)."""
    if not value or url_has_unsafe_characters(value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


class MenuInvalid(Exception):
    """The document cannot become the live menu; ``problems`` says every reason found."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        shown = problems[:MAX_PROBLEMS_SHOWN]
        more = len(problems) - len(shown)
        text = storable("; ".join(shown) + (f"; and {more} more" if more else ""))
        self.message = f"Menu refused ({len(problems)} problem{'s' if len(problems) != 1 else ''}): {text}"
        super().__init__(self.message)


@dataclass(frozen=True)
class MenuHeader:
    menu_id: str
    version: int
    venue_id: str | None
    published_at: datetime | None  # aware


@dataclass(slots=True)
class Category:
    link_id: str
    name: str
    sort_order: int
    item_ids: list[str]


@dataclass(slots=True)
class Item:
    link_id: str
    name: str
    description: str
    price: int
    available: bool
    image_url: str
    tax_rate: Decimal
    group_ids: list[str]


@dataclass(slots=True)
class Group:
    link_id: str
    name: str
    min_selections: int
    max_selections: int
    modifier_ids: list[str]


@dataclass(slots=True)
class Modifier:
    link_id: str
    name: str
    price: int
    available: bool
    group_ids: list[str]


@dataclass
class ParsedMenu:
    menu_id: str
    version: int
    venue_id: str | None
    currency: str
    published_at: datetime | None  # aware
    hours: list[dict]  # [{"day": "MON", "open": "10:00", "close": "22:00"}], validated
    categories: list[Category] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    modifiers: list[Modifier] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # fields emptied rather than refused, and why


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def menu_header(doc) -> MenuHeader:
    """The few fields needed before deciding whether to look at the rest (stale? unchanged?)."""
    if not isinstance(doc, dict):
        raise MenuInvalid([f"the menu must be a JSON object, not {type(doc).__name__}"])
    problems = []
    menu_id, version, venue_id = doc.get("menu_id"), doc.get("version"), doc.get("venue_id")
    if not isinstance(menu_id, str) or not menu_id or len(menu_id) > ID_MAX:
        problems.append(f"menu_id must be a non-empty string of at most {ID_MAX} characters")
    elif why := text_problem(menu_id):
        problems.append(f"menu_id {why}")
    if not _is_int(version) or version < 0:
        problems.append(f"version must be a non-negative integer, not {version!r}")
    elif version > INT_MAX:
        problems.append(f"version {version} is over {INT_MAX}")
    if venue_id is not None and not isinstance(venue_id, str):
        problems.append("venue_id must be a string")
    elif venue_id is not None and (why := text_problem(venue_id)):
        problems.append(f"venue_id {why}")
    published_at = doc.get("published_at")
    if published_at is not None:
        try:
            parsed = parse_datetime(published_at) if isinstance(published_at, str) else None
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            problems.append(f"published_at {published_at!r} is not an RFC 3339 time with a zone")
        published_at = parsed
    if problems:
        raise MenuInvalid(problems)
    assert isinstance(menu_id, str) and _is_int(version)  # (checked above)
    return MenuHeader(menu_id, version, venue_id, published_at)


def menu_hash(doc: dict) -> str:
    """Hash of the content (key order and the per-publication fields do not count). A lone surrogate
    hashes too (``surrogatepass``): the document is refused by ``parse_menu``, not by the hash."""
    content = {k: v for k, v in doc.items() if k not in VOLATILE_KEYS}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


class _Checker:
    def __init__(self):
        self.problems: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def entries(self, doc: dict, key: str) -> list:
        value = doc.get(key, [])
        if not isinstance(value, list):
            self.add(key, "must be a list")
            return []
        return value

    def text(self, where, obj, key, *, max_len, required=True, blank=False, nullable=False) -> str:
        value = obj.get(key)
        if value is None and (nullable or not required):
            return ""
        if not isinstance(value, str):
            self.add(where, f"{key} must be a string, not {type(value).__name__}")
            return ""
        if not value and not blank:
            self.add(where, f"{key} must not be empty")
        if len(value) > max_len:
            self.add(where, f"{key} is longer than {max_len} characters")
        if why := text_problem(value):
            self.add(where, f"{key} {why}")
        return value

    def integer(self, where, obj, key, *, default=None, minimum=None, maximum=None, negative_word="negative") -> int:
        value = obj.get(key, default)
        if not _is_int(value):
            self.add(where, f"{key} must be an integer, not {value!r}")
            return 0
        if minimum is not None and value < minimum:
            self.add(where, f"{key} {value} is {negative_word}")
        if maximum is not None and value > maximum:
            self.add(where, f"{key} {value} is over {maximum}")
        return value

    def boolean(self, where, obj, key, *, default=True) -> bool:
        value = obj.get(key, default)
        if not isinstance(value, bool):
            self.add(where, f"{key} must be true or false, not {value!r}")
            return bool(default)
        return value

    def ids(self, where, obj, key) -> list[str]:
        value = obj.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.add(where, f"{key} must be a list of id strings")
            return []
        if len(set(value)) != len(value):
            seen, twice = set(), []
            for v in value:
                if v in seen:
                    twice.append(v)
                seen.add(v)
            self.add(where, f"{key} lists {', '.join(sorted(set(twice)))} more than once")
        for why in {text_problem(v) for v in value} - {None}:
            self.add(where, f"{key} has an id that {why}")
        return value

    def entity(self, key: str, index: int, obj) -> tuple[str, str] | None:
        """(where, id) for the index-th entry of ``key``, or None if it is not even an object."""
        if not isinstance(obj, dict):
            self.add(f"{key}[{index}]", "must be an object")
            return None
        link_id = obj.get("id")
        where = f"{key}[{index}] {link_id!r}" if isinstance(link_id, str) else f"{key}[{index}]"
        if not isinstance(link_id, str) or not link_id or len(link_id) > ID_MAX:
            self.add(where, f"id must be a non-empty string of at most {ID_MAX} characters")
            return None
        if why := text_problem(link_id):
            self.add(where, f"id {why}")
            return None
        return where, link_id


def _hours(check: _Checker, doc: dict) -> list[dict]:
    hours = []
    for i, entry in enumerate(check.entries(doc, "hours")):
        where = f"hours[{i}]"
        if not isinstance(entry, dict):
            check.add(where, "must be an object")
            continue
        day, opens, closes = entry.get("day"), entry.get("open"), entry.get("close")
        ok = True
        if day not in DAYS:
            check.add(where, f"day {day!r} is not one of {', '.join(DAYS)}")
            ok = False
        if not isinstance(opens, str) or not TIME_RE.fullmatch(opens):
            check.add(where, f"open {opens!r} is not a time HH:MM (00:00 to 23:59)")
            ok = False
        if not isinstance(closes, str) or not (TIME_RE.fullmatch(closes) or closes == "24:00"):
            check.add(where, f"close {closes!r} is not a time HH:MM (00:00 to 24:00)")
            ok = False
        if ok:
            hours.append({"day": day, "open": opens, "close": closes})
    return hours


def _tax_rate(check: _Checker, where: str, value) -> Decimal:
    if value is None:
        return Decimal(0)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        check.add(where, f'tax_rate must be a decimal string like "0.0875", not {value!r}')
        return Decimal(0)
    try:
        rate = Decimal(str(value))
    except InvalidOperation:
        check.add(where, f"tax_rate {value!r} is not a number")
        return Decimal(0)
    if not rate.is_finite() or rate < 0 or rate >= 1:
        check.add(where, f"tax_rate {value} must be at least 0 and below 1")
    elif -int(rate.as_tuple().exponent) > TAX_DECIMALS:  # (finite: the exponent is an int)
        check.add(where, f"tax_rate {value} has more than {TAX_DECIMALS} decimals")
    return rate


def _defined(check: _Checker, key: str, entries: list, build) -> dict:
    """Build each valid entry; report ids defined twice. Returns {id: built entry}."""
    by_id: dict[str, Any] = {}
    dupes: dict[str, int] = {}
    for i, obj in enumerate(entries):
        found = check.entity(key, i, obj)
        if found is None:
            continue
        where, link_id = found
        built = build(where, obj, link_id)
        if link_id in by_id:
            dupes[link_id] = dupes.get(link_id, 1) + 1
        else:
            by_id[link_id] = built
    for link_id, times in dupes.items():
        check.add(key, f"id {link_id!r} is defined {times} times")
    return by_id


def _references(check: _Checker, owner_key: str, owners: dict, attr: str, target_key: str, targets: dict) -> None:
    for link_id, owner in owners.items():
        missing = [ref for ref in getattr(owner, attr) if ref not in targets]
        if missing:
            shown = ", ".join(repr(m) for m in missing[:5]) + (
                f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            )
            check.add(f"{owner_key} {link_id!r}", f"refers to {target_key} {shown}, not defined in the menu")


def parse_menu(doc) -> ParsedMenu:
    """Validate a Menu document; raise MenuInvalid listing every problem found."""
    header = menu_header(doc)
    check = _Checker()
    currency = doc.get("currency", "USD")
    if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
        check.add("currency", f"{currency!r} is not an ISO 4217 code like USD")
    hours = _hours(check, doc)
    dropped: list[str] = []

    def category(where, obj, link_id):
        return Category(
            link_id,
            check.text(where, obj, "name", max_len=NAME_MAX),
            check.integer(
                where, obj, "sort_order", default=0, minimum=INT_MIN, maximum=INT_MAX, negative_word=f"below {INT_MIN}"
            ),
            check.ids(where, obj, "item_ids"),
        )

    def item(where, obj, link_id):
        image_url = check.text(where, obj, "image_url", max_len=URL_MAX, required=False, blank=True, nullable=True)
        if image_url and not text_problem(image_url) and not is_web_url(image_url):
            dropped.append(f"{where}: image_url {image_url[:100]!r} is not an http(s) URL; dropped")
            image_url = ""
        return Item(
            link_id,
            check.text(where, obj, "name", max_len=NAME_MAX),
            check.text(where, obj, "description", max_len=10_000, required=False, blank=True, nullable=True),
            check.integer(where, obj, "price", minimum=0, maximum=PRICE_MAX),
            check.boolean(where, obj, "available"),
            image_url,
            _tax_rate(check, where, obj.get("tax_rate")),
            check.ids(where, obj, "modifier_group_ids"),
        )

    def group(where, obj, link_id):
        low = check.integer(where, obj, "min_selections", default=0, minimum=0, maximum=PRICE_MAX)
        high = check.integer(where, obj, "max_selections", default=0, minimum=0, maximum=PRICE_MAX)
        if high and low > high:  # max_selections 0 means no upper limit
            check.add(where, f"min_selections {low} is greater than max_selections {high}")
        return Group(
            link_id, check.text(where, obj, "name", max_len=NAME_MAX), low, high, check.ids(where, obj, "modifier_ids")
        )

    def modifier(where, obj, link_id):
        return Modifier(
            link_id,
            check.text(where, obj, "name", max_len=NAME_MAX),
            check.integer(where, obj, "price", minimum=0, maximum=PRICE_MAX),
            check.boolean(where, obj, "available"),
            check.ids(where, obj, "modifier_group_ids"),
        )

    categories = _defined(check, "categories", check.entries(doc, "categories"), category)
    items = _defined(check, "items", check.entries(doc, "items"), item)
    groups = _defined(check, "modifier_groups", check.entries(doc, "modifier_groups"), group)
    modifiers = _defined(check, "modifiers", check.entries(doc, "modifiers"), modifier)

    _references(check, "categories", categories, "item_ids", "items", items)
    _references(check, "items", items, "group_ids", "modifier_groups", groups)
    _references(check, "modifier_groups", groups, "modifier_ids", "modifiers", modifiers)
    _references(check, "modifiers", modifiers, "group_ids", "modifier_groups", groups)
    nesting_check(check.add, groups, modifiers, max_depth=MAX_NESTING)

    if check.problems:
        raise MenuInvalid(check.problems)
    return ParsedMenu(
        menu_id=header.menu_id,
        version=header.version,
        venue_id=header.venue_id,
        currency=currency,
        published_at=header.published_at,
        hours=hours,
        categories=list(categories.values()),
        items=list(items.values()),
        groups=list(groups.values()),
        modifiers=list(modifiers.values()),
        dropped=dropped,
    )
