"""Start, watch and stop the project's real processes (web, django-q2 workers, Link sandbox).

Used by ``make run`` and by the end-to-end, chaos and benchmark runs, so that what the tests
exercise is what a developer runs.
"""

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def web_argv(port: int, workers: int = 2, threads: int = 4) -> list[str]:
    return [
        PYTHON,
        "-m",
        "gunicorn",
        "linkbridge.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--timeout",
        "60",
        "--graceful-timeout",
        "5",
        "--log-level",
        "warning",
    ]


def worker_argv() -> list[str]:
    return [PYTHON, "manage.py", "qcluster"]


def honcho_argv(concurrency: str, base_port: int) -> list[str]:
    """The Procfile's processes (``web=2,worker=2,scheduler=1``); honcho gives web.N the port base_port + N - 1."""
    return [PYTHON, "-m", "honcho", "start", "-f", "Procfile", "-c", concurrency, "-p", str(base_port)]


def free_ports(n: int) -> int:
    """The first of ``n`` consecutive free ports."""
    while True:
        first = free_port()
        try:
            with contextlib.ExitStack() as held:
                for port in range(first, first + n):
                    sock = held.enter_context(socket.socket())
                    sock.bind(("127.0.0.1", port))
            return first
        except OSError:
            continue


def webhook_worker_env(env: dict | None = None) -> dict:
    """The MP webhook deliveries' own django-q2 cluster (same argv as a worker): settings.MP_WEBHOOK_CLUSTER,
    named from ``Q_NAME`` as the Procfile's ``webhooks`` process names it (no settings import here: this
    runs before the processes' environment is complete)."""
    name = (env if env is not None else os.environ).get("Q_NAME") or "linkbridge"
    return {"Q_CLUSTER_NAME": f"{name}-webhooks", "Q_SCHEDULER": "0"}


def sandbox_argv(port: int, target: str, *extra: str) -> list[str]:
    return [PYTHON, "-m", "dev.sandbox", "--port", str(port), "--target", target, *extra]


@dataclass
class Proc:
    name: str
    argv: list[str]
    env: dict
    popen: subprocess.Popen | None = None
    log_path: Path | None = None
    restarts: int = 0
    _log: object = field(default=None, repr=False)


try:
    _LIBC = ctypes.CDLL("libc.so.6", use_errno=True)
except OSError:
    _LIBC = None
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Linux: the child gets SIGTERM if the process that started it dies, even by SIGKILL."""
    if _LIBC is not None:
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _signal(proc: Proc, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.popen.pid, sig)


class ProcessGroup:
    """Each process runs in its own session so a stop (or a SIGKILL) reaches its children too."""

    def __init__(self, env: dict | None = None, log_dir: Path | None = None, stream: bool = False):
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.log_dir = log_dir
        self.stream = stream
        self.procs: dict[str, Proc] = {}
        if log_dir:
            log_dir.mkdir(parents=True, exist_ok=True)

    def start(self, name: str, argv: list[str], env: dict | None = None) -> Proc:
        proc = self.procs.get(name) or Proc(name, argv, {**self.env, **(env or {})})
        self.procs[name] = proc
        if self.log_dir:
            proc.log_path = self.log_dir / f"{name}.log"
            proc._log = open(proc.log_path, "ab")  # noqa: SIM115 (closed in stop)
            out = proc._log
        else:
            out = subprocess.PIPE if self.stream else subprocess.DEVNULL
        proc.popen = subprocess.Popen(
            proc.argv,
            cwd=ROOT,
            env=proc.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        if self.stream and not self.log_dir:
            threading.Thread(target=self._pump, args=(proc,), daemon=True).start()
        return proc

    @staticmethod
    def _pump(proc: Proc) -> None:
        for line in iter(proc.popen.stdout.readline, b""):
            sys.stdout.write(f"{proc.name:>8} | {line.decode(errors='replace')}")
            sys.stdout.flush()

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs[name]
        _signal(proc, sig)
        proc.popen.wait(timeout=15)

    def restart(self, name: str) -> Proc:
        proc = self.procs[name]
        proc.restarts += 1
        return self.start(name, proc.argv)

    def dead(self) -> list[str]:
        return [name for name, p in self.procs.items() if p.popen and p.popen.poll() is not None]

    def stop(self, timeout: float = 10) -> None:
        for proc in self.procs.values():
            if proc.popen and proc.popen.poll() is None:
                _signal(proc, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in self.procs.values():
            if not proc.popen:
                continue
            try:
                proc.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal(proc, signal.SIGKILL)
                proc.popen.wait(timeout=5)
            if proc._log:
                proc._log.close()

    def log_tail(self, name: str, lines: int = 40) -> str:
        proc = self.procs.get(name)
        if not proc or not proc.log_path or not proc.log_path.exists():
            return ""
        return "\n".join(proc.log_path.read_text(errors="replace").splitlines()[-lines:])


def wait_http(url: str, timeout: float = 30.0, group: ProcessGroup | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if group and group.dead():
            names = group.dead()
            tails = "\n".join(f"--- {n}\n{group.log_tail(n)}" for n in names)
            raise RuntimeError(f"process(es) {names} exited during start-up\n{tails}")
        try:
            if requests.get(url, timeout=1).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout}s")
