"""The ops console's roles: groups with exactly the permissions each kind of staff needs."""

from dataclasses import dataclass

from django.apps import apps as global_apps

OPS = "Restaurant ops"
SUPPORT = "Support"

# Models the console shows (inlines included: an inline needs its own view permission).
VIEWED = [
    "store",
    "menu",
    "order",
    "orderline",
    "webhookevent",
    "outboundcall",
    "callattempt",
    "webhookendpoint",
    "notificationevent",
    "alert",  # the alert history (issue 26)
    "itemsnooze",
    "specialhours",
    "storebusy",
    "storetimelineentry",
    "menuversion",
    "pricerule",
    "itemoverride",
]
ACTIONS = [
    "pause_store",
    "resume_store",
    "sync_store",
    "refresh_menu",
    "cancel_order",
    "retry_order_submission",
    "reconcile_order",
    "replay_webhookevent",
    "retry_outboundcall",
    "toggle_webhookendpoint",
    "manage_catalog",
    "manage_stores",
]
VIEW = [f"view_{model}" for model in VIEWED]
ROLES = {
    OPS: [*VIEW, "change_store", *ACTIONS],  # change_store: map a store to its MP storefront
    SUPPORT: VIEW,
}


@dataclass
class RoleChange:
    group: str
    created: bool
    added: list[str]
    removed: list[str]


def roles_setup(apps=global_apps, *, missing_ok: bool | None = None) -> list[RoleChange]:
    """Create or align the groups; idempotent. A permission added to a group by hand is removed
    again: the groups are defined here. ``apps``: a migration's historical registry.
    ``missing_ok`` (default: in a migration) grants what exists: a migration older than some models
    (0006) cannot grant their permissions, a later one (0020) grants the rest; ``link_setup_roles``
    refuses instead, naming what is missing."""
    if missing_ok is None:
        missing_ok = apps is not global_apps
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    wanted = {codename for codenames in ROLES.values() for codename in codenames}
    permissions = {
        p.codename: p
        for p in permission_model.objects.filter(content_type__app_label="integration", codename__in=wanted)
    }
    missing = wanted - permissions.keys()
    if missing and not missing_ok:
        raise LookupError(f"Permissions missing (run migrate first): {', '.join(sorted(missing))}")
    changes = []
    for name, codenames in ROLES.items():
        group, created = group_model.objects.get_or_create(name=name)
        have = set(group.permissions.values_list("codename", flat=True))
        group.permissions.set([permissions[c] for c in codenames if c in permissions])
        changes.append(RoleChange(name, created, sorted(set(codenames) - have), sorted(have - set(codenames))))
    return changes
