"""``make run``: migrate, create the demo admin, then web + django-q2 worker + Link sandbox + demo traffic.

Everything runs in the foreground; Ctrl-C stops it all. Point LINK_BASE_URL at a real Link (with
its client id, secret and webhook secrets) and the sandbox and the demo traffic are left out.
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

from dev.processes import ProcessGroup, sandbox_argv, wait_http, web_argv, worker_argv  # noqa: E402

WEB_PORT = int(os.environ.get("PORT", "8000"))
SANDBOX_PORT = int(os.environ.get("SANDBOX_PORT", "8100"))


def manage(*args: str, env: dict) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)


def main() -> int:
    real_link = bool(os.environ.get("LINK_BASE_URL"))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    # web and worker add up their counters in one directory (prometheus-client's multiprocess mode); a fresh one per run
    env.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="linkbridge-metrics-"))
    env.setdefault("LOG_LEVEL", "WARNING")  # the traffic lines tell the story; LOG_LEVEL=INFO shows every call
    if not real_link:
        env.setdefault("LINK_BASE_URL", f"http://127.0.0.1:{SANDBOX_PORT}")
        env.setdefault("LINK_MENU_HOSTS", f"127.0.0.1:{SANDBOX_PORT},localhost:{SANDBOX_PORT}")
        env.setdefault("DEBUG", "1")
    print("==> migrating the database", flush=True)
    manage("migrate", "--no-input", "-v0", env=env)
    manage("link_demo", "setup", env=env)

    group = ProcessGroup(env, stream=True)
    if not real_link:
        group.start("sandbox", sandbox_argv(SANDBOX_PORT, f"http://127.0.0.1:{WEB_PORT}/link/webhooks/", "--seed", "1"))
    group.start("web", web_argv(WEB_PORT, workers=2, threads=4))
    group.start("worker", worker_argv())
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        wait_http(f"http://127.0.0.1:{WEB_PORT}/healthz/", timeout=60, group=group)
        if not real_link:
            wait_http(f"http://127.0.0.1:{SANDBOX_PORT}/_sandbox/health", timeout=30, group=group)
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
            " (users admin/admin, ops/ops, support/support)"
            f"\n    API docs http://127.0.0.1:{WEB_PORT}/api/docs/"
            + ("" if real_link else f"  Link sandbox http://127.0.0.1:{SANDBOX_PORT}/_sandbox/venues")
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
