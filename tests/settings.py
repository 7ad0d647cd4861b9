"""The project's settings for the test suite. Only the password hasher differs: a fast one, because
tests create users by the dozen and need no protection against brute force (production keeps Django's)."""

from linkbridge.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
