"""Link's paths and outbound bodies (contract sections 1, 3 and 5); nothing else builds them."""

import ipaddress
import json
import unicodedata
from datetime import UTC
from urllib.parse import quote, urlsplit

TOKEN = "/oauth/token"
IDEMPOTENCY_HEADER = "Idempotency-Key"

# Link order statuses -> our order states.
ORDER_STATUS_TO_STATE = {
    "INIT": "PENDING",
    "SENT": "CONFIRMED",
    "IN_PREP": "IN_PREP",
    "READY": "READY",
    "REJECTED": "REJECTED",
    "CANCELLED": "CANCELLED",
}


def _seg(value: str) -> str:
    return quote(str(value), safe="")


def token_request(client_id: str, client_secret: str) -> dict:
    return {"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret}


def parse_token(body: dict) -> tuple[str, float]:
    return str(body["access_token"]), float(body.get("expires_in") or 3600)


def submit_order_path() -> str:
    return "/v2/orders"


def order_path(link_order_id: str) -> str:
    return f"/v2/orders/{_seg(link_order_id)}"


def cancel_order_path(link_order_id: str) -> str:
    return f"/v2/orders/{_seg(link_order_id)}/cancel"


def cancel_order_body(reason_code: str, reason: str) -> dict:
    return {"reason_code": reason_code, "reason": reason}


def venue_path(venue_id: str) -> str:
    return f"/v2/venues/{_seg(venue_id)}"


def venue_menu_path(venue_id: str) -> str:
    return f"/v2/venues/{_seg(venue_id)}/menu"


def pause_venue_path(venue_id: str) -> str:
    return f"/v2/venues/{_seg(venue_id)}/pause"


def pause_venue_body(reason: str, paused_until: str | None) -> dict:
    return {"reason": reason, "paused_until": paused_until}


def resume_venue_path(venue_id: str) -> str:
    return f"/v2/venues/{_seg(venue_id)}/resume"


def parse_venue(body: dict) -> dict:
    """GET /v2/venues/{id} -> the fields we align on."""
    menu = body.get("menu") or {}
    return {
        "venue_id": body.get("venue_id"),
        "name": body.get("name") or "",
        "status": body.get("status"),
        "paused_until": body.get("paused_until"),
        "accepting_orders": body.get("accepting_orders"),
        "menu_id": menu.get("menu_id"),
        "menu_version": menu.get("version"),
    }


def _is_loopback(host: str) -> bool:
    """An address on the loopback network (127.0.0.0/8, ::1), or ``localhost``: never a name that merely starts
    with ``127.`` (``127.evil.example`` is anyone's host)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _host_entry(entry: str) -> tuple[str, int | None]:
    """An allow-list entry (``host``, ``host:port``, ``[v6]`` or ``[v6]:port``) -> (host as a URL writes it, port)."""
    entry = entry.strip().lower()
    host, sep, port = entry.rpartition(":") if not entry.endswith("]") else (entry, "", "")
    if not sep or not port.isdigit() or (":" in host and not host.startswith("[")):
        return entry, None
    return host, int(port)


def url_has_unsafe_characters(url: str) -> bool:
    """Whitespace or a control character (C0, DEL, C1, format, surrogates): ``urlsplit`` silently drops tabs and
    newlines (WHATWG), so such a URL would pass a host check and then fail at every try."""
    return any(ch.isspace() or unicodedata.category(ch)[0] == "C" for ch in url)


def host_allowed(url: str, allowed_hosts: list[str], setting: str = "LINK_MENU_HOSTS") -> tuple[bool, str]:
    """Whether ``url`` may be fetched: an allow-listed host (or host:port), https unless loopback.

    Checked before any call is queued, so a bad URL is a refusal recorded on the menu (or a 422 for an MP
    endpoint), never a failed call to Link nor a mark against Link's circuit."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False, "not a valid URL"
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        return False, "not an http(s) URL"
    if url_has_unsafe_characters(url):
        return False, "the URL contains whitespace or a control character"
    if parts.username or parts.password:
        return False, "credentials in the URL are not allowed"
    if parts.scheme != "https" and not _is_loopback(host):
        return False, "https is required for non-loopback hosts"
    default_port = 443 if parts.scheme == "https" else 80
    written = f"[{host}]" if ":" in host else host  # an IPv6 address, as the URL and the allow-list write it
    for entry in allowed_hosts:
        entry_host, entry_port = _host_entry(entry)
        if entry_host == written and (port or default_port) == (entry_port or default_port):
            return True, ""
    return False, f"host {parts.netloc} is not in {setting}"


# --- orders (contract sections 3 and 5) -------------------------------------------------------

STATE_TO_ORDER_STATUS = {state: status for status, state in ORDER_STATUS_TO_STATE.items()}
# Reason codes the MP sends with a cancel; Link takes any code, these are the ones we use.
CANCEL_REASON_CODES = (
    ("CUSTOMER_REQUEST", "Customer asked to cancel"),
    ("UNACCEPTED", "Not confirmed in time"),
    ("STORE_CLOSED", "Store closed"),
    ("ITEM_UNAVAILABLE", "Item unavailable"),
    ("DUPLICATE", "Duplicate order"),
    ("FRAUD", "Suspected fraud"),
    ("OTHER", "Other"),
)
UNACCEPTED = "UNACCEPTED"
STORE_DISCONNECTED = "STORE_DISCONNECTED"
CANCELLED_BY_MP = "marketplace"


def rfc3339(value) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _modifier_body(modifier: dict) -> dict:
    return {
        "modifier_id": modifier["modifier_id"],
        "group_id": modifier["group_id"],
        "name": modifier["name"],
        "quantity": modifier["quantity"],
        "unit_price": modifier.get("link_unit_price", modifier["unit_price"]),  # Link's price (issue 27)
        "modifiers": [_modifier_body(m) for m in modifier.get("modifiers", [])],
    }


def order_body(order, lines) -> dict:
    """The Order body of ``POST /v2/orders`` from an order and its priced lines (snapshots), at Link's
    prices and totals (what the restaurant charges; ours, with the price rules' markup, stay with us)."""

    def link(value, ours):
        return ours if value is None else value  # orders placed before price rules: one price

    return {
        "external_order_id": order.external_order_id,
        "venue_id": order.store.venue_id,
        "placed_at": rfc3339(order.placed_at),
        "currency": order.currency,
        "fulfillment": {"type": order.fulfillment_type, "scheduled_for": rfc3339(order.scheduled_for)},
        "customer": {"name": order.customer_name, "phone": order.customer_phone},
        "items": [
            {
                "item_id": line.item_link_id,
                "name": line.name,
                "quantity": line.quantity,
                "unit_price": link(line.link_item_price, line.item_price),
                "special_instructions": line.special_instructions,
                "modifiers": [_modifier_body(m) for m in line.modifiers],
            }
            for line in lines
        ],
        "totals": {
            "subtotal": link(order.link_subtotal, order.subtotal),
            "tax": link(order.link_tax, order.tax),
            "tip": order.tip,
            "delivery_fee": order.delivery_fee,
            "discount": order.discount,
            "total": link(order.link_total, order.total),
        },
        "notes": order.notes,
    }


def parse_submit_response(body: dict | list | None) -> dict:
    """201 of ``POST /v2/orders`` -> Link's order id and status."""
    body = body if isinstance(body, dict) else {}
    return {"link_order_id": str(body.get("order_id") or ""), "status": str(body.get("status") or "")}


def parse_error_body(text: str) -> dict:
    """Link's error body ``{"error": {"code", "message", "details"}}``; empty values when it is not one."""
    try:
        err = json.loads(text or "").get("error")
    except (ValueError, AttributeError):
        err = None
    if not isinstance(err, dict):
        return {"code": "", "message": "", "details": {}}
    details = err.get("details")
    return {
        "code": str(err.get("code") or ""),
        "message": str(err.get("message") or ""),
        "details": details if isinstance(details, dict) else {},
    }


def refused_cancel_status(text: str) -> str:
    """The order status a 409 ``cancel_not_allowed`` names (``details.status``), if any."""
    return str(parse_error_body(text)["details"].get("status") or "")
