"""A whole linkbridge on this machine: gunicorn, django-q2 worker(s) and the Link sandbox."""

import os
import shutil
from pathlib import Path

import requests
from django.conf import settings

from dev.processes import (
    PYTHON,
    ProcessGroup,
    free_port,
    free_ports,
    honcho_argv,
    sandbox_argv,
    wait_http,
    web_argv,
    webhook_worker_env,
    worker_argv,
)

SECRET = "whsec-e2e"
METRICS_TOKEN = "metrics-e2e"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def database_url(settings_dict: dict) -> str:
    user = settings_dict.get("USER") or ""
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    host = settings_dict.get("HOST") or "localhost"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{settings_dict['NAME']}"


class Stack:
    def __init__(
        self,
        db_url: str,
        name: str,
        *,
        web_workers: int = 2,
        worker_processes: int = 1,
        q_workers: int = 4,
        sandbox_args: tuple[str, ...] = (),
        env: dict | None = None,
        procfile: str | None = None,
        webhooks: bool = False,
    ):
        """``procfile``: honcho's concurrency (``web=2,worker=2,scheduler=1``) to run the Procfile's processes
        instead of one gunicorn and ``worker_processes`` clusters."""
        self.procfile = procfile
        servers = int(dict(p.split("=") for p in procfile.split(",")).get("web", 1)) if procfile else 1
        self.web_port, self.sandbox_port = free_ports(servers), free_port()
        self.web_urls = [f"http://127.0.0.1:{self.web_port + n}" for n in range(servers)]
        self.web_url = self.web_urls[0]
        self.sandbox_url = f"http://127.0.0.1:{self.sandbox_port}"
        self.web_workers = web_workers
        self.worker_processes = worker_processes
        self.sandbox_args = sandbox_args
        self.webhooks = webhooks
        self.log_dir = ARTIFACTS / name
        metrics_dir = self.log_dir / "prometheus"  # one per stack: every process of it writes its counters here
        shutil.rmtree(metrics_dir, ignore_errors=True)
        base_env = {  # production mode (tests.settings: only a faster hasher), every required setting given; plain HTTP
            "LINKBRIDGE_DEMO": "0",
            "LINKBRIDGE_HTTPS": "0",
            "SECRET_KEY": settings.SECRET_KEY,  # the test process enqueues tasks too: django-q2 signs them with it
            "DATABASE_URL": db_url,
            "LINK_BASE_URL": self.sandbox_url,
            "LINK_MENU_HOSTS": f"127.0.0.1:{self.sandbox_port}",
            "LINK_WEBHOOK_SECRETS": SECRET,
            "LINK_CLIENT_ID": "e2e-client",
            "LINK_CLIENT_SECRET": "e2e-secret",
            "LINK_READ_TIMEOUT": "3",
            "LINK_RETRY_BASE": "0.2",
            "LINK_RETRY_MAX": "2",
            "LINK_CLAIM_LEASE": "10",
            "Q_WORKERS": str(q_workers),
            "DEBUG": "0",
            "LOG_LEVEL": "INFO",
            "METRICS_TOKEN": METRICS_TOKEN,
            "API_RATE_LIMIT": "off",  # the flows poll and fuzz with one token; the limit has its own test
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
            "BIND": "127.0.0.1",
            "PATH": f"{os.path.dirname(PYTHON)}:{os.environ.get('PATH', '')}",  # the Procfile's python and gunicorn
            **(env or {}),
        }
        self.group = ProcessGroup(base_env, log_dir=self.log_dir)

    def start(self) -> "Stack":
        from dev.sandbox.control import SandboxControl

        target = f"{self.web_url}/link/webhooks/"
        self.group.start(
            "sandbox",
            sandbox_argv(
                self.sandbox_port,
                target,
                "--secret",
                SECRET,
                "--client-id",
                "e2e-client",
                "--client-secret",
                "e2e-secret",
                *self.sandbox_args,
            ),
        )
        if self.procfile:
            self.group.start("honcho", honcho_argv(self.procfile, self.web_port), env={"WEB_WORKERS": "2"})
        else:
            self.group.start("web", web_argv(self.web_port, workers=self.web_workers))
            for i in range(self.worker_processes):
                self.group.start(f"worker{i}", worker_argv())
            if self.webhooks:  # the MP webhook deliveries' own cluster
                self.group.start("webhooks", worker_argv(), env=webhook_worker_env(self.group.env))
        wait_http(f"{self.sandbox_url}/_sandbox/health", group=self.group)
        for url in self.web_urls:
            wait_http(f"{url}/healthz/", timeout=60, group=self.group)
        self.sandbox = SandboxControl(self.sandbox_url)
        return self

    def kill_worker(self, index: int = 0) -> None:
        self.group.kill(f"worker{index}")

    def restart_worker(self, index: int = 0) -> None:
        self.group.restart(f"worker{index}")

    def stop(self) -> None:
        self.group.stop()

    def metrics(self, token: str | None = METRICS_TOKEN, url: str | None = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.get(f"{url or self.web_url}/metrics", headers=headers, timeout=10)

    def logs(self) -> str:
        return "\n".join(f"===== {name}\n{self.group.log_tail(name, 60)}" for name in self.group.procs)
