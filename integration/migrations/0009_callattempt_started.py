from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("integration", "0008_outbound_kinds_without_reads")]

    operations = [
        migrations.AddIndex(
            model_name="callattempt",
            index=models.Index(fields=["started_at"], name="attempt_started"),
        ),
    ]
