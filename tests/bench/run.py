"""``make bench``: prints speed and memory figures. Run sections alone with ``BENCH=webhooks,menus``.

``BENCH=scale`` (a year of a large marketplace, see tests/bench/scale.py) takes long: it is never in the
default list, nor in CI."""

import os
import sys
import time

import django


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linkbridge.settings")
    os.environ.setdefault("LINKBRIDGE_DEMO", "1")  # dev secrets; the bench sets Link's values itself
    django.setup()
    from . import admin, availability, menu_versions, menus, notifications, orders, outage, retention, scale, webhooks

    sections = {
        "webhooks": webhooks.bench_webhooks,
        "menus": menus.bench_menus,
        "menu_versions": menu_versions.bench_menu_versions,
        "orders": orders.bench_orders,
        "admin": admin.bench_admin,
        "retention": retention.bench_retention,
        "outage": outage.bench_outage,
        "notifications": notifications.bench_notifications,
    }
    default = ",".join(sections)
    sections["scale"] = scale.bench_scale
    sections["availability"] = availability.bench_availability  # 5,000 stores, a year: BENCH=availability
    wanted = [s for s in os.environ.get("BENCH", default).split(",") if s]
    for name in wanted:
        started = time.perf_counter()
        print(f"== {name}", flush=True)
        for line in sections[name]():
            print(f"   {line}", flush=True)
        print(f"   ({time.perf_counter() - started:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
