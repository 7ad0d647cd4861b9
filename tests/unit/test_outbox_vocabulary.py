"""The outbox's shared vocabulary: one Retry-After parser, one worker budget, one safe enqueue, and the
MP deliveries' own settings (issue 22)."""

import importlib.util
import math
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from django.core.exceptions import ImproperlyConfigured

from dev.processes import ROOT
from integration import http
from integration.link import client as link_client
from integration.services.outbox import workers
from integration.services.outbox.workers import WorkerBudget, task_enqueue

NOW = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)


# --- Retry-After -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("0", 0.0),
        ("2.5", 2.5),
        ("-5", 0.0),  # clamped: never "sooner than now"
        ("Fri, 27 Nov 2026 12:02:00 GMT", 120.0),  # HTTP-date (IMF-fixdate)
        ("Friday, 27-Nov-26 12:00:30 GMT", 30.0),  # the obsolete RFC 850 form
        ("Fri, 27 Nov 2026 12:00:30 -0000", 30.0),  # a date without a zone is GMT, as HTTP dates are
        ("Fri, 27 Nov 2026 11:00:00 GMT", 0.0),  # a date in the past: now
    ],
)
def test_retry_after_reads_delta_seconds_and_http_dates(value, seconds):
    assert http.retry_after_seconds(value, now=NOW) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "value", [None, "", "   ", "soon", "12 seconds", "Fri, 32 Nov 2026 25:00:00 GMT", "inf", "-inf", "nan", "1e999"]
)
def test_retry_after_garbage_is_none_so_the_callers_backoff_applies(value):
    assert http.retry_after_seconds(value, now=NOW) is None


def test_retry_after_counts_from_the_clock_by_default():
    in_a_minute = format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)
    assert 55 <= http.retry_after_seconds(in_a_minute) <= 60


def test_link_and_the_deliveries_share_the_vocabulary():
    from integration.services.mp_events import deliveries

    assert link_client.LinkResponse is http.CallResponse and link_client.LinkError is http.CallError
    assert issubclass(link_client.RetriableError, http.CallError) and link_client.RetriableError.retriable
    assert issubclass(link_client.PermanentError, http.CallError) and not link_client.PermanentError.retriable
    assert not hasattr(deliveries, "_retry_after") and not hasattr(link_client, "_retry_after")


# --- the worker budget -----------------------------------------------------------------------------


def test_a_budget_allows_a_wait_and_one_more_try_within_its_share_of_the_task_timeout(settings, monkeypatch):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "timeout": 60}
    monkeypatch.setattr(workers.time, "monotonic", lambda: 1000.0)
    budget = WorkerBudget.start(worst_try=13.0)
    assert budget.ends_at == pytest.approx(1036.0)  # 60 % of 60 s
    assert budget.allows() and budget.allows(23.0)
    assert not budget.allows(23.5)
    monkeypatch.setattr(workers.time, "monotonic", lambda: 1024.0)
    assert not budget.allows()


# --- the safe enqueue ------------------------------------------------------------------------------


def test_task_enqueue_hands_the_task_to_its_cluster(monkeypatch):
    sent = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda func, *args, **options: sent.append((func, args, options)))
    assert task_enqueue("integration.tasks.deliver_call", 7, name="deliver-call-7")
    assert task_enqueue("integration.tasks.deliver_event", 8, name="deliver-event-8", cluster="site-webhooks")
    assert sent == [
        ("integration.tasks.deliver_call", (7,), {"task_name": "deliver-call-7", "save": False}),
        (
            "integration.tasks.deliver_event",
            (8,),
            {"task_name": "deliver-event-8", "save": False, "cluster": "site-webhooks"},
        ),
    ]


def test_task_enqueue_never_raises_when_the_broker_is_down(monkeypatch, caplog):
    def down(*args, **options):
        raise ConnectionError("broker down")

    monkeypatch.setattr("django_q.tasks.async_task", down)
    assert task_enqueue("integration.tasks.drain_calls", name="drain-calls") is False
    assert "could not enqueue drain-calls; the sweep will find it" in caplog.text


# --- the deliveries' own settings ------------------------------------------------------------------


def load_settings(monkeypatch, **env):
    """The settings module evaluated afresh with ``env`` (the demo mode, as the suite's)."""
    for name in ("LINK_CLAIM_LEASE", "LINK_RETRY_INLINE_MAX", "MP_WEBHOOK_CLAIM_LEASE", "MP_WEBHOOK_RETRY_INLINE_MAX"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LINKBRIDGE_DEMO", "1")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location("fresh_settings", ROOT / "linkbridge" / "settings.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("env", "lease", "inline"),
    [
        ({}, 45, 10.0),  # the defaults, as before
        ({"LINK_CLAIM_LEASE": "20", "LINK_RETRY_INLINE_MAX": "3"}, 20, 3.0),  # the old names still rule deliveries
        (
            {"LINK_CLAIM_LEASE": "20", "MP_WEBHOOK_CLAIM_LEASE": "90", "MP_WEBHOOK_RETRY_INLINE_MAX": "0"},
            90,
            0.0,
        ),  # the new names win
    ],
    ids=["defaults", "aliases", "own"],
)
def test_deliveries_have_their_own_lease_and_inline_wait_aliasing_links(monkeypatch, env, lease, inline):
    loaded = load_settings(monkeypatch, **env)
    assert (lease, inline) == (loaded.MP_WEBHOOK_CLAIM_LEASE, loaded.MP_WEBHOOK_RETRY_INLINE_MAX)
    assert int(env.get("LINK_CLAIM_LEASE", 45)) == loaded.LINK_CLAIM_LEASE
    assert math.isclose(loaded.LINK_RETRY_INLINE_MAX, float(env.get("LINK_RETRY_INLINE_MAX", 10)))


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("MP_WEBHOOK_CLAIM_LEASE", "0", "MP_WEBHOOK_CLAIM_LEASE must be at least 1, not 0."),
        ("MP_WEBHOOK_RETRY_INLINE_MAX", "soon", "MP_WEBHOOK_RETRY_INLINE_MAX must be a number, not 'soon'."),
    ],
)
def test_the_deliveries_settings_are_range_checked_naming_them(monkeypatch, name, value, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        load_settings(monkeypatch, **{name: value})


# --- the other codes made enums keep their strings ---------------------------------------------------


def test_ingest_outcomes_and_report_decisions_keep_their_strings():
    from integration.services.link_events import IngestOutcome
    from integration.services.orders.lifecycle import IGNORE, MOVE, SAME, ReportDecision

    assert [str(o) for o in IngestOutcome] == ["processed", "ignored", "failed", "duplicate", "received"]
    assert (MOVE, SAME, IGNORE) == ("move", "same", "ignore") and list(ReportDecision) == [MOVE, SAME, IGNORE]
