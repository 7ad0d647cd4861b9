from . import menus, outbound, stores, webhooks  # noqa: F401  (registers the admins)
