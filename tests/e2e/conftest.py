"""End-to-end tests run a real stack (``stack_factory``, in tests/conftest.py): real broker, the stack's sandbox."""

import pytest

from .harness import SECRET


@pytest.fixture
def no_broker():
    """End-to-end tests enqueue for real: the django-q2 worker process picks the tasks up."""
    return None


@pytest.fixture
def link_settings(settings):
    """The test process speaks to the same sandbox as the stack (set per stack in ``stack``)."""
    settings.LINK_WEBHOOK_SECRETS = [SECRET]
    return settings
