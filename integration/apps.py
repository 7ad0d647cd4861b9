from django.apps import AppConfig


class IntegrationConfig(AppConfig):
    name = "integration"
    verbose_name = "Link integration"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Service modules register their outbox call handlers on import; every process (web,
        # worker, commands) needs them, so load them all through the webhook dispatch table.
        from integration.services import webhooks  # noqa: F401
