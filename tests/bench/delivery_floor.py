"""The MP deliveries bench's floor (issue 24): a plain concurrent httpx POST loop to a receiver, no database, no
Django, in a process of its own. ``python -m tests.bench.delivery_floor URL SECRET COUNT CONCURRENCY``: posts/s."""

import asyncio
import json
import sys
import time

STORE = {"store": {"external_store_id": "sf_bench", "venue_id": "ven_bench", "name": "Bench"}, "accepting": True}


async def _floor_posts(url: str, bodies: list[tuple[bytes, dict]], concurrency: int) -> float:
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30, trust_env=False) as client:
        work = iter(bodies)

        async def worker():
            for body, headers in work:
                async with client.stream("POST", url, content=body, headers=headers) as response:
                    await response.aread()

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return len(bodies) / (time.perf_counter() - t0)


def floor_main(url: str, secret: str, count: int, concurrency: int) -> None:
    from datetime import UTC, datetime

    from standardwebhooks import Webhook

    now = datetime.now(UTC)
    bodies = []
    for i in range(count):
        body = json.dumps({"type": "store.accepting_changed", "timestamp": now.isoformat(), "data": STORE})
        msg = f"msg_floor{i}"
        headers = {
            "content-type": "application/json",
            "webhook-id": msg,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": Webhook(secret).sign(msg, now, body),
        }
        bodies.append((body.encode(), headers))
    print(f"{asyncio.run(_floor_posts(url, bodies, concurrency)):.1f}")


if __name__ == "__main__":
    floor_main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
