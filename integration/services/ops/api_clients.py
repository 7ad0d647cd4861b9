"""Internal API clients: a user without a password, a token, and explicit permissions."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import transaction
from rest_framework.authtoken.models import Token

# What a client may be given (codenames of integration's permissions), and what a new one gets.
CLIENT_PERMISSIONS = ("place_order", "cancel_order", "see_all_orders", "manage_catalog")
DEFAULT_CLIENT_PERMISSIONS = ("place_order", "cancel_order")


@dataclass
class ApiClient:
    token: str
    created: bool
    permissions: list[str]


def api_client_create(name: str, *, permissions=None, rotate: bool = False) -> ApiClient:
    """Create (or find) client ``name`` and its token. ``permissions`` sets exactly those; None keeps an
    existing client's and gives a new one DEFAULT_CLIENT_PERMISSIONS. ``rotate`` replaces the token."""
    unknown = set(permissions or ()) - set(CLIENT_PERMISSIONS)
    if unknown:
        raise ValueError(
            f"Unknown permission(s) {', '.join(sorted(unknown))}; choose from {', '.join(CLIENT_PERMISSIONS)}."
        )
    with transaction.atomic():
        user, created = get_user_model().objects.get_or_create(username=name, defaults={"is_active": True})
        if created:
            user.set_unusable_password()
            user.save()
        if permissions is not None or created:
            wanted = DEFAULT_CLIENT_PERMISSIONS if permissions is None else permissions
            user.user_permissions.set(
                Permission.objects.filter(content_type__app_label="integration", codename__in=wanted)
            )
        if rotate:
            Token.objects.filter(user=user).delete()
        token, _ = Token.objects.get_or_create(user=user)
    granted = user.user_permissions.filter(codename__in=CLIENT_PERMISSIONS).values_list("codename", flat=True)
    return ApiClient(token.key, created, sorted(granted))
