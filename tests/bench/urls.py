"""linkbridge's URLs plus ``/bench/store-only/``: the webhook view storing the event and applying nothing.

It is the floor under any pipeline that must store an event before answering 2xx: same signature check,
same validation, one INSERT in autocommit, no handler.
"""

from django.urls import path

from integration.api.webhooks import LinkWebhookView
from integration.link.payloads import LinkEvent
from integration.models import WebhookEvent
from integration.services.link_events import Outcome, event_from
from linkbridge.urls import urlpatterns as project_urls


def store_only(envelope: LinkEvent, raw_body: bytes, headers: dict) -> Outcome:
    event = event_from(envelope, raw_body, headers)
    created = WebhookEvent.objects.insert_if_new(event)
    return Outcome(event, duplicate=not created)


class StoreOnlyView(LinkWebhookView):
    receive = staticmethod(store_only)


urlpatterns = [*project_urls, path("bench/store-only/", StoreOnlyView.as_view())]
