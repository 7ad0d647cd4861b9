import factory
from django.utils import timezone

from integration.models import OutboundCall, Store


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store

    venue_id = factory.Sequence(lambda n: f"ven_{n:04d}")
    external_store_id = factory.Sequence(lambda n: f"sf_{n:04d}")
    name = factory.Sequence(lambda n: f"Store {n}")
    timezone = "America/New_York"


class OutboundCallFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OutboundCall

    kind = OutboundCall.Kind.PAUSE_STORE
    method = "POST"
    path = "/v2/venues/ven_1/pause"
    payload = factory.LazyFunction(lambda: {"reason": "test", "paused_until": None})
    next_attempt_at = factory.LazyFunction(timezone.now)
    deadline = factory.LazyFunction(lambda: timezone.now() + timezone.timedelta(hours=1))
