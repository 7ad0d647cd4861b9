"""Shared plumbing for ``make bench``: a scratch database and a small multi-process HTTP load generator."""

import os
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

import dj_database_url
import psycopg
import requests

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


def _load_slice(send: Callable[[requests.Session, int], int], indexes: list[int], threads: int) -> tuple[list, dict]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    work = iter(indexes)

    def worker():
        session = requests.Session()
        mine, codes = [], {}
        while True:
            with lock:
                i = next(work, None)
            if i is None:
                break
            t0 = time.perf_counter()
            code = send(session, i)
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


def load(send: Callable[[requests.Session, int], int], total: int, processes: int = 2, threads: int = 6) -> dict:
    """Run ``send(session, i)`` for every i < total from several client processes; latency figures.

    ``send`` must be a module-level function (it is pickled to the client processes).
    """
    slices = [list(range(p, total, processes)) for p in range(processes)]
    started = time.perf_counter()
    with ProcessPoolExecutor(processes) as pool:
        results = list(pool.map(_load_slice, [send] * processes, slices, [threads] * processes))
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
