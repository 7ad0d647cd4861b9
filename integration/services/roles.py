"""The ops console's roles: groups with exactly the permissions each kind of staff needs."""

from dataclasses import dataclass

from django.apps import apps as global_apps

OPS = "Restaurant ops"
SUPPORT = "Support"

# Models the console shows (inlines included: an inline needs its own view permission).
VIEWED = ["store", "menu", "order", "orderline", "webhookevent", "outboundcall", "callattempt"]
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


def roles_setup(apps=global_apps) -> list[RoleChange]:
    """Create or align the groups; idempotent. A permission added to a group by hand is removed
    again: the groups are defined here. ``apps``: a migration's historical registry."""
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    wanted = {codename for codenames in ROLES.values() for codename in codenames}
    permissions = {
        p.codename: p
        for p in permission_model.objects.filter(content_type__app_label="integration", codename__in=wanted)
    }
    missing = wanted - permissions.keys()
    if missing:
        raise LookupError(f"Permissions missing (run migrate first): {', '.join(sorted(missing))}")
    changes = []
    for name, codenames in ROLES.items():
        group, created = group_model.objects.get_or_create(name=name)
        have = set(group.permissions.values_list("codename", flat=True))
        group.permissions.set([permissions[c] for c in codenames])
        changes.append(RoleChange(name, created, sorted(set(codenames) - have), sorted(have - set(codenames))))
    return changes
