"""The alert rules name metrics the services really export (a rename would silence them)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from dossier.messaging.metrics import ServiceMetrics

RULES = Path(__file__).resolve().parents[3] / "deploy" / "prometheus" / "alerts.yml"
BUILT_IN = {"up"}


def exported_names() -> set[str]:
    metrics = ServiceMetrics("intake")
    metrics.observe("registration.submit", "ok", 0.01)
    metrics.outbox_backlog.labels("intake").set(0)
    metrics.consumer_pending.labels("intake", "intake-x").set(0)
    metrics.consumer_unacked.labels("intake", "intake-x").set(0)
    metrics.nats_connected.labels("intake").set(1)
    metrics.in_flight.labels("intake").set(0)
    names = set()
    for family in text_string_to_metric_families(generate_latest(metrics.registry).decode()):
        names.update(sample.name for sample in family.samples)
    return names


def test_every_alert_names_an_exported_metric_and_says_what_it_means() -> None:
    rules = [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]
    exported = exported_names()
    operations = (RULES.parents[2] / "docs" / "operations.md").read_text(encoding="utf-8")
    assert len(rules) >= 6
    for rule in rules:
        used = set(re.findall(r"\b(dossier_[a-z_]+|up)\b", rule["expr"]))
        assert used, rule["alert"]
        assert used <= exported | BUILT_IN, (rule["alert"], used - exported)
        assert rule["labels"]["severity"] in {"page", "ticket"}
        assert f"`{rule['alert']}`" in operations, f"{rule['alert']} is not explained"
