"""A request checked against the store's published menu, collecting every problem, and priced from the menu."""

from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from integration.models import GroupModifier, ItemGroup, Menu, MenuItem, Modifier, ModifierNestedGroup

from .errors import FieldProblems
from .request import LineRequest, ModifierChoice

MAX_QUANTITY = 99
MAX_TIP = 10_000_000
MAX_LINES = 100
MAX_SELECTIONS_PER_LINE = 50  # modifier choices in one line, nested ones included


@dataclass
class PricedLine:
    item: MenuItem
    quantity: int
    special_instructions: str
    modifiers: list
    unit_price: int

    @property
    def line_total(self) -> int:
        return self.unit_price * self.quantity

    @property
    def tax(self) -> int:
        """Per line, half-up to the minor unit, on the line total incl. modifiers, at the item's rate."""
        exact = Decimal(self.line_total) * Decimal(self.item.tax_rate)
        return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _count_selections(selections: tuple[ModifierChoice, ...]) -> int:
    return sum(1 + _count_selections(selection.modifiers) for selection in selections)


def _collect_modifier_ids(selections: tuple[ModifierChoice, ...], into: set) -> None:
    for selection in selections:
        into.add(selection.modifier_id)
        _collect_modifier_ids(selection.modifiers, into)


class MenuIndex:
    """The rows of a published menu that one request names, in a fixed number of queries."""

    def __init__(self, menu: Menu, items: tuple[LineRequest, ...]):
        item_ids: set[str] = set()
        modifier_ids: set[str] = set()
        for line in items:
            item_ids.add(line.item_id)
            _collect_modifier_ids(line.modifiers, modifier_ids)
        self.items = {i.link_id: i for i in MenuItem.objects.filter(menu=menu, link_id__in=item_ids)}
        self.modifiers = {m.link_id: m for m in Modifier.objects.filter(menu=menu, link_id__in=modifier_ids)}
        self.item_groups = defaultdict(list)
        for row in ItemGroup.objects.filter(item__in=[i.pk for i in self.items.values()]).select_related("group"):
            self.item_groups[row.item_id].append(row.group)
        self.nested_groups = defaultdict(list)
        nested = ModifierNestedGroup.objects.filter(modifier__in=[m.pk for m in self.modifiers.values()])
        for nesting in nested.select_related("group"):
            self.nested_groups[nesting.modifier_id].append(nesting.group)
        group_pks = {g.pk for groups in (*self.item_groups.values(), *self.nested_groups.values()) for g in groups}
        self.membership = set(
            GroupModifier.objects.filter(
                group__in=group_pks, modifier__in=[m.pk for m in self.modifiers.values()]
            ).values_list("group_id", "modifier_id")
        )


class Pricer:
    """Checks a request's lines against the menu, each problem into ``problems``, and prices them from the menu."""

    def __init__(self, index: MenuIndex, problems: FieldProblems):
        self.index = index
        self.error = problems.add

    def quantity(self, field: str, value: int) -> None:
        if not 1 <= value <= MAX_QUANTITY:
            self.error(field, "out_of_range", f"Quantity must be between 1 and {MAX_QUANTITY}; got {value}.")

    def line(self, n: int, data: LineRequest) -> PricedLine | None:
        path = f"items[{n}]"
        self.quantity(f"{path}.quantity", data.quantity)
        chosen = _count_selections(data.modifiers)
        if chosen > MAX_SELECTIONS_PER_LINE:
            self.error(
                f"{path}.modifiers",
                "too_many_selections",
                f"A line takes at most {MAX_SELECTIONS_PER_LINE} modifier selections (nested included); got {chosen}.",
            )
        item = self.index.items.get(data.item_id)
        if item is None:
            self.error(f"{path}.item_id", "unknown", f"Item {data.item_id!r} is not on this store's menu.")
            return None
        if not item.available:
            self.error(f"{path}.item_id", "unavailable", f"{item.name} ({item.link_id}) is not available right now.")
        modifiers, per_unit = self.selections(
            data.modifiers, self.index.item_groups[item.pk], path, owner=f"{item.name} ({item.link_id})"
        )
        return PricedLine(
            item=item,
            quantity=data.quantity,
            special_instructions=data.special_instructions,
            modifiers=modifiers,
            unit_price=item.price + per_unit,
        )

    def selections(
        self, selections: tuple[ModifierChoice, ...], groups: list, path: str, owner: str
    ) -> tuple[list, int]:
        """Check one level of modifier choices against the groups ``owner`` opens; (snapshot, price per unit)."""
        offered = {g.link_id: g for g in groups}
        counts = dict.fromkeys(offered, 0)
        snapshot, per_unit = [], 0
        for n, sel in enumerate(selections):
            here = f"{path}.modifiers[{n}]"
            self.quantity(f"{here}.quantity", sel.quantity)
            group = offered.get(sel.group_id)
            if group is None:
                self.error(f"{here}.group_id", "not_offered", f"Group {sel.group_id!r} is not offered for {owner}.")
            else:
                counts[group.link_id] += sel.quantity
            modifier = self.index.modifiers.get(sel.modifier_id)
            if modifier is None:
                self.error(
                    f"{here}.modifier_id", "unknown", f"Modifier {sel.modifier_id!r} is not on this store's menu."
                )
                continue
            label = f"{modifier.name} ({modifier.link_id})"
            if group is not None and (group.pk, modifier.pk) not in self.index.membership:
                self.error(
                    f"{here}.modifier_id",
                    "not_in_group",
                    f"{label} is not a choice of group {group.name} ({group.link_id}).",
                )
            elif not modifier.available:
                self.error(f"{here}.modifier_id", "unavailable", f"{label} is not available right now.")
            nested, nested_per_unit = self.selections(
                sel.modifiers, self.index.nested_groups[modifier.pk], here, owner=label
            )
            per_unit += sel.quantity * (modifier.price + nested_per_unit)
            snapshot.append(
                {
                    "modifier_id": modifier.link_id,
                    "group_id": sel.group_id,
                    "name": modifier.name,
                    "quantity": sel.quantity,
                    "unit_price": modifier.price,
                    "modifiers": nested,
                }
            )
        for group in offered.values():
            got = counts[group.link_id]
            name = f"{group.name} ({group.link_id})"
            if got < group.min_selections:
                self.error(
                    f"{path}.modifiers",
                    "group_min",
                    f"{name} needs at least {group.min_selections} selection(s) for {owner}; got {got}.",
                )
            if group.max_selections and got > group.max_selections:
                self.error(
                    f"{path}.modifiers",
                    "group_max",
                    f"{name} allows at most {group.max_selections} selection(s) for {owner}; got {got}.",
                )
        return snapshot, per_unit
