"""Issue 11 row 11: admin logins are throttled per username and address, each failure logged; ops unlock."""

import logging

import pytest
from axes.models import AccessFailureLog
from django.contrib.auth.models import User
from django.core.management import call_command

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-enough-passphrase"
LOGIN = "/admin/login/?next=/admin/"


@pytest.fixture
def staff():
    return User.objects.create_user("ops-1", password=PASSWORD, is_staff=True)


def login(client, password, address="10.0.0.1"):
    return client.post(LOGIN, {"username": "ops-1", "password": password}, REMOTE_ADDR=address)


def test_repeated_failures_lock_the_user_at_that_address_and_are_logged(client, staff, caplog):
    caplog.set_level(logging.WARNING, logger="axes")
    for n in range(4):
        assert login(client, f"wrong-{n}").status_code == 200  # the form again, with its error
    assert login(client, "wrong-4").status_code == 429  # the fifth failure locks
    assert login(client, PASSWORD).status_code == 429  # the right password no longer helps
    assert "_auth_user_id" not in client.session
    failures = [r.getMessage() for r in caplog.records if "login failure" in r.getMessage()]
    assert len(failures) >= 5 and all("ops-1" in m and "10.0.0.1" in m for m in failures)
    # five failures and the try while locked, each a row ops can read in the admin
    assert AccessFailureLog.objects.filter(username="ops-1", ip_address="10.0.0.1").count() == 6
    # another address is a different pair
    assert login(client, PASSWORD, address="10.0.0.2").status_code == 302


def test_ops_unlock_with_a_command(client, staff):
    for n in range(5):
        login(client, f"wrong-{n}")
    assert login(client, PASSWORD).status_code == 429
    call_command("axes_reset_username", "ops-1")
    assert login(client, PASSWORD).status_code == 302
    assert client.session["_auth_user_id"] == str(staff.pk)
