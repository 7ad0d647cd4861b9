"""Price rules (issue 27): the marketplace's markup on Link's prices.

The price a customer pays is Link's price x (1 + percent / 100) + fixed, rounded half up to the minor
unit; then, with a ``step``, raised to the smallest price at or above it that ends in ``ending`` modulo
``step`` (step 50, ending 0: a multiple of 0.50; step 50, ending 49: x.49 or x.99; step 100, ending 99:
x.99). A price at or below 0 after the markup is 0 (no step applies), a free entry (Link's price 0)
stays free, an excluded item keeps Link's price, and with ``modifiers`` false so do modifiers. For a
store the most specific rule wins: a rule naming the store over a rule for every store; among rules
equally specific, the newest.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import transaction

from integration.models import Menu, PriceRule, Store
from integration.services.errors import ActionRefused
from integration.services.mp_events.events import menu_updated_announce

PERCENT_MIN, PERCENT_MAX = Decimal("-100"), Decimal("1000")
FIXED_LIMIT = 100_000
STEP_MAX = 100_000
NAME_MAX = 200
EXCLUDED_MAX = 10_000


class PriceRuleInvalid(ActionRefused):
    """Field by field: ``errors`` is a list of ``{"field", "code", "message"}``."""

    code = "invalid_request"

    def __init__(self, errors: list[dict]):
        super().__init__("The price rule has invalid fields.")
        self.message = "The price rule has invalid fields."
        self.errors = errors


def price_compute(link_price: int, percent: Decimal, fixed: int, step: int, ending: int) -> int:
    """The formula, on one price (minor units)."""
    if link_price <= 0:
        return max(0, link_price)
    exact = Decimal(link_price) * (1 + Decimal(percent) / 100) + fixed
    price = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if price <= 0:
        return 0  # a markup that takes the price to nothing or below makes it free, never negative
    if step:
        price += (ending - price) % step
    return price


def price_rule_apply(rule: PriceRule | None, link_price: int, *, item_id: str | None = None) -> int:
    """What the customer pays for an item (``item_id``) or, without ``item_id``, a modifier."""
    if rule is None:
        return link_price
    if item_id is None and not rule.modifiers:
        return link_price
    if item_id is not None and item_id in rule_excluded(rule):
        return link_price
    return price_compute(link_price, rule.markup_percent, rule.markup_fixed, rule.rounding_step, rule.rounding_ending)


def rule_excluded(rule: PriceRule) -> frozenset:
    excluded = rule.__dict__.get("_excluded")
    if excluded is None:
        excluded = rule.__dict__["_excluded"] = frozenset(rule.exclude_items or ())
    return excluded


@dataclass
class RuleFields:
    """A rule's fields, as the API and the admin give them (None: not given, for a PATCH)."""

    name: str | None = None
    stores: list[str] | None = None  # external_store_ids (or venue ids); [] = every store
    markup_percent: object = None
    markup_fixed: object = None
    rounding_step: object = None
    rounding_ending: object = None
    exclude_items: list | None = None
    modifiers: object = None


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def price_rule_validate(fields: RuleFields, rule: PriceRule | None = None) -> tuple[dict, list[Store] | None]:
    """The values ``fields`` would set on ``rule`` (a new one when None) and its stores; PriceRuleInvalid."""
    return _check(fields, rule if rule is not None else PriceRule())


def _check(fields: RuleFields, rule: PriceRule) -> tuple[dict, list[Store] | None]:
    """The validated values to set (and the stores), or PriceRuleInvalid listing every problem."""
    errors: list[dict] = []
    values: dict[str, Any] = {}

    def bad(field, message, code="invalid"):
        errors.append({"field": field, "code": code, "message": message})

    if fields.name is not None:
        name = fields.name
        if not isinstance(name, str) or not name.strip() or len(name) > NAME_MAX or "\x00" in name:
            bad("name", f"A name of 1 to {NAME_MAX} characters.")
        else:
            values["name"] = fields.name.strip()
    elif rule.pk is None:
        bad("name", "A name is required.", "required")
    if fields.markup_percent is not None:
        try:
            percent = Decimal(str(fields.markup_percent))
            if isinstance(fields.markup_percent, bool) or not percent.is_finite():
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            bad("markup_percent", 'A decimal like "10.00".')
        else:
            if not PERCENT_MIN <= percent <= PERCENT_MAX or percent != percent.quantize(Decimal("0.01")):
                bad("markup_percent", f"From {PERCENT_MIN} to {PERCENT_MAX}, at most 2 decimals.")
            else:
                values["markup_percent"] = percent.quantize(Decimal("0.01"))
    for name, low, high in (
        ("markup_fixed", -FIXED_LIMIT, FIXED_LIMIT),
        ("rounding_step", 0, STEP_MAX),
        ("rounding_ending", 0, STEP_MAX),
    ):
        value = getattr(fields, name)
        if value is None:
            continue
        field = name if name == "markup_fixed" else f"rounding.{name.removeprefix('rounding_')}"
        if not _is_int(value) or not low <= value <= high:
            bad(field, f"A whole number (minor units) from {low} to {high}.")
        else:
            values[name] = value
    step = values.get("rounding_step", rule.rounding_step)
    ending = values.get("rounding_ending", rule.rounding_ending)
    rounding_ok = not any(e["field"].startswith("rounding") for e in errors)
    if rounding_ok and ((step == 0 and ending) or (step and ending >= step)):
        bad("rounding.ending", "The ending needs a step and is below it (step 50, ending 49: x.49 / x.99).")
    if fields.exclude_items is not None:
        if (
            not isinstance(fields.exclude_items, list)
            or len(fields.exclude_items) > EXCLUDED_MAX
            or not all(isinstance(i, str) and 0 < len(i) <= 64 and "\x00" not in i for i in fields.exclude_items)
        ):
            bad("exclude_items", f"A list of at most {EXCLUDED_MAX} Link item ids.")
        else:
            values["exclude_items"] = list(dict.fromkeys(fields.exclude_items))
    if fields.modifiers is not None:
        if not isinstance(fields.modifiers, bool):
            bad("modifiers", "true or false.")
        else:
            values["modifiers"] = fields.modifiers
    stores = None
    if fields.stores is not None:
        from integration.selectors.stores import store_by_public_id

        if not isinstance(fields.stores, list) or not all(isinstance(s, str) for s in fields.stores):
            bad("stores", "A list of store ids (MP storefront ids); empty for every store.")
        else:
            stores = []
            for n, ref in enumerate(dict.fromkeys(fields.stores)):
                store = store_by_public_id(ref) if 0 < len(ref) <= 64 and "\x00" not in ref else None
                if store is None:
                    bad(f"stores[{n}]", f"No store {ref!r}.", "unknown")
                else:
                    stores.append(store)
    if errors:
        raise PriceRuleInvalid(errors)
    return values, stores


def _stores_touched(rule: PriceRule, before: list[int] | None) -> list[Store]:
    """The stores whose prices a change of ``rule`` may move (its stores before and after; all for an
    every-store rule), that have a published menu."""
    ids = set(rule.stores.values_list("pk", flat=True)) | set(before or ())
    menus = Menu.objects.filter(state=Menu.State.PUBLISHED).select_related("store")
    if not ids or before == []:
        return [m.store for m in menus]
    return [m.store for m in menus.filter(store__in=ids)]


def _announce(rule: PriceRule, before: list[int] | None) -> None:
    for store in _stores_touched(rule, before):
        menu_updated_announce(store.menu, "prices", price_rule=rule.pk)


def price_rule_create(fields: RuleFields, *, user=None) -> PriceRule:
    rule = PriceRule()
    values, stores = _check(fields, rule)
    with transaction.atomic():
        for name, value in values.items():
            setattr(rule, name, value)
        rule.created_by = user if user is not None and user.is_authenticated else None
        rule.save()
        rule.stores.set(stores or [])
        _announce(rule, None)
    return rule


def price_rule_update(rule: PriceRule, fields: RuleFields) -> PriceRule:
    values, stores = _check(fields, rule)
    with transaction.atomic():
        rule = PriceRule.objects.select_for_update().get(pk=rule.pk)
        before = list(rule.stores.values_list("pk", flat=True))
        for name, value in values.items():
            setattr(rule, name, value)
        rule.save()
        if stores is not None:
            rule.stores.set(stores)
        _announce(rule, before)
    return rule


def price_rule_delete(rule: PriceRule) -> None:
    with transaction.atomic():
        before = list(rule.stores.values_list("pk", flat=True))
        stores = _stores_touched(rule, before)
        rule.delete()
        for store in stores:
            menu_updated_announce(store.menu, "prices", price_rule=None)
