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
from .notification import NotificationEvent, WebhookEndpoint
from .order import Order, OrderLine
from .outbound import CallAttempt, LinkCircuit, LinkToken, OutboundCall
from .store import Store
from .timed import ItemSnooze, SpecialHours, StoreBusy, StoreTimelineEntry, Via
from .trends import TrendHour, TrendRollup
from .webhook import WebhookEvent

__all__ = [
    "CallAttempt",
    "CategoryItem",
    "GroupModifier",
    "ItemGroup",
    "ItemSnooze",
    "LinkCircuit",
    "LinkToken",
    "Menu",
    "MenuCategory",
    "MenuItem",
    "Modifier",
    "ModifierGroup",
    "ModifierNestedGroup",
    "NotificationEvent",
    "Order",
    "OrderLine",
    "OutboundCall",
    "SpecialHours",
    "Store",
    "StoreBusy",
    "StoreTimelineEntry",
    "TrendHour",
    "TrendRollup",
    "Via",
    "WebhookEndpoint",
    "WebhookEvent",
    "WorkerHeartbeat",
]
