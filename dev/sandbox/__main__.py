"""``python -m dev.sandbox``: the sandbox's command without installing the dev app, so that a production-mode
stack (the e2e tests') can run it; the demo also has it as ``manage.py link_sandbox``."""

import os
import sys

import django
from django.core.exceptions import ImproperlyConfigured

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linkbridge.settings")
try:
    django.setup()
except ImproperlyConfigured as exc:
    sys.exit(f"linkbridge refuses to start: {exc}")

from dev.management.commands.link_sandbox import Command

Command().run_from_argv(["manage.py", "link_sandbox", *sys.argv[1:]])
