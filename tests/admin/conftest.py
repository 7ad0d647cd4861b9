import pytest
from django.contrib.auth.models import Group, User

from integration.services.ops.roles import OPS, SUPPORT, roles_setup


def _member(client, username: str, group: str) -> User:
    roles_setup()
    user = User.objects.create_user(username, password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    client.force_login(user)
    return user


@pytest.fixture
def ops(client):
    """A logged-in member of "Restaurant ops" (every action)."""
    return _member(client, "ops-1", OPS)


@pytest.fixture
def support(client):
    """A logged-in member of "Support" (read only)."""
    return _member(client, "support-1", SUPPORT)


@pytest.fixture
def viewer(support):
    return support
