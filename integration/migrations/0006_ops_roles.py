from django.contrib.auth.management import create_permissions
from django.db import migrations


def setup_roles(apps, schema_editor):
    # Permissions are made by a post_migrate signal, after all migrations; make them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    from integration.services.ops.roles import roles_setup

    roles_setup(apps)


def remove_roles(apps, schema_editor):
    from integration.services.ops.roles import ROLES

    apps.get_model("auth", "Group").objects.filter(name__in=list(ROLES)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("integration", "0005_ops_indexes"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(setup_roles, remove_roles)]
