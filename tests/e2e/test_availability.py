"""Issue 26 end to end: availability counted to the second, and alerts that reach people once."""

import json
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from django_q.models import Schedule

from dev.processes import free_port
from integration.models import AvailabilityChange, Store
from integration.services.outbox.circuit import circuit_status
from tests.waiting import wait_for

from .helpers import api_client, open_stores, order_bodies, place_all

pytestmark = [pytest.mark.e2e, pytest.mark.postgres_only]

HELD = 20
SLACK = 3


def today(mp, store: str) -> dict:
    day = datetime.now(UTC).date().isoformat()  # the stores are in UTC
    answer = mp.get(f"/stores/{store}/availability/?from={day}&to={day}")
    assert answer.status_code == 200, answer.text
    (figures,) = answer.json()["days"]
    assert figures["accepting_seconds"] + sum(figures["unavailable_seconds"].values()) == figures["scheduled_seconds"]
    return figures


def alert_schedules(webhooks_cluster: str) -> None:
    """What migration 0040 creates (the test database is flushed between end-to-end tests)."""
    start = timezone.now()
    for name, kwargs in (
        ("linkbridge-alerts", None),
        ("linkbridge-alerts-webhooks", f"q_options={{'cluster': {webhooks_cluster!r}}}"),
    ):
        Schedule.objects.update_or_create(
            name=name,
            defaults={
                "func": "integration.tasks.alerts_evaluate",
                "schedule_type": Schedule.MINUTES,
                "minutes": 1,
                "repeats": -1,
                "kwargs": kwargs,
                "next_run": start,
            },
        )
        start += timezone.timedelta(seconds=30)


def test_paused_on_link_paused_by_ops_and_link_unreachable_count_to_the_second(stack_factory, client):
    stack = stack_factory(
        sandbox_args=("--seed", "26", "--no-auto"),
        env={"LINK_CIRCUIT_FAILURES": "1", "LINK_CIRCUIT_PROBE_INTERVAL": "1"},
    )
    mp = api_client(stack)
    catalogs = open_stores(stack, mp, 1, "av")
    store = Store.objects.get(external_store_id="sf_av0")
    assert AvailabilityChange.objects.filter(store=store, cause="").exists()

    # The restaurant pauses on Link for 20 s.
    stack.sandbox.pause_venue("ven_av0", reason="out of buns")
    wait_for(lambda: Store.objects.get(pk=store.pk).state == "PAUSED", what="Link's pause to land")
    time.sleep(HELD)
    stack.sandbox.resume_venue("ven_av0")
    wait_for(lambda: Store.objects.get(pk=store.pk).state == "ACTIVE", what="Link's resume to land")
    assert abs(today(mp, "sf_av0")["unavailable_seconds"]["paused_on_link"] - HELD) <= SLACK

    # Ops pause it through the admin action for 20 s, then resume it there.
    user = get_user_model().objects.create_superuser("ops-e2e", "ops@example.com", "x")
    client.force_login(user)
    pause = {"action": "pause_stores", "_selected_action": [store.pk], "apply": "1", "reason": "no drivers"}
    assert client.post("/admin/integration/store/", {**pause, "paused_until": ""}, follow=True).status_code == 200
    assert Store.objects.get(pk=store.pk).pause_source == "MP"
    time.sleep(HELD)
    resume = {"action": "resume_stores", "_selected_action": [store.pk]}
    assert client.post("/admin/integration/store/", resume, follow=True).status_code == 200
    assert Store.objects.get(pk=store.pk).state == "ACTIVE"
    figures = today(mp, "sf_av0")
    assert abs(figures["unavailable_seconds"]["paused_by_ops"] - HELD) <= SLACK
    wait_for(lambda: stack.sandbox.venue("ven_av0")["status"] == "ACTIVE", what="Link to hear the resume")

    # Link goes down for 20 s while the store would accept: link_unreachable, as long as the circuit stays open.
    host = urlsplit(stack.sandbox_url).netloc
    stack.sandbox.set_faults(outage=True)
    place_all(mp, order_bodies(catalogs, 1, seed=26))
    wait_for(lambda: circuit_status(host).is_open, what="the circuit to open")
    opened = time.time()
    time.sleep(HELD)
    stack.sandbox.set_faults(outage=False)
    place_all(mp, order_bodies(catalogs, 1, seed=27))  # a call to probe with
    wait_for(lambda: not circuit_status(host).is_open, timeout=30, what="the circuit to close")
    closed = time.time()
    figures = today(mp, "sf_av0")
    assert abs(figures["unavailable_seconds"]["link_unreachable"] - (closed - opened)) <= SLACK
    assert abs(figures["unavailable_seconds"]["paused_on_link"] - HELD) <= SLACK  # unchanged
    print(f"\navailability today: {figures}")


class Receiver:
    """A chat incoming webhook: keeps every JSON body posted to it."""

    def __init__(self):
        self.bodies: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                receiver.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def of(self, rule: str) -> list[str]:
        return [b["alert"]["state"] for b in self.bodies if b["alert"]["rule"] == rule]


def emails(folder: Path, rule: str) -> list[str]:
    states = []
    for path in sorted(folder.glob("*.log"), key=lambda p: p.stat().st_mtime):
        for message in path.read_text().split("\n" + "-" * 79 + "\n"):
            if f"rule: {rule}" in message:
                states += ["firing" if "state: firing" in message else "resolved"]
    return states


def test_an_outage_past_its_threshold_sends_one_firing_and_one_resolved(stack_factory, tmp_path):
    receiver = Receiver()
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    stack = stack_factory(
        sandbox_args=("--seed", "28", "--no-auto"),
        webhooks=True,
        env={
            "LINK_CIRCUIT_FAILURES": "1",
            "LINK_CIRCUIT_PROBE_INTERVAL": "1",
            "ALERT_LINK_UNREACHABLE_SECONDS": "20",
            "ALERT_WEBHOOK_URL": receiver.url,
            "ALERT_EMAILS": "oncall@example.com",
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(mail_dir),
        },
    )
    from django.conf import settings

    alert_schedules(settings.MP_WEBHOOK_CLUSTER)
    mp = api_client(stack)
    catalogs = open_stores(stack, mp, 1, "al")
    host = urlsplit(stack.sandbox_url).netloc
    stack.sandbox.set_faults(outage=True)
    place_all(mp, order_bodies(catalogs, 1, seed=28))
    wait_for(lambda: circuit_status(host).is_open, what="the circuit to open")
    wait_for(lambda: receiver.of("link_unreachable") == ["firing"], timeout=120, what="the firing alert")
    wait_for(lambda: emails(mail_dir, "link_unreachable") == ["firing"], timeout=30, what="the firing e-mail")
    stack.sandbox.set_faults(outage=False)
    place_all(mp, order_bodies(catalogs, 1, seed=29))
    wait_for(lambda: not circuit_status(host).is_open, timeout=30, what="the circuit to close")
    wait_for(lambda: "resolved" in receiver.of("link_unreachable"), timeout=180, what="the resolved alert")
    time.sleep(35)  # another evaluation or two: nothing more
    assert receiver.of("link_unreachable") == ["firing", "resolved"]
    assert emails(mail_dir, "link_unreachable") == ["firing", "resolved"]
    firing = next(b for b in receiver.bodies if b["alert"]["rule"] == "link_unreachable")
    assert firing["text"].startswith("[FIRING] Link is unreachable") and firing["alert"]["subject"] == "link"
    print(f"\nalert messages: {[b['text'] for b in receiver.bodies]}")
    receiver.server.shutdown()
