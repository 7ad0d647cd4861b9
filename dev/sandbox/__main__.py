"""``python -m dev.sandbox``: the sandbox's command without installing it as an app, so a production-mode
stack (the e2e tests') can run it; the demo also has it as ``manage.py link_sandbox``."""

import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linkbridge.settings")
django.setup()

from dev.sandbox.management.commands.link_sandbox import Command  # noqa: E402

Command().run_from_argv(["manage.py", "link_sandbox", *sys.argv[1:]])
