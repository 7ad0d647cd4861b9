"""The registry of outbound call kinds: what the outbox does for each kind, declared in one place.

The outbox core (``outbound``) knows nothing of stores, orders or menus; each kind tells it how to
send a call, which channel the call uses, which calls must go out one at a time, how long a call
stays worth sending, and what its answer means. Kinds are registered once, from
``IntegrationConfig.ready`` (``outbox_kinds.register_call_kinds``).
"""

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from integration.http import CallResponse
from integration.link import routes
from integration.link.client import get_client
from integration.models import OutboundCall

# A success handler applies the answer (in the transaction that settles the call) and returns None to
# accept it, or a reason to reject it: the call then settles FAILED with that reason, and the failure
# handler is not called (the success handler already reacted to the answer).
SuccessHandler = Callable[[OutboundCall, CallResponse], str | None]
FailureHandler = Callable[[OutboundCall, str], None]


@dataclass(frozen=True)
class OrderingKey:
    """Calls of the kinds sharing ``group`` with the same value of ``field`` go out in creation order:
    a call is not claimed while an earlier one of its group is still pending."""

    group: str
    field: str


def link_send(call: OutboundCall, kind: "CallKind") -> CallResponse:
    """The default sender: the one hardened Link client. Raises a ``CallError`` (retriable or not)."""
    headers = {routes.IDEMPOTENCY_HEADER: call.idempotency_key} if call.idempotency_key else None
    return get_client().request(call.method, call.path, json=call.payload, headers=headers, max_bytes=kind.max_bytes)


def link_channel(call: OutboundCall) -> str:
    """The default channel: the Link host the call goes to."""
    return urlsplit(call.path).netloc or urlsplit(settings.LINK_BASE_URL).netloc


@dataclass(frozen=True)
class CallKind:
    """One kind of outbound call.

    ``send`` makes one HTTP try and returns a ``CallResponse`` or raises a ``CallError``
    (``integration.http``; its ``retriable`` decides whether the outbox tries again). ``channel`` names
    the host or endpoint the call talks to (one budget per channel). ``retry_refusal`` returns why ops
    must not send a FAILED call again by itself (its subject moved on), or None. ``deadline_setting``
    names the setting that holds how many seconds a call stays worth sending, ``claim_lease_setting``
    how many seconds a worker holds a claimed call before it counts as abandoned. ``enqueue`` hands a
    call to workers of the kind's own (e.g. MP webhook deliveries, never in the way of calls to Link);
    such a kind sweeps its own due calls, and the outbox's sweep and ``link_deliver_due`` leave them
    alone. ``to_link``: a call to Link, so its host's circuit, rate budget and drain apply (issue 12)
    and ``/metrics`` counts it as a Link call; False for a kind that talks to someone else (MP webhook
    endpoints: an endpoint that fails never opens Link's circuit nor counts as a Link failure).
    """

    kind: str
    on_success: SuccessHandler | None = None
    on_failure: FailureHandler | None = None
    retry_refusal: Callable[[OutboundCall], str | None] | None = None
    ordering_key: OrderingKey | None = None
    deadline_setting: str = "LINK_CALL_DEADLINE"
    claim_lease_setting: str = "LINK_CLAIM_LEASE"
    send: Callable[[OutboundCall, "CallKind"], CallResponse] = link_send
    channel: Callable[[OutboundCall], str] = link_channel
    max_bytes: int | None = None
    enqueue: Callable[[int], None] | None = None
    to_link: bool = True

    @property
    def deadline_seconds(self) -> int:
        return getattr(settings, self.deadline_setting)

    @property
    def claim_lease_seconds(self) -> float:
        return getattr(settings, self.claim_lease_setting)


CALL_KINDS: dict[str, CallKind] = {}


class UnregisteredCallKind(LookupError):
    """A call of a kind nobody registered: the outbox refuses it rather than settle it blindly."""


def call_kinds_register(*kinds: CallKind) -> None:
    for kind in kinds:
        CALL_KINDS[kind.kind] = kind


def call_kind(name: str) -> CallKind:
    try:
        return CALL_KINDS[name]
    except KeyError:
        raise UnregisteredCallKind(
            f"outbound call kind {name!r} is not registered (see integration/services/outbox_kinds.py)"
        ) from None


def link_kinds() -> list[str]:
    """The kinds that are calls to Link (``CallKind.to_link``)."""
    return [k.kind for k in CALL_KINDS.values() if k.to_link]


def own_queue_kinds() -> list[str]:
    return [k.kind for k in CALL_KINDS.values() if k.enqueue]


def ordered_kinds(group: str) -> list[str]:
    return [k.kind for k in CALL_KINDS.values() if k.ordering_key and k.ordering_key.group == group]
