from django.core.management.base import BaseCommand, CommandError

from integration.services.ops.api_clients import CLIENT_PERMISSIONS, DEFAULT_CLIENT_PERMISSIONS, api_client_create


class Command(BaseCommand):
    help = "Create (or show) the API client NAME of the internal API and print its token."

    def add_arguments(self, parser):
        parser.add_argument("name", help="Client name, e.g. checkout-service")
        parser.add_argument("--rotate", action="store_true", help="Replace the existing token with a new one.")
        parser.add_argument(
            "--permissions",
            help=f"Comma-separated, sets exactly these: {', '.join(CLIENT_PERMISSIONS)} "
            f"(a new client gets {','.join(DEFAULT_CLIENT_PERMISSIONS)}; see_all_orders is for back-office clients).",
        )

    def handle(self, name, rotate, permissions, **options):
        wanted = None if permissions is None else [p.strip() for p in permissions.split(",") if p.strip()]
        try:
            client = api_client_create(name, permissions=wanted, rotate=rotate)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stderr.write(
            f"API client {name!r} {'created' if client.created else 'exists'} with permissions "
            f"{', '.join(client.permissions) or 'none (reads stores and menus only)'}; "
            "send 'Authorization: Token <token>'."
        )
        self.stdout.write(client.token)
