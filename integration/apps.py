from django.apps import AppConfig


class IntegrationConfig(AppConfig):
    name = "integration"
    verbose_name = "Link integration"
    default_auto_field = "django.db.models.BigAutoField"
