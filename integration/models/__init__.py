from .availability import (
    Alert,
    AvailabilityChange,
    AvailabilityDay,
    AvailabilityLiveDay,
    AvailabilityWatermark,
    ClusterBeat,
    LinkReachability,
)
from .console import ConsoleUser, Delivery
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
from .timed import ItemSnooze, SpecialHours, StoreBusy, StoreTimelineEntry, Via
from .trends import TrendHour, TrendRollup
from .webhook import WebhookEvent

__all__ = [
    "Alert",
    "AvailabilityChange",
    "AvailabilityDay",
    "AvailabilityLiveDay",
    "AvailabilityWatermark",
    "CallAttempt",
    "CategoryItem",
    "ClusterBeat",
    "ConsoleUser",
    "Delivery",
    "GroupModifier",
    "ItemGroup",
    "ItemOverride",
    "ItemSnooze",
    "LinkCircuit",
    "LinkReachability",
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
