"""Orders: pricing, placement, submission, Link's lifecycle reports, cancellation, recovery.

Every service locks the order row (``select_for_update``) before it reads the state it decides
on, so an MP cancel and a Link event racing on two threads serialize and neither loses the
other's update. Lock order: the outbox settles a call (call row locked) and then locks the order;
services that hold an order and need one of its calls take the call with ``skip_locked``, and a
call they cannot lock is being sent or settled right now ("in flight"). So no two paths wait on
each other.
"""

from integration.models import OutboundCall
from integration.services.outbound import call_handlers_register

from .cancellation import order_cancel_failed, order_cancel_succeeded
from .submission import order_submit_failed, order_submit_succeeded

call_handlers_register(
    OutboundCall.Kind.SUBMIT_ORDER, on_success=order_submit_succeeded, on_failure=order_submit_failed
)
call_handlers_register(
    OutboundCall.Kind.CANCEL_ORDER, on_success=order_cancel_succeeded, on_failure=order_cancel_failed
)
