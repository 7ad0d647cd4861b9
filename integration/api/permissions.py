"""Who may do what on the internal API: the one place that decides, for every view.

Two kinds of caller, two doors, one set of Django permissions:
- **API clients** authenticate with a token (``create_api_token``) and hold explicit permissions:
  ``place_order``, ``cancel_order``, ``see_all_orders``. Stores and menus are readable by every client;
  every client manages its own webhook endpoints and reads its own event feed (issue 14).
  A client sees and cancels only what it created (anything else is a 404, as if absent) unless it holds
  ``see_all_orders`` (a back-office client).
- **People** logged in to the admin (session) get on the API exactly what their admin role grants:
  ``view_store`` / ``view_menu`` / ``view_order`` to read (every order, as in the admin),
  ``cancel_order`` to cancel; no role grants ``place_order``. Only staff accounts count.

A view names what each method needs in ``client_permissions`` and ``staff_permissions``
(``{"GET": (...), "POST": (...)}``); a method it does not name is refused. Owned resources
(orders here, and anything an API client owns) are filtered with ``owned_by_caller``.
"""

from rest_framework.authtoken.models import Token
from rest_framework.permissions import BasePermission

PLACE_ORDER = "integration.place_order"
CANCEL_ORDER = "integration.cancel_order"
SEE_ALL_ORDERS = "integration.see_all_orders"
VIEW_STORE = "integration.view_store"
VIEW_MENU = "integration.view_menu"
VIEW_ORDER = "integration.view_order"
# Snoozes, price rules and content overrides (manage_catalog); special hours and busy mode (manage_stores).
MANAGE_CATALOG = "integration.manage_catalog"
MANAGE_STORES = "integration.manage_stores"

READ_METHODS = {"HEAD": "GET", "OPTIONS": "GET"}


def is_api_client(request) -> bool:
    return isinstance(request.auth, Token)


class ClientOrRole(BasePermission):
    """The API's default permission: a token client's explicit permissions, or a staff user's admin role."""

    message = "Your permissions do not allow this."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_active):
            return False
        method = READ_METHODS.get(request.method, request.method)
        if not hasattr(view, method.lower()):
            return True  # the view answers 405
        if is_api_client(request):
            needed = getattr(view, "client_permissions", {}).get(method)
        elif user.is_staff:
            needed = getattr(view, "staff_permissions", {}).get(method)
        else:
            needed = None
        return needed is not None and user.has_perms(needed)


def sees_everything(request, see_all: str | None = SEE_ALL_ORDERS) -> bool:
    """A back-office client (``see_all``; None: no client permission lifts it), or a person whose role let
    them through (the admin shows all)."""
    return not is_api_client(request) or (see_all is not None and request.user.has_perm(see_all))


def owned_by_caller(request, queryset, *, owner: str = "created_by", see_all: str | None = SEE_ALL_ORDERS):
    """The rows of ``queryset`` this caller may see and act on: its own, or all (see ``sees_everything``).
    Webhook endpoints and events pass ``see_all=None``: a client's endpoints (and their secrets) and its
    orders' events are its own, whatever else it may see."""
    if sees_everything(request, see_all):
        return queryset
    return queryset.filter(**{owner: request.user})
