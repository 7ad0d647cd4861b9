import pytest

from dev.sandbox.control import SandboxControl
from dev.sandbox.server import SandboxServer
from integration.link.client import reset_client
from tests.conftest import SECRET


@pytest.fixture
def sandbox(live_server, settings):
    """The Link sandbox in this process, webhooks to live_server; calls are delivered by the test."""
    server = SandboxServer(
        target=f"{live_server.url}/link/webhooks/",
        webhook_secrets=[SECRET],
        client_id=settings.LINK_CLIENT_ID,
        client_secret=settings.LINK_CLIENT_SECRET,
        seed=4,
        restaurant={"auto": False},
    ).start()
    settings.LINK_BASE_URL = server.base_url
    reset_client()
    yield SandboxControl(server.base_url)
    server.stop()
