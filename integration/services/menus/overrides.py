"""Content overrides (issue 27): our name, description, image or hiding of one of Link's items at one
store. Keyed by Link's item id, independent of the menu rows, so they survive every new version; an
override whose item Link removed is kept (orphaned) and applies again when the item returns."""

from urllib.parse import urlsplit

from django.db import transaction

from integration.models import ItemOverride, Menu, Store
from integration.services.errors import ActionRefused
from integration.services.mp_events.events import menu_updated_announce

NAME_MAX = 200
DESCRIPTION_MAX = 4000
URL_MAX = 2000
ITEM_ID_MAX = 64
FIELDS = ("name", "description", "image_url", "hidden")


class OverrideInvalid(ActionRefused):
    code = "invalid_request"

    def __init__(self, errors: list[dict]):
        super().__init__("The override has invalid fields.")
        self.message = "The override has invalid fields."
        self.errors = errors


def _check(item_id: str, data: dict) -> dict:
    errors: list[dict] = []
    values: dict[str, object] = {}

    def bad(field, message, code="invalid"):
        errors.append({"field": field, "code": code, "message": message})

    if not isinstance(item_id, str) or not 0 < len(item_id) <= ITEM_ID_MAX:
        bad("item_id", f"A Link item id of 1 to {ITEM_ID_MAX} characters.")
    if not isinstance(data, dict):
        raise OverrideInvalid([{"field": "body", "code": "invalid", "message": "A JSON object."}])
    for key in set(data) - set(FIELDS):
        bad(key, f"Unknown field; give any of {', '.join(FIELDS)}.", "unknown")
    if not set(data) & set(FIELDS):
        bad("body", f"Give at least one of {', '.join(FIELDS)}.", "required")
    for key, limit in (("name", NAME_MAX), ("description", DESCRIPTION_MAX)):
        if key in data:
            value = data[key]
            if value is not None and (not isinstance(value, str) or len(value) > limit or "\x00" in value):
                bad(key, f"Text of at most {limit} characters, or null for Link's.")
            elif key == "name" and value is not None and not value.strip():
                bad(key, "A name cannot be blank (null keeps Link's).")
            else:
                values[key] = value
    if "image_url" in data:
        url = data["image_url"]
        if url is not None:
            try:
                parts = urlsplit(url) if isinstance(url, str) and len(url) <= URL_MAX else None
            except ValueError:
                parts = None
            unsafe = any(c.isspace() or c == "\x00" for c in url)
            if parts is None or unsafe or parts.scheme != "https" or not parts.hostname:
                bad("image_url", "An https:// URL (or null for Link's).")
            else:
                values["image_url"] = url
        else:
            values["image_url"] = None
    if "hidden" in data:
        if not isinstance(data["hidden"], bool):
            bad("hidden", "true or false.")
        else:
            values["hidden"] = data["hidden"]
    if errors:
        raise OverrideInvalid(errors)
    return values


def _announce(store: Store) -> None:
    menu = Menu.objects.filter(store=store, state=Menu.State.PUBLISHED).select_related("store").first()
    if menu is not None:
        menu_updated_announce(menu, "overrides")


def item_override_set(store: Store, item_id: str, data: dict, *, user=None) -> tuple[ItemOverride, bool]:
    """Create or replace the override (``PUT``: a field not given goes back to Link's). Returns
    (override, created)."""
    values = {"name": None, "description": None, "image_url": None, "hidden": False} | _check(item_id, data)
    with transaction.atomic():
        override, created = ItemOverride.objects.select_for_update().get_or_create(store=store, item_id=item_id)
        for key, value in values.items():
            setattr(override, key, value)
        override.updated_by = user if user is not None and user.is_authenticated else None
        override.save()
        _announce(store)
    return override, created


def item_override_delete(store: Store, item_id: str) -> bool:
    with transaction.atomic():
        deleted, _ = ItemOverride.objects.filter(store=store, item_id=item_id).delete()
        if deleted:
            _announce(store)
    return bool(deleted)
