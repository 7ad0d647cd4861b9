from django.core.management.base import BaseCommand

from integration.services.ops.roles import roles_setup


class Command(BaseCommand):
    help = 'Create or align the groups "Restaurant ops" (every action) and "Support" (read only). Idempotent.'

    def handle(self, **options):
        for change in roles_setup():
            parts = ["created" if change.created else "exists"]
            if change.added:
                parts.append(f"added {', '.join(change.added)}")
            if change.removed:
                parts.append(f"removed {', '.join(change.removed)}")
            if len(parts) == 1:
                parts.append("permissions already as defined")
            self.stdout.write(f"{change.group}: {'; '.join(parts)}")
