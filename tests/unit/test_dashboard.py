"""The Grafana dashboard in docs/ charts every metric linkbridge exposes, and only those."""

import json
import re
from pathlib import Path

from integration import metrics

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana-dashboard.json"


def exposed_names() -> set[str]:
    names = {m.name for m in metrics.PROCESS_REGISTRY.collect()}
    names |= {g.name for g in metrics.SCRAPE_GAUGES}
    return {re.sub(r"_total$", "", n) for n in names}


def test_dashboard_queries_every_metric_and_no_other():
    panels = json.loads(DASHBOARD.read_text())["panels"]
    exprs = [t["expr"] for p in panels for t in p["targets"]]
    used = {re.sub(r"_(bucket|count|sum|total)$", "", n) for e in exprs for n in re.findall(r"linkbridge_\w+", e)}
    assert used == exposed_names()
