"""``make run``: migrate, create the demo admin, then web + django-q2 worker + Link sandbox + demo traffic.

Everything runs in the foreground; Ctrl-C stops it all. Without LINK_BASE_URL it is the demo
(LINKBRIDGE_DEMO=1: dev secrets, demo users and token). Point LINK_BASE_URL at a real Link (with
its client id, secret and webhook secrets, and SECRET_KEY) and it runs in production mode: web and
worker only, no sandbox, no demo traffic, no demo users.
"""

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dev.processes import (  # noqa: E402
    ProcessGroup,
    sandbox_argv,
    wait_http,
    web_argv,
    webhook_worker_env,
    worker_argv,
)

WEB_PORT = int(os.environ.get("PORT", "8000"))
SANDBOX_PORT = int(os.environ.get("SANDBOX_PORT", "8100"))
RECEIVER_PORT = int(os.environ.get("RECEIVER_PORT", "8200"))


def manage(*args: str, env: dict) -> None:
    """Stop ``make run`` when a step fails: manage.py has said why (a refused setting names itself)."""
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env)
    if done.returncode:
        raise SystemExit(done.returncode)


def run_env(environ) -> tuple[dict, bool]:
    """The processes' environment, and whether this is the demo (no LINK_BASE_URL given)."""
    demo = not environ.get("LINK_BASE_URL")
    env = {**environ, "PYTHONUNBUFFERED": "1"}
    # web and worker add up their counters in one directory (prometheus-client's multiprocess mode); a fresh one per run
    env.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="linkbridge-metrics-"))
    env.setdefault("LOG_LEVEL", "WARNING")  # the traffic lines tell the story; LOG_LEVEL=INFO shows every call
    if demo:
        env["LINKBRIDGE_DEMO"] = "1"
        env["LINK_BASE_URL"] = f"http://127.0.0.1:{SANDBOX_PORT}"
        env.setdefault("LINK_MENU_HOSTS", f"127.0.0.1:{SANDBOX_PORT},localhost:{SANDBOX_PORT}")
        env.setdefault("DEBUG", "1")
        env.setdefault("MP_WEBHOOK_HOSTS", f"127.0.0.1:{RECEIVER_PORT}")
    return env, demo


def missing_database(url: str | None) -> str | None:
    """The name of DATABASE_URL's PostgreSQL database when its server answers but has no such database."""
    if not url or not url.startswith(("postgres://", "postgresql://")):
        return None
    import dj_database_url
    import psycopg

    cfg = dj_database_url.parse(url)
    params = {"user": cfg["USER"] or None, "password": cfg["PASSWORD"] or None, "host": cfg["HOST"] or None}
    try:
        psycopg.connect(dbname=cfg["NAME"], port=cfg["PORT"] or None, connect_timeout=3, **params).close()
    except psycopg.OperationalError as exc:
        return cfg["NAME"] if "does not exist" in str(exc) else None
    return None


def main() -> int:
    env, demo = run_env(os.environ)
    if name := missing_database(env.get("DATABASE_URL")):
        print(f"DATABASE_URL names the database {name!r}, which its server does not have: create it", file=sys.stderr)
        print(f"(createdb {name}) or point DATABASE_URL at one that exists.", file=sys.stderr)
        return 1
    print("==> migrating the database", flush=True)
    manage("migrate", "--no-input", "-v0", env=env)
    if demo:
        manage("link_demo", "setup", env=env)

    group = ProcessGroup(env, stream=True)
    if demo:
        group.start("sandbox", sandbox_argv(SANDBOX_PORT, f"http://127.0.0.1:{WEB_PORT}/link/webhooks/", "--seed", "1"))
    group.start("web", web_argv(WEB_PORT, workers=2, threads=4))
    group.start("worker", worker_argv())
    group.start("webhooks", worker_argv(), env=webhook_worker_env(env))
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        wait_http(f"http://127.0.0.1:{WEB_PORT}/healthz/", timeout=60, group=group)
        if demo:
            wait_http(f"http://127.0.0.1:{SANDBOX_PORT}/_sandbox/health", timeout=30, group=group)
            group.start(
                "receiver",
                [
                    sys.executable,
                    "manage.py",
                    "link_demo",
                    "receiver",
                    "--port",
                    str(RECEIVER_PORT),
                    "--api",
                    f"http://127.0.0.1:{WEB_PORT}",
                ],
            )
            group.start(
                "traffic",
                [
                    sys.executable,
                    "manage.py",
                    "link_demo",
                    "traffic",
                    "--api",
                    f"http://127.0.0.1:{WEB_PORT}",
                    "--sandbox",
                    f"http://127.0.0.1:{SANDBOX_PORT}",
                ],
            )
        print(
            f"\n==> linkbridge is up: admin http://127.0.0.1:{WEB_PORT}/admin/"
            + (" (users admin/admin, ops/ops, support/support)" if demo else " (manage.py createsuperuser)")
            + f"\n    API docs http://127.0.0.1:{WEB_PORT}/api/docs/"
            + (f"  Link sandbox http://127.0.0.1:{SANDBOX_PORT}/_sandbox/venues" if demo else "")
            + "\n    Ctrl-C stops everything.\n",
            flush=True,
        )
        while not stopping:
            dead = [n for n in group.dead() if n != "traffic"]
            if dead:
                print(f"==> {', '.join(dead)} stopped unexpectedly; shutting down.", flush=True)
                return 1
            time.sleep(0.5)
    finally:
        print("\n==> stopping", flush=True)
        group.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
