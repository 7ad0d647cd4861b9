import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from dev.demo import demo_receiver, demo_setup, demo_traffic


class Command(BaseCommand):
    help = (
        "The live demo: 'setup' creates the demo admin and API client; 'traffic' drives the sandbox and the API; "
        "'receiver' is a demo MP service that registers a webhook endpoint and prints every verified delivery."
    )

    def add_arguments(self, parser):
        parser.add_argument("step", choices=["setup", "traffic", "receiver"])
        parser.add_argument("--api", default="http://127.0.0.1:8000", help="linkbridge's base URL.")
        parser.add_argument("--sandbox", default="http://127.0.0.1:8100", help="The Link sandbox's base URL.")
        parser.add_argument("--every", type=float, default=3.0, help="Seconds between orders.")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--port", type=int, default=8200, help="The receiver's port (MP_WEBHOOK_HOSTS has it).")

    def handle(self, step, api, sandbox, every, seed, port, **options):
        if not settings.LINKBRIDGE_DEMO:
            raise CommandError("The demo's users and token exist only in the demo: set LINKBRIDGE_DEMO=1.")
        token = demo_setup()
        if step == "setup":
            self.stdout.write("Demo admin: user 'admin', password 'admin'. API client 'demo-traffic' is ready.")
            return
        echo = lambda line: self.stdout.write(line)  # noqa: E731
        if step == "receiver":
            try:
                demo_receiver(api, token, port=port, echo=echo)
            except (requests.RequestException, RuntimeError) as exc:
                raise CommandError(f"The demo receiver could not register at {api}: {exc}") from exc
            return
        demo_traffic(api, sandbox, token, every=every, seed=seed, echo=echo)
