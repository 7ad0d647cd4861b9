"""Orders and our menu layer (issue 27): an order is priced and validated at our price (the store's
winning price rule on Link's), a hidden item is refused as ``item_unavailable``, and Link's own prices
and totals (what the restaurant charges us) are kept beside ours at placement, never recomputed.

``placement.order_place`` calls ``order_layer_apply`` on the MenuIndex before pricing,
``order_layer_refusal_code`` on its problems, and ``order_link_prices`` on the priced lines.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from integration.models import Store
from integration.selectors.menu_layer import layer_for_store

from .price_rules import price_rule_apply

ITEM_UNAVAILABLE = "item_unavailable"


def order_layer_apply(store: Store, index):
    """Reprice the rows the request names (in memory, on ``index``) at our price, keeping Link's as
    ``link_price``; mark hidden items unavailable. Returns ``index``."""
    layer = layer_for_store(store, item_ids=list(index.items))
    rule = layer.rule
    hidden = layer.hidden
    for item in index.items.values():
        item.link_price = item.price
        item.price = price_rule_apply(rule, item.price, item_id=item.link_id)
        if item.link_id in hidden:
            item.available = False
            item.hidden = True
    for modifier in index.modifiers.values():
        modifier.link_price = modifier.price
        modifier.price = price_rule_apply(rule, modifier.price)
    index.layer = layer
    return index


def order_layer_refusal_code(index, lines_requested, errors: list[dict]) -> str | None:
    """Hidden items' problems say ``item_unavailable`` (and so does the refusal); None: the usual code."""
    hidden = {
        f"items[{n}].item_id"
        for n, line in enumerate(lines_requested)
        if getattr(index.items.get(line.item_id), "hidden", False)
    }
    found = False
    for error in errors:
        if error["field"] in hidden and error["code"] == "unavailable":
            error["code"] = ITEM_UNAVAILABLE
            error["message"] = "This item is not available at this store."
            found = True
    return ITEM_UNAVAILABLE if found else None


@dataclass
class LinkLine:
    item_price: int
    unit_price: int
    line_total: int
    tax: int


@dataclass
class LinkPrices:
    lines: list[LinkLine]
    subtotal: int
    tax: int
    total: int
    markup: int

    def order_fields(self) -> dict:
        return {"link_subtotal": self.subtotal, "link_tax": self.tax, "link_total": self.total, "markup": self.markup}

    def line_fields(self, n: int) -> dict:
        return {"link_item_price": self.lines[n].item_price, "link_unit_price": self.lines[n].unit_price}


def _modifiers_link(snapshot: list[dict], index) -> int:
    """Link's price per unit of a line's modifiers; writes ``link_unit_price`` into the snapshot where it
    differs from ours (the body sent to Link reads it, else ``unit_price``)."""
    per_unit = 0
    for entry in snapshot:
        modifier = index.modifiers[entry["modifier_id"]]
        link_price = getattr(modifier, "link_price", modifier.price)
        if link_price != entry["unit_price"]:
            entry["link_unit_price"] = link_price
        per_unit += entry["quantity"] * (link_price + _modifiers_link(entry["modifiers"], index))
    return per_unit


def order_link_prices(lines, index, *, subtotal: int, tip: int) -> LinkPrices:
    """Link's side of priced lines (``pricing.PricedLine``): its prices, its per-line tax (half up on the
    line total at the item's rate, as ours), its totals; ``markup`` is our subtotal minus Link's."""
    out = []
    for line in lines:
        item_price = getattr(line.item, "link_price", line.item.price)
        unit_price = item_price + _modifiers_link(line.modifiers, index)
        total = unit_price * line.quantity
        tax = int((Decimal(total) * Decimal(line.item.tax_rate)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        out.append(LinkLine(item_price, unit_price, total, tax))
    link_subtotal = sum(line.line_total for line in out)
    link_tax = sum(line.tax for line in out)
    return LinkPrices(out, link_subtotal, link_tax, link_subtotal + link_tax + tip, subtotal - link_subtotal)
