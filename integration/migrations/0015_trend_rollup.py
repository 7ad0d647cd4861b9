"""The trends charts' hourly rollup (services.trends) and its schedule: every minute, the scheduler turns it
into a task that rolls up the hours whose orders changed and the hours whose calls to Link are over."""

from django.db import migrations, models

ROLLUP = "integration.tasks.trends_rollup"


def create_schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name="linkbridge-trends-rollup",
        defaults={"func": ROLLUP, "schedule_type": "I", "minutes": 1, "repeats": -1},
    )


def delete_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name="linkbridge-trends-rollup").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("integration", "0014_api_client_permissions"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [
        migrations.CreateModel(
            name="TrendHour",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("hour", models.DateTimeField(unique=True)),
                ("ready", models.PositiveIntegerField(default=0)),
                ("open", models.PositiveIntegerField(default=0)),
                ("rejected", models.PositiveIntegerField(default=0)),
                ("cancelled", models.PositiveIntegerField(default=0)),
                ("failed", models.PositiveIntegerField(default=0)),
                ("confirm_p50", models.FloatField(blank=True, null=True)),
                ("confirm_p90", models.FloatField(blank=True, null=True)),
                ("prep_p50", models.FloatField(blank=True, null=True)),
                ("prep_p90", models.FloatField(blank=True, null=True)),
                (
                    "orders_at",
                    models.DateTimeField(blank=True, help_text="When the order columns were computed.", null=True),
                ),
                ("call_tries", models.PositiveIntegerField(default=0)),
                ("call_ok", models.PositiveIntegerField(default=0)),
                ("latency_p50", models.FloatField(blank=True, null=True)),
                ("latency_p90", models.FloatField(blank=True, null=True)),
                (
                    "calls_at",
                    models.DateTimeField(blank=True, help_text="When the call columns were computed.", null=True),
                ),
            ],
            options={"ordering": ["hour"]},
        ),
        migrations.CreateModel(
            name="TrendRollup",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("covered_from", models.DateTimeField()),
                ("orders_seen", models.DateTimeField()),
                ("calls_until", models.DateTimeField()),
                ("ran_at", models.DateTimeField(blank=True, null=True)),
            ],
        ),
        migrations.RunPython(create_schedule, delete_schedule),
    ]
