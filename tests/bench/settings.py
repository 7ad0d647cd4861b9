"""The project's settings with the bench-only URLs (``tests.bench.urls``); only ``make bench`` uses them."""

from linkbridge.settings import *  # noqa: F403

ROOT_URLCONF = "tests.bench.urls"
