"""Link's paths and outbound bodies (contract sections 1 and 3); nothing else builds them."""

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
VENUE_STATUSES = ("ACTIVE", "PAUSED", "DISCONNECTED")


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


def host_allowed(url: str, allowed_hosts: list[str]) -> tuple[bool, str]:
    """Whether ``url`` may be fetched: an allow-listed host (or host:port), https unless loopback."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False, "not a valid URL"
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        return False, "not an http(s) URL"
    if parts.username or parts.password:
        return False, "credentials in the URL are not allowed"
    loopback = host in ("localhost", "::1") or host.startswith("127.")
    if parts.scheme != "https" and not loopback:
        return False, "https is required for non-loopback hosts"
    default_port = 443 if parts.scheme == "https" else 80
    candidates = {host, f"{host}:{port or default_port}"}
    if port is None or port == default_port:
        candidates.add(host)
    for entry in allowed_hosts:
        entry = entry.strip().lower()
        if entry in candidates and (":" in entry or port in (None, default_port)):
            return True, ""
    return False, f"host {parts.netloc} is not in LINK_MENU_HOSTS"
