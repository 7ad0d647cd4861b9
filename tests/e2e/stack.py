"""The pytest plugin of the tests that run a real stack (tests/e2e and tests/browser import it in their conftest).

Real broker (the stack's django-q2 worker takes the tasks), the stack's sandbox as Link, and
``stack_factory`` to start stacks on the test database.
"""

import pytest
from django.db import connection
from django_q.models import Schedule

from .harness import SECRET, Stack, database_url


@pytest.fixture
def no_broker():
    """End-to-end tests enqueue for real: the django-q2 worker process picks the tasks up."""
    return None


@pytest.fixture
def link_settings(settings):
    """The test process speaks to the same sandbox as the stack (set per stack in ``stack_factory``)."""
    settings.LINK_WEBHOOK_SECRETS = [SECRET]
    return settings


@pytest.fixture
def stack_factory(transactional_db, settings, request):
    """Start whole stacks (gunicorn, django-q2 worker, Link sandbox) on the test database."""
    stacks: list[Stack] = []

    def make(**kwargs) -> Stack:
        Schedule.objects.update_or_create(
            name="linkbridge-outbox-sweep",
            defaults={
                "func": "integration.tasks.sweep",
                "schedule_type": Schedule.MINUTES,
                "minutes": 1,
                "repeats": -1,
            },
        )
        stack = Stack(database_url(connection.settings_dict), request.node.name, **kwargs)
        stacks.append(stack)
        stack.start()
        settings.LINK_BASE_URL = stack.sandbox_url
        settings.LINK_CLIENT_ID, settings.LINK_CLIENT_SECRET = "e2e-client", "e2e-secret"
        settings.LINK_MENU_HOSTS = [f"127.0.0.1:{stack.sandbox_port}"]
        return stack

    yield make
    failed = getattr(request.node, "rep_call", None) and request.node.rep_call.failed
    for stack in stacks:
        stack.stop()
        if failed:
            print(stack.logs())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """``item.rep_call``: whether the test failed, for the fixtures that keep logs and screenshots then."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
