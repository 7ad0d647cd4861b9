"""Shared plumbing for ``make bench``: a scratch database and a small multi-process HTTP load generator."""

import http.client
import os
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from urllib.parse import urlsplit

import dj_database_url
import psycopg

from tests.e2e.harness import database_url


def scratch_database(name: str = "linkbridge_bench") -> str:
    """Drop and recreate ``name`` next to DATABASE_URL's database; returns its URL."""
    cfg = dj_database_url.parse(os.environ["DATABASE_URL"])
    with psycopg.connect(
        dbname="postgres", user=cfg["USER"] or None, host=cfg["HOST"] or None, port=cfg["PORT"] or None, autocommit=True
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return database_url({**cfg, "NAME": name})


class Connection:
    """One keep-alive HTTP/1.1 connection to the server under test.

    ``http.client``, not requests: the load generator shares the server's two cores, and requests spent
    1.6 ms of CPU a request here against http.client's 0.4 ms (the no-op endpoint's server costs 1.1 ms)."""

    def __init__(self, base_url: str):
        parts = urlsplit(base_url)
        self.http = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)

    def post(self, path: str, body: bytes, headers: dict) -> int:
        try:
            self.http.request("POST", path, body=body, headers=headers)
            response = self.http.getresponse()
        except (http.client.HTTPException, OSError):
            self.http.close()  # the server closed a kept-alive connection; one more try on a new one
            self.http.request("POST", path, body=body, headers=headers)
            response = self.http.getresponse()
        response.read()
        return response.status


def _load_slice(
    send: Callable[[Connection, int], int], base_url: str, indexes: list[int], threads: int, rate: float | None
) -> tuple[list, dict]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    work = iter(indexes)
    started = time.perf_counter()

    def worker():
        conn = Connection(base_url)
        mine, codes = [], {}
        while True:
            with lock:
                i = next(work, None)
            if i is None:
                break
            if rate is None:
                t0 = time.perf_counter()
            else:  # paced: request i is due at i / rate, and its latency counts from then (no coordinated omission)
                t0 = started + i / rate
                time.sleep(max(0.0, t0 - time.perf_counter()))
            code = send(conn, i)
            mine.append(time.perf_counter() - t0)
            codes[code] = codes.get(code, 0) + 1
        with lock:
            latencies.extend(mine)
            for code, n in codes.items():
                statuses[code] = statuses.get(code, 0) + n

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return latencies, statuses


def load(
    send: Callable[[Connection, int], int],
    base_url: str,
    total: int,
    processes: int = 2,
    threads: int = 6,
    rate: float | None = None,
) -> dict:
    """Run ``send(connection, i)`` for every i < total from several client processes; latency figures.

    Closed loop by default: processes x threads requests always in flight, as fast as the server answers.
    With ``rate`` (requests a second), request i is sent at i / rate whatever came before, so a slow answer
    shows in the latencies of the requests behind it. ``send`` must be a module-level function (it is
    pickled to the client processes).
    """
    slices = [list(range(p, total, processes)) for p in range(processes)]
    started = time.perf_counter()
    with ProcessPoolExecutor(processes) as pool:
        results = list(
            pool.map(
                _load_slice,
                [send] * processes,
                [base_url] * processes,
                slices,
                [threads] * processes,
                [rate] * processes,
            )
        )
    wall = time.perf_counter() - started
    latencies = sorted(lat for lats, _ in results for lat in lats)
    statuses: dict[int, int] = {}
    for _, codes in results:
        for code, n in codes.items():
            statuses[code] = statuses.get(code, 0) + n
    return {
        "n": total,
        "rps": total / wall,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "statuses": statuses,
    }


def fmt(name: str, r: dict) -> str:
    return (
        f"{name:<30} {r['rps']:8.1f} req/s   p50 {r['p50_ms']:7.1f} ms   p99 {r['p99_ms']:7.1f} ms   "
        f"statuses {r['statuses']}"
    )


def cpu_seconds(pgid: int | None = None, comm: str | None = None) -> float:
    """User+system CPU of every process in process group ``pgid`` (or named ``comm``), from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        if (pgid is not None and int(fields[2]) == pgid) or (comm is not None and name.startswith(comm)):
            total += int(fields[11]) + int(fields[12])
    return total / ticks


class CpuMeter:
    """Server and database CPU spent while a block runs."""

    def __init__(self, server_pgid: int):
        self.pgid = server_pgid

    def __enter__(self):
        self.server0, self.db0 = cpu_seconds(pgid=self.pgid), cpu_seconds(comm="postgres")
        return self

    def __exit__(self, *exc):
        self.server = cpu_seconds(pgid=self.pgid) - self.server0
        self.db = cpu_seconds(comm="postgres") - self.db0

    def per_request_ms(self, n: int) -> str:
        return f"server CPU {self.server / n * 1000:.2f} ms/request, PostgreSQL CPU {self.db / n * 1000:.2f} ms/request"
