"""Webhook endpoints of the calling API client, and its event feed. Rules live in the services."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from integration.models import NotificationEvent, WebhookEndpoint
from integration.services.mp_events import endpoints as webhook_endpoints
from integration.services.mp_events import events as notifications
from integration.services.mp_events import feed

from .errors import ApiError, ErrorSerializer
from .orders import flatten_errors
from .permissions import owned_by_caller

FEED_LIMIT_MAX = 500
# Every API client manages its own endpoints and reads its own events; no admin role acts for a client here
# (ops use the admin), so staff sessions get 403 (api.permissions).
ANY_CLIENT = {"GET": (), "POST": (), "PATCH": (), "DELETE": ()}


def _own(request, queryset):
    """The caller's own rows: another client's endpoint or order event is absent (404), see_all_orders or not."""
    return owned_by_caller(request, queryset, owner="client", see_all=None)


class EndpointRequestSerializer(serializers.Serializer):
    url = serializers.CharField(
        max_length=2000,
        trim_whitespace=False,  # a URL sent with a newline is refused (services), not quietly repaired
        help_text="https (http only on loopback), a host in MP_WEBHOOK_HOSTS.",
    )
    event_types = serializers.ListField(
        child=serializers.CharField(max_length=40),
        min_length=1,  # (the service refuses an empty list too; here the schema says so)
        help_text=f"Any of: {', '.join(notifications.EVENT_TYPES)}.",
    )
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    enabled = serializers.BooleanField(required=False, help_text="PATCH only: false stops deliveries.")


class EndpointSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField()
    description = serializers.CharField()
    event_types = serializers.ListField(child=serializers.CharField())
    enabled = serializers.BooleanField()
    disabled_reason = serializers.CharField(help_text="Why it stopped: its client, ops, 410 Gone or days of failures.")
    failing_since = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class EndpointWithSecretSerializer(EndpointSerializer):
    secret = serializers.CharField(help_text="whsec_<base64>: shown on creation and rotation only.")
    previous_secret_until = serializers.DateTimeField(
        allow_null=True, help_text="Until then deliveries carry a signature with the previous secret too."
    )


class EventSerializer(serializers.Serializer):
    id = serializers.CharField(source="event_id", help_text="The webhook-id of its deliveries.")
    type = serializers.CharField()
    timestamp = serializers.DateTimeField()
    data = serializers.JSONField(help_text="For order events: the order as GET /orders/{id}/ shows it, plus sequence.")


class FeedQuerySerializer(serializers.Serializer):
    after = serializers.RegexField(
        r"^(0|[0-9]{1,18}-[0-9]{1,18})$",
        required=False,
        allow_blank=True,
        help_text="A `next` from an earlier page; omit to start.",
    )
    limit = serializers.IntegerField(min_value=1, max_value=FEED_LIMIT_MAX, required=False, default=100)


class EventPageSerializer(serializers.Serializer):
    data = EventSerializer(many=True)
    next = serializers.CharField(help_text="Pass as ?after= for the events after these (the same cursor when none).")


def _refused(exc: webhook_endpoints.EndpointRefused) -> ApiError:
    return ApiError(exc.status, exc.code, exc.message, exc.details)


def _valid(data, *, partial: bool = False) -> dict:
    serializer = EndpointRequestSerializer(data=data, partial=partial)
    if not serializer.is_valid():
        raise ApiError(422, "invalid_endpoint", "The endpoint has invalid fields.", flatten_errors(serializer.errors))
    return serializer.validated_data


def _own_endpoint(request, endpoint_id: int) -> WebhookEndpoint:
    """Another client's endpoint is a 404, as if absent."""
    endpoint = _own(request, WebhookEndpoint.objects.all()).filter(pk=endpoint_id).first()
    if endpoint is None:
        raise ApiError(404, "not_found", f"You have no webhook endpoint {endpoint_id}.")
    return endpoint


class EndpointListView(APIView):
    client_permissions = ANY_CLIENT

    @extend_schema(
        operation_id="webhook_endpoints_list", summary="Your webhook endpoints", responses=EndpointSerializer(many=True)
    )
    def get(self, request):
        endpoints = _own(request, WebhookEndpoint.objects.all()).order_by("id")
        return Response(EndpointSerializer(endpoints, many=True).data)

    @extend_schema(
        operation_id="webhook_endpoints_create",
        summary="Register a webhook endpoint",
        description="Deliveries follow Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature). "
        "The secret is shown in this answer only.",
        request=EndpointRequestSerializer,
        responses={201: EndpointWithSecretSerializer, 422: ErrorSerializer},
    )
    def post(self, request):
        data = _valid(request.data)
        data.pop("enabled", None)
        try:
            endpoint = webhook_endpoints.endpoint_create(request.user, **data)
        except webhook_endpoints.EndpointRefused as exc:
            raise _refused(exc) from exc
        return Response(EndpointWithSecretSerializer(endpoint).data, status=status.HTTP_201_CREATED)


class EndpointDetailView(APIView):
    client_permissions = ANY_CLIENT

    @extend_schema(operation_id="webhook_endpoints_read", responses={200: EndpointSerializer, 404: ErrorSerializer})
    def get(self, request, endpoint_id: int):
        return Response(EndpointSerializer(_own_endpoint(request, endpoint_id)).data)

    @extend_schema(
        operation_id="webhook_endpoints_update",
        request=EndpointRequestSerializer,
        responses={200: EndpointSerializer, 404: ErrorSerializer, 409: ErrorSerializer, 422: ErrorSerializer},
    )
    def patch(self, request, endpoint_id: int):
        endpoint = _own_endpoint(request, endpoint_id)
        try:
            endpoint = webhook_endpoints.endpoint_update(endpoint, **_valid(request.data, partial=True))
        except webhook_endpoints.EndpointRefused as exc:
            raise _refused(exc) from exc
        return Response(EndpointSerializer(endpoint).data)

    @extend_schema(operation_id="webhook_endpoints_delete", responses={204: None, 404: ErrorSerializer})
    def delete(self, request, endpoint_id: int):
        _own_endpoint(request, endpoint_id).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


ROTATE_DESCRIPTION = (
    "Answers the new secret. For MP_WEBHOOK_SECRET_OVERLAP_HOURS (24) every delivery is signed with both the new "
    "and the previous secret, so consumers can switch without losing a delivery."
)


class EndpointRotateView(APIView):
    client_permissions = ANY_CLIENT

    @extend_schema(
        operation_id="webhook_endpoints_rotate_secret",
        request=None,
        responses={200: EndpointWithSecretSerializer, 404: ErrorSerializer},
        summary="Rotate the signing secret",
        description=ROTATE_DESCRIPTION,
    )
    def post(self, request, endpoint_id: int):
        endpoint = webhook_endpoints.endpoint_rotate_secret(_own_endpoint(request, endpoint_id))
        return Response(EndpointWithSecretSerializer(endpoint).data)


class EventFeedView(APIView):
    client_permissions = ANY_CLIENT

    @extend_schema(
        operation_id="events_list",
        summary="Your events, oldest first",
        description="The same ids and bodies as the webhooks: your orders' events and every store and menu "
        "event. Keep `next` and ask again with ?after= to follow; events are kept RETAIN_MP_EVENT_DAYS (link_prune).",
        parameters=[FeedQuerySerializer],
        responses={200: EventPageSerializer, 400: ErrorSerializer},
    )
    def get(self, request):
        query = FeedQuerySerializer(data={k: v for k, v in request.query_params.items() if v != ""})
        if not query.is_valid():
            if "after" in query.errors:
                raise ApiError(400, "invalid_cursor", "after must be a cursor from an earlier page's `next`.")
            raise ApiError(400, "invalid_limit", f"limit must be a number between 1 and {FEED_LIMIT_MAX}.")
        after, limit = query.validated_data.get("after") or "0", query.validated_data["limit"]
        txid, _, pk = after.partition("-")
        everyones = NotificationEvent.objects.filter(client__isnull=True)
        own = _own(request, NotificationEvent.objects.filter(client__isnull=False))
        events = feed.events_page(everyones, own, after=(int(txid), int(pk or 0)), limit=limit)
        page = [{"id": e.event_id, **notifications.event_body(e)} for e in events]
        return Response({"data": page, "next": feed.feed_cursor(events[-1]) if events else after})
