"""Webhook endpoints keep every secret a rotation replaced, each with its own expiry (issue 23 H8: a second
rotation within the overlap made the first secret stop verifying at once), and remember a disable by ops,
which only ops lift (H13)."""

from django.db import migrations, models


def previous_to_list(apps, schema_editor):
    WebhookEndpoint = apps.get_model("integration", "WebhookEndpoint")
    for endpoint in WebhookEndpoint.objects.exclude(previous_secret="").exclude(previous_secret_until=None):
        endpoint.previous_secrets = [
            {"secret": endpoint.previous_secret, "until": endpoint.previous_secret_until.isoformat()}
        ]
        endpoint.save(update_fields=["previous_secrets"])
    # A disable by ops said so in its reason (admin: "disabled by ops (<user>)").
    WebhookEndpoint.objects.filter(enabled=False, disabled_reason__startswith="disabled by ops").update(
        ops_disabled=True
    )


def list_to_previous(apps, schema_editor):
    WebhookEndpoint = apps.get_model("integration", "WebhookEndpoint")
    for endpoint in WebhookEndpoint.objects.exclude(previous_secrets=[]):
        latest = max(endpoint.previous_secrets, key=lambda p: p["until"])
        endpoint.previous_secret, endpoint.previous_secret_until = latest["secret"], latest["until"]
        endpoint.save(update_fields=["previous_secret", "previous_secret_until"])


class Migration(migrations.Migration):
    dependencies = [("integration", "0022_event_everyone_feed_index")]

    operations = [
        migrations.AddField(
            model_name="webhookendpoint",
            name="previous_secrets",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name="webhookendpoint",
            name="ops_disabled",
            field=models.BooleanField(default=False, help_text="Disabled by ops: only ops re-enable it."),
        ),
        migrations.RunPython(previous_to_list, list_to_previous),
        migrations.RemoveField(model_name="webhookendpoint", name="previous_secret"),
        migrations.RemoveField(model_name="webhookendpoint", name="previous_secret_until"),
    ]
