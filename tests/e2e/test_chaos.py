"""Issue 5: nothing is lost, nothing is done twice, under faults. Run alone with ``pytest -m chaos``.

Real processes on PostgreSQL: gunicorn (3 workers), two django-q2 clusters and the sandbox, which
answers 10% of calls with 5xx and lets 5% time out after doing the work, delivers 20% of webhooks
twice and 20% out of order. Mid-run one worker process is SIGKILLed and restarted, and Link
revokes the token.
"""

import time

import pytest

from .faults import (
    FAULTS,
    KITCHEN,
    Placing,
    assert_nothing_lost_or_doubled,
    audit,
    open_stores,
    pause_and_resume,
    wait_quiet,
)
from .helpers import api_client

pytestmark = [pytest.mark.e2e, pytest.mark.postgres_only, pytest.mark.chaos]

ORDERS = 500
STORES = 5


def test_chaos_nothing_lost_nothing_twice(stack_factory):
    started = time.monotonic()
    stack = stack_factory(
        web_workers=3,
        worker_processes=2,
        q_workers=3,
        env={"LINK_READ_TIMEOUT": "2", "LINK_CLAIM_LEASE": "8"},
        sandbox_args=("--seed", "2026", *KITCHEN),
    )
    sandbox = stack.sandbox
    mp = api_client(stack)
    bodies = open_stores(sandbox, mp, "c", STORES, ORDERS, seed=99)
    sandbox.set_faults(**FAULTS, timeout_seconds=3)
    placing = Placing([mp], bodies)

    def disturb():
        placing.wait_placed(ORDERS // 3)
        stack.kill_worker(0)
        time.sleep(2)
        stack.restart_worker(0)
        placing.wait_placed(ORDERS // 2)
        sandbox.revoke_tokens()
        pause_and_resume("ven_c4", "chaos pause", paused_for=3)

    placing.run(meanwhile=disturb)
    placed_at = time.monotonic()
    wait_quiet(sandbox, timeout=400)
    quiet_at = time.monotonic()
    sandbox.set_faults(error_rate=0, timeout_rate=0, webhook_duplicate_rate=0, webhook_reorder_rate=0)

    result = audit(sandbox, placing, "ven_c4")
    print(
        f"\nchaos: {result.summary}; placing took {placed_at - started:.0f}s, quiet after "
        f"{quiet_at - placed_at:.0f}s more; wall {time.monotonic() - started:.0f}s"
    )
    assert_nothing_lost_or_doubled(result, placing, ORDERS)
    assert sandbox.venue("ven_c4")["status"] == "ACTIVE"
