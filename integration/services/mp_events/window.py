"""Each endpoint's window of tries in flight (issue 24): additive increase, multiplicative decrease (AIMD).

A window starts at ``MP_WEBHOOK_CONCURRENCY`` (1 for an endpoint already failing). Each 2xx answered within
``MP_WEBHOOK_FAST_SECONDS`` grows it: by one per answer below the slow-start threshold (the window doubles
per round trip), by ``1 / window`` above it (one per round trip), up to ``MP_WEBHOOK_WINDOW_MAX``. A failed
or timed-out try, or a 2xx slower than that, halves it (never below 1) and sets the threshold there; the
tries already in flight when it halved do not halve it again (one decrease per round trip, as TCP does).

Pure state, no database and no clock of its own: the dispatcher passes ``time.monotonic()`` readings.
"""

from dataclasses import dataclass


@dataclass
class EndpointWindow:
    size: float
    maximum: int
    threshold: float = float("inf")
    decreased_at: float = float("-inf")

    @classmethod
    def start(cls, initial: int, maximum: int, *, failing: bool = False) -> "EndpointWindow":
        size = 1.0 if failing else float(max(1, min(initial, maximum)))
        return cls(size=size, maximum=max(1, maximum), threshold=1.0 if failing else float("inf"))

    @property
    def places(self) -> int:
        """How many tries may be in flight now."""
        return max(1, int(self.size))

    def answered(self, *, ok: bool, fast: bool, sent_at: float, now: float) -> None:
        """One try ended: ``ok`` a 2xx; ``fast`` within ``MP_WEBHOOK_FAST_SECONDS``; ``sent_at`` when it was sent."""
        if ok and fast:
            step = 1.0 if self.size < self.threshold else 1.0 / self.size
            self.size = min(float(self.maximum), self.size + step)
            return
        if sent_at <= self.decreased_at:  # in flight when the window last halved: already counted
            return
        self.size = max(1.0, self.size / 2)
        self.threshold = self.size
        self.decreased_at = now
