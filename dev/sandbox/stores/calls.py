"""The log of every token and API call the sandbox answered (``/_sandbox/calls``)."""

import itertools
import threading
import time
from collections import deque

from ..util import HISTORY_LIMIT, rfc3339


class CallLog:
    def __init__(self, lock: threading.RLock):
        self.lock = lock
        self.calls: deque[dict] = deque(maxlen=HISTORY_LIMIT)
        self._seq = itertools.count(1)

    def record(self, method: str, path: str, query: dict, headers, body) -> dict:
        authorization = headers.get("Authorization")
        call = {
            "method": method,
            "path": path,
            "query": query,
            "headers": {
                "Authorization": f"{authorization.split(' ', 1)[0]} ***" if authorization else None,
                "Idempotency-Key": headers.get("Idempotency-Key"),
            },
            "body": body,
            "status": None,
            "fault": None,
            "at": rfc3339(),
            "ts": time.time(),
        }
        with self.lock:
            call["seq"] = next(self._seq)
            self.calls.append(call)
        return call

    def finish(self, call: dict, status: int | str, fault: str | None) -> None:
        with self.lock:
            call["status"], call["fault"] = status, fault
            call["duration_ms"] = round((time.time() - call["ts"]) * 1000, 1)

    def list(self, method: str | None = None, path_prefix: str | None = None) -> list[dict]:
        with self.lock:
            return [
                dict(call)
                for call in self.calls
                if (not method or call["method"] == method.upper())
                and (not path_prefix or call["path"].startswith(path_prefix))
            ]

    def clear(self) -> None:
        with self.lock:
            self.calls.clear()
            self._seq = itertools.count(1)
