from io import StringIO

import pytest
import responses
from django.core.management import call_command, execute_from_command_line
from django.core.management.base import CommandError
from rest_framework.authtoken.models import Token

from integration.models import OutboundCall, Store, WebhookEvent
from integration.services import link_events as webhooks
from tests.conftest import LINK, store_connected
from tests.factories import OutboundCallFactory, StoreFactory

pytestmark = pytest.mark.django_db


def test_create_api_token_prints_a_working_token(client):
    out = StringIO()
    call_command("create_api_token", "checkout", stdout=out, stderr=StringIO())
    key = out.getvalue().strip()
    assert Token.objects.get(user__username="checkout").key == key
    again = StringIO()
    call_command("create_api_token", "checkout", stdout=again, stderr=StringIO())
    assert again.getvalue().strip() == key
    rotated = StringIO()
    call_command("create_api_token", "checkout", "--rotate", stdout=rotated, stderr=StringIO())
    assert rotated.getvalue().strip() != key


def test_replay_failed_events(post_event, monkeypatch):
    monkeypatch.setitem(webhooks.HANDLERS, "store.connected", lambda e, d: 1 / 0)
    post_event(store_connected("ven_1", "sf_1"))
    post_event(store_connected("ven_2", "sf_2"))
    assert WebhookEvent.objects.filter(status="FAILED").count() == 2
    monkeypatch.undo()

    out = StringIO()
    call_command("link_replay_webhooks", "--failed", "--dry-run", stdout=out, stderr=StringIO())
    assert "2 events would be replayed" in out.getvalue() and not Store.objects.exists()

    out = StringIO()
    call_command("link_replay_webhooks", "--failed", "--since", "1h", stdout=out, stderr=StringIO())
    assert "2 events: 2 applied, 0 already applied, 0 failed" in out.getvalue()
    assert Store.objects.count() == 2
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"PROCESSED"}


def test_replay_by_id_of_applied_event_changes_nothing_unless_forced(post_event):
    body = store_connected("ven_1", "sf_1")
    post_event(body)
    Store.objects.update(name="ops name")
    out = StringIO()
    call_command("link_replay_webhooks", "--ids", body["id"], stdout=out, stderr=StringIO())
    assert "1 already applied" in out.getvalue() and Store.objects.get().name == "ops name"
    call_command("link_replay_webhooks", "--ids", body["id"], "--force", stdout=StringIO(), stderr=StringIO())
    assert Store.objects.get().name == "Store ven_1"


def test_replay_bad_since_names_the_format():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="6h or 2d"):
        call_command("link_replay_webhooks", "--since", "yesterday-ish", stdout=StringIO(), stderr=StringIO())


def test_deliver_due_sends_and_summarises(mocked_link):
    mocked_link.add(responses.POST, f"{LINK}/v2/venues/ven_1/pause", json={"status": "PAUSED"})
    OutboundCallFactory()
    OutboundCallFactory()
    out = StringIO()
    call_command("link_deliver_due", "--dry-run", stdout=out, stderr=StringIO())
    assert "2 calls due; nothing sent" in out.getvalue()
    out = StringIO()
    call_command("link_deliver_due", stdout=out, stderr=StringIO())
    assert "2 due calls tried (2 succeeded)" in out.getvalue()
    assert set(OutboundCall.objects.values_list("status", flat=True)) == {"SUCCEEDED"}


def test_deliver_due_exits_non_zero_on_failure(mocked_link):
    mocked_link.add(responses.POST, f"{LINK}/v2/venues/ven_1/pause", status=400, json={})
    OutboundCallFactory()
    with pytest.raises(CommandError, match="1 of 1 calls failed") as exit_:
        call_command("link_deliver_due", stdout=StringIO(), stderr=StringIO())
    assert exit_.value.returncode == 1


def test_a_failed_run_exits_1_and_says_why_on_stderr(mocked_link, capsys):
    StoreFactory(venue_id="ven_a")
    mocked_link.add(responses.GET, f"{LINK}/v2/venues/ven_a", status=404, json={"error": {"code": "not_found"}})
    with pytest.raises(SystemExit) as exit_:
        execute_from_command_line(["manage.py", "link_sync_stores"])
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert "ven_a: " in err and "CommandError: 1 of 1 stores could not be read from Link." in err


@pytest.mark.parametrize(
    ("command", "bar"),
    [
        ("link_refresh_menus", "refreshing menus"),
        ("link_reconcile_orders", "reconciling"),
        ("link_sync_stores", "syncing"),
        ("link_replay_webhooks", "replaying"),
        ("link_deliver_due", "delivering"),
    ],
)
@pytest.mark.parametrize("verbosity", [0, 1])
def test_progress_bars_show_unless_verbosity_is_0(mocked_link, capsys, command, bar, verbosity):
    mocked_link.add(responses.POST, f"{LINK}/v2/venues/ven_1/pause", json={"status": "PAUSED"})
    OutboundCallFactory()  # something due for link_deliver_due; the others show their bar even with nothing to do
    call_command(command, verbosity=verbosity, stdout=StringIO(), stderr=StringIO())
    assert (bar in capsys.readouterr().err) == (verbosity > 0)
