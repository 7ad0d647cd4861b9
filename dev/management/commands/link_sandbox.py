"""``manage.py link_sandbox``: serve the Link sandbox until Ctrl-C or SIGTERM."""

import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand

from dev.sandbox.server import SandboxServer


class Command(BaseCommand):
    help = "Run the Link sandbox: a fake Link (API, restaurants, signed webhooks) for development and tests."
    requires_system_checks = []  # it uses neither the database nor the URLconf

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8100)
        parser.add_argument("--target", default="http://127.0.0.1:8000/link/webhooks/", help="The MP's webhook URL.")
        parser.add_argument("--public-url", help="Base URL put into menu_url (default http://HOST:PORT).")
        parser.add_argument("--seed", type=int, help="Makes every random choice repeatable (default: random).")
        parser.add_argument("--token-ttl", type=float, default=3600, help="Seconds a token lives.")
        parser.add_argument(
            "--secret",
            action="append",
            dest="secrets",
            help="Webhook signing secret; repeat during a rotation (default settings.LINK_WEBHOOK_SECRETS).",
        )
        parser.add_argument("--client-id", help="Default settings.LINK_CLIENT_ID.")
        parser.add_argument("--client-secret", help="Default settings.LINK_CLIENT_SECRET.")
        parser.add_argument(
            "--webhook-max-attempts", type=int, default=20, help="Tries per webhook before giving up (default 20)."
        )
        faults = parser.add_argument_group("faults (change at run time with POST /_sandbox/faults)")
        faults.add_argument("--error-rate", type=float, default=0.0)
        faults.add_argument("--timeout-rate", type=float, default=0.0)
        faults.add_argument("--timeout-seconds", type=float, default=15.0)
        faults.add_argument("--rate-limit-rate", type=float, default=0.0)
        faults.add_argument("--latency-ms", type=int, default=0)
        faults.add_argument(
            "--rate-limit", type=int, default=0, help="Calls per second Link takes; above it 429 + Retry-After."
        )
        faults.add_argument("--outage", action="store_true", help="Start down: every call answers 503.")
        faults.add_argument("--webhook-duplicate-rate", type=float, default=0.0)
        faults.add_argument("--webhook-reorder-rate", type=float, default=0.0)
        faults.add_argument("--webhook-delay-ms", type=int, default=0)
        faults.add_argument("--faults-on-token", action="store_true", help="Apply the call faults to /oauth/token.")
        kitchen = parser.add_argument_group("restaurants (change at run time with POST /_sandbox/restaurant)")
        kitchen.add_argument("--confirm-after", type=float, default=1.0)
        kitchen.add_argument("--prep-after", type=float, default=1.0)
        kitchen.add_argument("--ready-after", type=float, default=2.0)
        kitchen.add_argument("--reject-rate", type=float, default=0.1)
        kitchen.add_argument("--cancel-rate", type=float, default=0.05)
        kitchen.add_argument("--no-auto", action="store_true", help="Restaurants act only through the control API.")

    def handle(self, *args, **options):
        fault_keys = [
            "error_rate",
            "timeout_rate",
            "timeout_seconds",
            "rate_limit_rate",
            "latency_ms",
            "webhook_duplicate_rate",
            "webhook_reorder_rate",
            "webhook_delay_ms",
            "faults_on_token",
            "rate_limit",
            "outage",
        ]
        restaurant_keys = ["confirm_after", "prep_after", "ready_after", "reject_rate", "cancel_rate"]
        server = SandboxServer(
            options["host"],
            options["port"],
            target=options["target"],
            public_url=options["public_url"],
            webhook_secrets=options["secrets"] or settings.LINK_WEBHOOK_SECRETS,
            client_id=options["client_id"] or settings.LINK_CLIENT_ID,
            client_secret=options["client_secret"] or settings.LINK_CLIENT_SECRET,
            token_ttl=options["token_ttl"],
            seed=options["seed"],
            webhook_max_attempts=options["webhook_max_attempts"],
            faults={key: options[key] for key in fault_keys},
            restaurant={"auto": not options["no_auto"], **{key: options[key] for key in restaurant_keys}},
        )
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        server.start()
        self.stdout.write(
            f"Link sandbox on {server.base_url} (webhooks to {options['target']}, seed {server.seed})", ending="\n"
        )
        self.stdout.flush()
        try:
            while not stop.wait(0.5):
                pass
        finally:
            server.stop()
        self.stdout.write("Link sandbox stopped.")
