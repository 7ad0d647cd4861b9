"""What every outbox worker loop shares: handing a task to django-q2 without ever failing the caller,
and the time a task may still spend before django-q2's task timeout kills it.

The loops (``calls.call_deliver``, ``drain.calls_drain``, ``deliveries.delivery_deliver``) make tries
and wait out short backoffs in place; each checks its ``WorkerBudget`` before a wait or a try, and hands
the rest to a fresh task (``task_enqueue``) rather than be killed with a try unrecorded.
"""

import logging
import time
from dataclasses import dataclass

from django.conf import settings

logger = logging.getLogger(__name__)

# The share of django-q2's task timeout a loop uses: the rest is the margin for a try's bookkeeping.
TASK_TIMEOUT_SHARE = 0.6


@dataclass(frozen=True)
class WorkerBudget:
    """The time one task may run: ``worst_try`` is how long one more try may take (its connect and read
    timeouts); ``ends_at`` is on ``time.monotonic()``'s clock."""

    worst_try: float
    ends_at: float

    @classmethod
    def start(cls, worst_try: float) -> "WorkerBudget":
        """A budget from now: a share of the task timeout (``Q_CLUSTER["timeout"]``)."""
        return cls(worst_try=worst_try, ends_at=time.monotonic() + settings.Q_CLUSTER["timeout"] * TASK_TIMEOUT_SHARE)

    def allows(self, wait: float = 0.0) -> bool:
        """Whether waiting ``wait`` seconds and then one more try still ends inside the budget."""
        return time.monotonic() + wait + self.worst_try <= self.ends_at


def task_enqueue(func: str, *args: object, name: str, cluster: str | None = None) -> bool:
    """Hand a task to django-q2 (``cluster``: an alternative cluster's queue); never raises.

    Called from ``transaction.on_commit`` hooks and loops whose change is already committed: a broker
    that is down must never fail the caller, and loses nothing (the outbox's sweeps find the rows).
    Returns whether the broker took it.
    """
    from django_q.tasks import async_task

    options: dict[str, object] = {"task_name": name, "save": False}
    if cluster is not None:
        options["cluster"] = cluster
    try:
        async_task(func, *args, **options)
    except Exception:  # the broker being down must never undo the caller's committed change
        logger.exception("could not enqueue %s; the sweep will find it", name)
        return False
    return True
