from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from rest_framework.authtoken.models import Token


class Command(BaseCommand):
    help = "Create (or show) the API client NAME of the internal API and print its token."

    def add_arguments(self, parser):
        parser.add_argument("name", help="Client name, e.g. checkout-service")
        parser.add_argument("--rotate", action="store_true", help="Replace the existing token with a new one.")

    def handle(self, name, rotate, **options):
        user, created = get_user_model().objects.get_or_create(username=name, defaults={"is_active": True})
        if created:
            user.set_unusable_password()
            user.save()
        if rotate:
            Token.objects.filter(user=user).delete()
        token, _ = Token.objects.get_or_create(user=user)
        self.stderr.write(
            f"API client {name!r} {'created' if created else 'exists'}; send 'Authorization: Token <token>'."
        )
        self.stdout.write(token.key)
