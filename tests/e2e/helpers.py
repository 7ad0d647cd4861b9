from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token

from integration.demo import MarketplaceClient

# Link order status -> our state (contract section 3).
LINK_TO_STATE = {
    "INIT": "PENDING",
    "SENT": "CONFIRMED",
    "IN_PREP": "IN_PREP",
    "READY": "READY",
    "REJECTED": "REJECTED",
    "CANCELLED": "CANCELLED",
}


def api_client(stack, name: str = "checkout") -> MarketplaceClient:
    user, _ = User.objects.get_or_create(username=name)
    token, _ = Token.objects.get_or_create(user=user)
    return MarketplaceClient(stack.web_url, token.key)
