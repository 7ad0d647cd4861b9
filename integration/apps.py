from django.apps import AppConfig


class IntegrationConfig(AppConfig):
    name = "integration"
    verbose_name = "Link integration"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from integration.services.outbox_kinds import register_call_kinds

        register_call_kinds()
