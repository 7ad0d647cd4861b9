"""What Link checks in an Order body (contract section 5) before it takes the order."""

from .util import parse_rfc3339

TOTAL_KEYS = ("subtotal", "tax", "tip", "delivery_fee", "discount", "total")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _line_total(line, path: str, id_key: str, problems: dict) -> int:
    """``quantity * (unit_price + one unit's modifiers)``, modifiers nested to any depth."""
    if not isinstance(line, dict):
        problems[path] = "must be an object"
        return 0
    if not isinstance(line.get(id_key), str) or not line[id_key]:
        problems[f"{path}.{id_key}"] = "is required"
    quantity, unit_price = line.get("quantity"), line.get("unit_price")
    if not _is_int(quantity) or quantity < 1:
        problems[f"{path}.quantity"] = "must be a positive integer"
        quantity = 0
    if not _is_int(unit_price) or unit_price < 0:
        problems[f"{path}.unit_price"] = "must be a non-negative integer (minor units)"
        unit_price = 0
    modifiers = line.get("modifiers", [])
    if not isinstance(modifiers, list):
        problems[f"{path}.modifiers"] = "must be a list"
        modifiers = []
    per_unit = unit_price + sum(
        _line_total(mod, f"{path}.modifiers[{n}]", "modifier_id", problems) for n, mod in enumerate(modifiers)
    )
    return quantity * per_unit


def _check_time(body: dict, key: str, label: str, problems: dict) -> None:
    value = body.get(key)
    if value is None:
        return
    try:
        parse_rfc3339(value)
    except (TypeError, ValueError, AttributeError):
        problems[label] = "must be an RFC 3339 time with a timezone"


def validate_order(body) -> dict:
    """Problems as ``{field path: message}``; empty when Link would take the order."""
    if not isinstance(body, dict):
        return {"body": "must be a JSON object"}
    problems: dict[str, str] = {}
    for key in ("external_order_id", "venue_id", "currency"):
        if not isinstance(body.get(key), str) or not body[key].strip():
            problems[key] = "is required (a non-empty string)"
    _check_time(body, "placed_at", "placed_at", problems)
    fulfillment = body.get("fulfillment")
    if not isinstance(fulfillment, dict) or fulfillment.get("type") not in ("pickup", "delivery"):
        problems["fulfillment.type"] = "must be pickup or delivery"
    else:
        _check_time(fulfillment, "scheduled_for", "fulfillment.scheduled_for", problems)

    items, subtotal = body.get("items"), 0
    if not isinstance(items, list) or not items:
        problems["items"] = "must be a non-empty list"
    else:
        subtotal = sum(_line_total(item, f"items[{n}]", "item_id", problems) for n, item in enumerate(items))

    totals = body.get("totals")
    if not isinstance(totals, dict):
        problems["totals"] = "is required"
        return problems
    for key in TOTAL_KEYS:
        if not _is_int(totals.get(key)) or totals[key] < 0:
            problems[f"totals.{key}"] = "must be a non-negative integer (minor units)"
    if problems:
        return problems
    if totals["subtotal"] != subtotal:
        problems["totals.subtotal"] = f"is {totals['subtotal']}, but the lines add up to {subtotal}"
    expected = totals["subtotal"] + totals["tax"] + totals["tip"] + totals["delivery_fee"] - totals["discount"]
    if totals["total"] != expected:
        problems["totals.total"] = (
            f"is {totals['total']}, but subtotal + tax + tip + delivery_fee - discount is {expected}"
        )
    return problems
