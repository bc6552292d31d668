"""docs/alerts.yml is a Prometheus rule file over series that exist, and docs/metrics.md lists
every series the service exposes."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from service.metrics import series
from service.metrics.store import StoreGauges
from service.models import Base, Site

REPO = Path(__file__).resolve().parents[2]
DURATION = re.compile(r"^(\d+(ms|s|m|h|d|w|y))+$")
REQUIRED_ALERTS = {
    "backlog age": "commentgate_oldest_pending_comment_age_seconds",
    "webhook failures per site": "commentgate_webhook_attempts_total",
    "5xx rate": 'status_class="5xx"',
    "model errors": "model_error|processing_error",
    "no worker consuming": "commentgate_queue_depth",
}


def exposed_series() -> set[str]:
    """The names a scrape shows: counters with ``_total``, histograms by their base name."""
    names = set()
    for metric in vars(series.series()).values():
        family = metric.describe()[0]
        names.add(family.name + ("_total" if family.type == "counter" else ""))
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with sessionmaker(engine)() as session:  # a site, for the per-site gauges
        session.add(Site(name="blog", api_key_hash="0" * 64, webhook_url="", webhook_secret=""))
        session.commit()
    gauges = StoreGauges(sessionmaker(engine), lambda: 0, lambda: "v-1")
    for family in gauges.collect():
        names.update(sample.name for sample in family.samples)
    return names


def test_every_series_is_documented() -> None:
    documented = (REPO / "docs" / "metrics.md").read_text(encoding="utf-8")
    assert sorted(n for n in exposed_series() if f"`{n}`" not in documented) == []
    assert "docs/metrics.md" in (REPO / "README.md").read_text(encoding="utf-8")


def test_alerts_are_prometheus_rules_over_exposed_series() -> None:
    rules = yaml.safe_load((REPO / "docs" / "alerts.yml").read_text(encoding="utf-8"))
    assert set(rules) == {"groups"} and rules["groups"]
    alerts = []
    for group in rules["groups"]:
        assert set(group) <= {"name", "interval", "rules", "limit"} and group["name"]
        for rule in group["rules"]:
            assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}
            assert isinstance(rule["alert"], str) and re.fullmatch(r"[A-Za-z_]\w*", rule["alert"])
            assert isinstance(rule["expr"], str) and rule["expr"].strip()
            assert DURATION.match(str(rule.get("for", "0s")))
            assert rule["labels"]["severity"] in {"page", "ticket"}
            assert {"summary", "description"} <= set(rule["annotations"])
            assert rule["expr"].count("(") == rule["expr"].count(")")
            alerts.append(rule)
    names = [rule["alert"] for rule in alerts]
    assert len(names) == len(set(names))

    exposed = exposed_series()
    for rule in alerts:
        used = set(re.findall(r"commentgate_[a-z_]+", rule["expr"]))
        assert used and used <= exposed, rule["alert"]
    for purpose, needle in REQUIRED_ALERTS.items():
        assert any(needle in rule["expr"] for rule in alerts), purpose
