from . import availability, menu_layer, menus, notifications, orders, outbound, stores, webhooks  # noqa: F401  (registers the admins)
