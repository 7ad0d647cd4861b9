"""The orders services' refusals; the API maps them to its status codes by class."""

from integration.services.errors import ActionRefused


class OrderError(ActionRefused):
    """A service refused; ``code`` is machine-readable, ``details`` a list of field problems or a dict."""

    code = "order_error"

    def __init__(self, message: str, details=None, *, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.details = details if details is not None else {}
        if code:
            self.code = code


class OrderInvalid(OrderError):
    code = "invalid_order"


class StoreNotAccepting(OrderError):
    code = "store_not_accepting"


class IdempotencyKeyReused(OrderError):
    code = "idempotency_key_reused"


class OrderActionRefused(OrderError):
    """The order's state does not allow the action; the message says why."""

    code = "action_not_allowed"
