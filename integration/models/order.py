import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django_fsm import FSMField, FSMModelMixin, TransitionNotAllowed, transition
from django_fsm_log.decorators import fsm_log_by, fsm_log_description

from integration.link.routes import UNACCEPTED


def new_external_order_id() -> str:
    return f"mp_{secrets.token_hex(8)}"


def new_display_code() -> str:
    alphabet = "ACDEFGHJKLMNPQRTUVWXY34679"
    return "".join(secrets.choice(alphabet) for _ in range(6))


class TransitionOutsideMove(TransitionNotAllowed):
    """An order transition was called directly: every state change goes through
    ``integration.services.orders.transitions.move()``, which logs its cause and announces it to MP services."""


# Set on an order by ``move()`` while it runs a transition; a transition finding it unset refuses.
MOVING = "_moving_through_choke_point"


def _through_move(order: "Order", name: str) -> None:
    if not order.__dict__.get(MOVING):
        raise TransitionOutsideMove(
            f"Order.{name}() called directly: change an order's state with "
            f"integration.services.orders.transitions.move(order, {name!r}, cause), which announces it",
            object=order,
        )


class OrderQuerySet(models.QuerySet["Order"]):
    def cancel_status(self, status: str) -> "OrderQuerySet":
        """The orders whose ``cancel_status`` is ``status``: the property's rule (first match wins) in SQL."""
        state, cancel = self.model.State, self.model.CancelStatus
        rule = (
            (cancel.CANCELLED, Q(state=state.CANCELLED)),
            (cancel.REFUSED, Q(cancel_refused_at__isnull=False)),
            (cancel.REQUESTED, Q(cancel_requested_at__isnull=False, state__in=self.model.OPEN_STATES)),
            (cancel.MOOT, Q(cancel_requested_at__isnull=False)),
            (cancel.NONE, Q()),
        )
        earlier = Q()
        for candidate, condition in rule:
            if candidate == status:
                return self.filter(condition & ~earlier)
            earlier |= condition
        raise ValueError(f"unknown cancel status {status!r}")


class Order(FSMModelMixin, models.Model):
    """``state`` is protected: assigning it raises, and its transitions run only inside ``move()`` (the one
    door that logs the cause and announces the MP event). ``FSMModelMixin`` keeps ``refresh_from_db`` working.
    """

    class State(models.TextChoices):
        PENDING = "PENDING", "Pending (Link: INIT)"
        CONFIRMED = "CONFIRMED", "Confirmed (Link: SENT)"
        IN_PREP = "IN_PREP", "In preparation"
        READY = "READY", "Ready"
        REJECTED = "REJECTED", "Rejected"
        CANCELLED = "CANCELLED", "Cancelled"
        FAILED = "FAILED", "Failed (Link never took it)"

    OPEN_STATES = (State.PENDING, State.CONFIRMED, State.IN_PREP)
    FINAL_STATES = (State.READY, State.REJECTED, State.CANCELLED, State.FAILED)

    class CancelStatus(models.TextChoices):
        """Where the MP's cancel stands; derived from the state and the ``cancel_*`` fields, never stored.
        Labels only where they say more than the name."""

        NONE = "none"
        REQUESTED = "requested", "Cancel requested (waiting for Link)"
        REFUSED = "refused", "Cancel refused"
        CANCELLED = "cancelled"
        MOOT = "moot", "Ended otherwise before the cancel took effect"

    external_order_id = models.CharField(max_length=64, unique=True, default=new_external_order_id)
    link_order_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    display_code = models.CharField(max_length=8, default=new_display_code, db_index=True)
    store = models.ForeignKey(  # no index of its own: order_store_state leads with it
        "integration.Store", on_delete=models.PROTECT, related_name="orders", db_index=False
    )
    menu_version = models.PositiveIntegerField(null=True, blank=True)
    # Indexed by order_state_placed. Protected: only a transition (run by move()) changes it.
    state = FSMField(max_length=16, choices=State.choices, default=State.PENDING, protected=True)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001 (NULL = no key, unique otherwise)
    request_hash = models.CharField(max_length=64, blank=True)

    currency = models.CharField(max_length=3, default="USD")
    subtotal = models.IntegerField(default=0)
    tax = models.IntegerField(default=0)
    tip = models.IntegerField(default=0)
    delivery_fee = models.IntegerField(default=0)
    discount = models.IntegerField(default=0)
    total = models.IntegerField(default=0)
    # What Link charges us (its prices, before our price rules); null on orders placed before price rules.
    link_subtotal = models.IntegerField(null=True, blank=True)
    link_tax = models.IntegerField(null=True, blank=True)
    link_total = models.IntegerField(null=True, blank=True)
    markup = models.IntegerField(default=0, help_text="subtotal - link_subtotal: what our price rules added.")

    customer_name = models.CharField(max_length=200, blank=True)
    customer_phone = models.CharField(max_length=32, blank=True, db_index=True)
    fulfillment_type = models.CharField(max_length=16, default="pickup")
    scheduled_for = models.DateTimeField(null=True, blank=True)
    notes = models.TextField(blank=True)

    placed_at = models.DateTimeField()  # indexed with id below: the lists' order
    pending_since = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When Link took the order (its 201), else when it last became PENDING; the confirm deadline "
        "counts from here.",
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    ready_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    prep_time_minutes = models.PositiveIntegerField(null=True, blank=True)
    estimated_ready_at = models.DateTimeField(null=True, blank=True)
    link_status = models.CharField(max_length=16, blank=True)

    reason_code = models.CharField(max_length=32, blank=True)
    reason = models.TextField(blank=True)
    cancelled_by = models.CharField(max_length=16, blank=True)
    failure_reason = models.TextField(blank=True)

    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    cancel_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cancel_reason_code = models.CharField(max_length=32, blank=True)
    cancel_reason = models.TextField(blank=True)
    cancel_refused_at = models.DateTimeField(null=True, blank=True)
    cancel_refusal = models.TextField(blank=True)

    updated_at = models.DateTimeField(auto_now=True)

    objects = OrderQuerySet.as_manager()

    class Meta:
        ordering = ["-placed_at", "-id"]
        permissions = [
            ("cancel_order", "Can cancel an order"),
            ("place_order", "Can place orders through the API"),
            ("see_all_orders", "API client: sees and cancels every client's orders (back office)"),
            ("retry_order_submission", "Can retry an order's submission"),
            ("reconcile_order", "Can reconcile an order with Link"),
            ("manage_catalog", "Can manage the MP catalog: snoozes, price rules, content overrides"),
            ("manage_stores", "Can manage stores' special hours and busy mode"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["created_by", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="order_idempotency_key_unique",
            )
        ]
        indexes = [
            models.Index(fields=["state", "placed_at"], name="order_state_placed"),
            models.Index(fields=["store", "state"], name="order_store_state"),
            # The ops console: the order list's order (deep pages walk the index), its filters and the dashboard.
            models.Index(fields=["placed_at", "id"], name="order_placed_id"),
            models.Index(fields=["pending_since"], condition=models.Q(state="PENDING"), name="order_pending_since"),
            models.Index(
                fields=["cancel_requested_at"],
                condition=models.Q(cancel_requested_at__isnull=False),
                name="order_cancel_requested",
            ),
            models.Index(
                fields=["cancel_refused_at"],
                condition=models.Q(cancel_refused_at__isnull=False),
                name="order_cancel_refused",
            ),
            models.Index(
                fields=["placed_at", "id"],
                condition=models.Q(cancel_reason_code=UNACCEPTED),
                name="order_cancel_unaccepted",
            ),
            # The trends rollup finds the hours whose orders changed since it last ran (services.trends).
            models.Index(fields=["updated_at"], name="order_updated"),
            # The order board: each column's oldest open orders, read in order (a small index: open orders only).
            models.Index(
                fields=["state", "placed_at", "id"],
                condition=models.Q(state__in=["PENDING", "CONFIRMED", "IN_PREP"]),
                name="order_open_placed",
            ),
        ]

    def __str__(self):
        return f"{self.display_code} ({self.external_order_id})"

    @property
    def cancel_status(self) -> CancelStatus:
        """The rule ``Order.objects.cancel_status()`` selects by, for one loaded order."""
        if self.state == self.State.CANCELLED:
            return self.CancelStatus.CANCELLED
        if self.cancel_refused_at:
            return self.CancelStatus.REFUSED
        if self.cancel_requested_at:
            return self.CancelStatus.REQUESTED if self.state in self.OPEN_STATES else self.CancelStatus.MOOT
        return self.CancelStatus.NONE

    @fsm_log_description
    @fsm_log_by
    @transition(field=state, source=State.PENDING, target=State.CONFIRMED)
    def confirm(self, by=None, description=None):
        _through_move(self, "confirm")

    @fsm_log_description
    @fsm_log_by
    @transition(field=state, source=[State.PENDING, State.CONFIRMED], target=State.IN_PREP)
    def start_prep(self, by=None, description=None):
        _through_move(self, "start_prep")

    @fsm_log_description
    @fsm_log_by
    @transition(field=state, source=OPEN_STATES, target=State.READY)
    def mark_ready(self, by=None, description=None):
        _through_move(self, "mark_ready")

    @fsm_log_description
    @fsm_log_by
    @transition(field=state, source=OPEN_STATES, target=State.REJECTED)
    def reject(self, by=None, description=None):
        _through_move(self, "reject")

    @fsm_log_description
    @fsm_log_by
    @transition(field=state, source=OPEN_STATES, target=State.CANCELLED)
    def cancel(self, by=None, description=None):
        _through_move(self, "cancel")

    @fsm_log_description
    @fsm_log_by
    @transition(field=state, source=State.PENDING, target=State.FAILED)
    def fail(self, by=None, description=None):
        _through_move(self, "fail")

    @fsm_log_description
    @fsm_log_by
    @transition(field=state, source=State.FAILED, target=State.PENDING)
    def retry_submission(self, by=None, description=None):
        _through_move(self, "retry_submission")


class OrderLine(models.Model):
    """A line as priced at placement: the menu may change later, the order does not."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField(default=0)
    item_link_id = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField()
    item_price = models.IntegerField(default=0, help_text="The item's own menu price, minor units.")
    unit_price = models.IntegerField(help_text="Item price plus its modifiers, minor units.")
    link_item_price = models.IntegerField(null=True, blank=True, help_text="Link's price of the item.")
    link_unit_price = models.IntegerField(null=True, blank=True, help_text="Link's item price plus modifiers.")
    line_total = models.IntegerField()
    tax = models.IntegerField(default=0)
    special_instructions = models.TextField(blank=True)
    modifiers = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["order_id", "position"]

    def __str__(self):
        return f"{self.quantity} x {self.name}"
