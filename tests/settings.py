"""The project's settings for the test suite, in the demo mode (each test sets the Link values it needs).

Only the password hasher differs otherwise: a fast one, because tests create users by the dozen and need
no protection against brute force (production keeps Django's). Processes the tests start inherit these
settings; the e2e Stack runs them in production mode with its own values.
"""

import os

os.environ.setdefault("LINKBRIDGE_DEMO", "1")

from linkbridge.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
