from .heartbeat import WorkerHeartbeat
from .menu import (
    CategoryItem,
    GroupModifier,
    ItemGroup,
    Menu,
    MenuCategory,
    MenuItem,
    Modifier,
    ModifierGroup,
    ModifierNestedGroup,
)
from .menu_layer import ItemOverride, MenuVersion, PriceRule
from .notification import NotificationEvent, WebhookEndpoint
from .order import Order, OrderLine
from .outbound import CallAttempt, LinkCircuit, LinkToken, OutboundCall
from .store import Store
from .trends import TrendHour, TrendRollup
from .webhook import WebhookEvent

__all__ = [
    "CallAttempt",
    "CategoryItem",
    "GroupModifier",
    "ItemGroup",
    "ItemOverride",
    "LinkCircuit",
    "LinkToken",
    "Menu",
    "MenuCategory",
    "MenuItem",
    "MenuVersion",
    "Modifier",
    "ModifierGroup",
    "ModifierNestedGroup",
    "NotificationEvent",
    "Order",
    "OrderLine",
    "OutboundCall",
    "PriceRule",
    "Store",
    "TrendHour",
    "TrendRollup",
    "WebhookEndpoint",
    "WebhookEvent",
    "WorkerHeartbeat",
]
