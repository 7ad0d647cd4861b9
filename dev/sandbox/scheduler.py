"""One thread and a heap of timers: the restaurants' clock (no thread per order)."""

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)


class Scheduler:
    def __init__(self, name: str = "sandbox-scheduler"):
        self._name = name
        self._heap: list[tuple[float, int, str, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._running = 0  # callbacks being run right now count as pending
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread:
            self._thread.join(timeout=5)

    def call_later(self, delay: float, key: str, callback: Callable[[], None]) -> None:
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + max(0.0, delay), next(self._seq), key, callback))
            self._cond.notify_all()

    def cancel(self, key: str) -> None:
        """Forget every timer filed under ``key`` (e.g. an order the MP cancelled)."""
        with self._cond:
            kept = [entry for entry in self._heap if entry[2] != key]
            if len(kept) != len(self._heap):
                heapq.heapify(kept)
                self._heap = kept

    def clear(self) -> None:
        with self._cond:
            self._heap = []

    def pending(self) -> int:
        with self._cond:
            return len(self._heap) + self._running

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._stopping and (not self._heap or self._heap[0][0] > time.monotonic()):
                    self._cond.wait(self._heap[0][0] - time.monotonic() if self._heap else None)
                if self._stopping:
                    return
                _, _, key, callback = heapq.heappop(self._heap)
                self._running += 1
            try:
                callback()
            except Exception:
                logger.exception("sandbox timer %s failed", key)
            finally:
                with self._cond:
                    self._running -= 1
