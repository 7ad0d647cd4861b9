"""Read queries shared by the API, the admin and the commands."""

from integration.models import Store


def store_accepting(store: Store) -> tuple[bool, str]:
    """Whether the store takes orders now, and if not, the first reason why."""
    if store.state == Store.State.DISCONNECTED:
        return False, "disconnected from Link"
    if store.state == Store.State.PAUSED:
        return False, f"paused: {store.pause_reason}" if store.pause_reason else "paused"
    if not store.external_store_id:
        return False, "not mapped to an MP storefront"
    return True, ""
