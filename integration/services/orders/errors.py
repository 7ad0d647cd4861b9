"""The orders services' refusals; the API maps them to its status codes by class."""

from typing import NoReturn

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


class FieldProblems:
    """The one collector of a request's refusals: field problems are gathered (``add``), then raised
    once as ``OrderInvalid`` (``raise_if_any``), each ``{"field", "code", "message"}`` in the order found."""

    def __init__(self):
        self.problems: list[dict] = []

    def add(self, field: str, code: str, message: str) -> None:
        self.problems.append({"field": field, "code": code, "message": message})

    def raise_if_any(self, message: str, *, code: str | None = None) -> None:
        if self.problems:
            raise OrderInvalid(message, self.problems, code=code)

    def refuse(self, message: str, field: str, code: str, detail: str) -> NoReturn:
        """A problem that stops the check here (nothing after it can be judged)."""
        self.add(field, code, detail)
        raise OrderInvalid(message, self.problems)


class StoreNotAccepting(OrderError):
    code = "store_not_accepting"


class IdempotencyKeyReused(OrderError):
    code = "idempotency_key_reused"


class OrderActionRefused(OrderError):
    """The order's state does not allow the action; the message says why."""

    code = "action_not_allowed"
