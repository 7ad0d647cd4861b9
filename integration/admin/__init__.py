from . import menus, orders, outbound, stores, webhooks  # noqa: F401  (registers the admins)
