from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token

from dev.demo import MarketplaceClient
from integration.link import routes

# Link order status -> our state (contract section 3).
LINK_TO_STATE = routes.ORDER_STATUS_TO_STATE


def api_client(stack, name: str = "checkout", url: str | None = None) -> MarketplaceClient:
    user, _ = User.objects.get_or_create(username=name)
    token, _ = Token.objects.get_or_create(user=user)
    return MarketplaceClient(url or stack.web_url, token.key)
