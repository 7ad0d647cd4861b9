"""What a caller asks for when placing an order: a frozen value the API builds from its validated body."""

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class ModifierChoice:
    modifier_id: str
    group_id: str
    quantity: int = 1  # per unit of what it modifies
    modifiers: tuple["ModifierChoice", ...] = ()


@dataclass(frozen=True, kw_only=True)
class LineRequest:
    item_id: str
    quantity: int
    special_instructions: str = ""
    modifiers: tuple[ModifierChoice, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Customer:
    name: str = ""
    phone: str = ""


@dataclass(frozen=True, kw_only=True)
class Fulfillment:
    type: str = "pickup"
    scheduled_for: dt.datetime | None = None


@dataclass(frozen=True, kw_only=True)
class OrderRequest:
    store: str  # the store's external_store_id or Link venue_id
    items: tuple[LineRequest, ...]
    customer: Customer = Customer()
    fulfillment: Fulfillment = Fulfillment()
    tip: int = 0  # minor units
    notes: str = ""
