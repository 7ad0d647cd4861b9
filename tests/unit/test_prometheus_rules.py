"""docs/operations/prometheus-alerts.yml names only metrics that /metrics exports (issue 26)."""

import re
from pathlib import Path

import pytest
import yaml

from integration import metrics
from integration.models import WorkerHeartbeat

pytestmark = pytest.mark.django_db

RULES = Path(__file__).resolve().parents[2] / "docs" / "operations" / "prometheus-alerts.yml"
SUFFIXES = ("_total", "_bucket", "_sum", "_count", "_created")


def exported() -> set[str]:
    names = set()
    for line in metrics.render().decode().splitlines():
        if line.startswith("# TYPE "):
            name, kind = line.split()[2:4]
            names.add(name)
            names.update(name + s for s in SUFFIXES if kind in ("counter", "histogram"))
    return names


def test_every_rule_names_exported_metrics():
    from django.utils import timezone

    WorkerHeartbeat.objects.create(host="w", beat_at=timezone.now())
    rules = [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]
    assert {r["alert"] for r in rules} >= {
        "LinkUnreachable",
        "StoresUnavailable",
        "OrdersFailing",
        "MpEndpointFailing",
        "ProcessSilent",
    }
    known = exported() | {m._name for m in metrics.PROCESS_REGISTRY._names_to_collectors.values()}
    known |= {g.name for g in metrics.SCRAPE_GAUGES}
    for rule in rules:
        named = set(re.findall(r"\blinkbridge_[a-z0-9_]+", rule["expr"]))
        assert named, rule["alert"]
        assert named <= known, (rule["alert"], named - known)
