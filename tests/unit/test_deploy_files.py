"""The committed dashboards, Prometheus config and alert rules are exactly what deploy/build.py
builds now, Grafana can load them, and every PromQL expression in them reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy import build
from deploy.catalog import ALERTS, DASHBOARDS
from deploy.promql import PromQLError, metric_names

DEPLOY = Path(build.__file__).parent


def test_the_committed_files_equal_what_the_builder_produces() -> None:
    """Edit deploy/catalog.py, then run `python -m deploy.build`: never the files by hand."""
    assert build.drifted() == []
    assert build.main(["--check"]) == 0


def test_a_hand_edited_file_is_reported_as_drift(tmp_path: Path) -> None:
    build.write(tmp_path)
    assert build.drifted(tmp_path) == []
    edited = tmp_path / "prometheus/alerts.yml"
    edited.write_text(edited.read_text().replace("> 0.05", "> 0.5"))
    assert build.drifted(tmp_path) == [Path("prometheus/alerts.yml")]


def test_there_is_one_dashboard_each_for_jobs_queues_llm_builds_events_and_the_api() -> None:
    files = {p.stem for p in (DEPLOY / "grafana/dashboards").glob("*.json")}
    assert files == {f"spark-{n}" for n in ("jobs", "queues", "llm", "builds", "events", "api")}
    assert {d.uid for d in DASHBOARDS} == files


def _check_panel(panel: dict[str, Any], uid: str) -> None:
    assert panel["type"] in {"timeseries", "stat"}
    assert panel["title"]
    assert panel["datasource"] == {"type": "prometheus", "uid": "prometheus"}
    assert set(panel["gridPos"]) == {"h", "w", "x", "y"}
    assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
    assert panel["targets"], f"{uid}: {panel['title']} has no query"
    ref_ids = [t["refId"] for t in panel["targets"]]
    assert len(set(ref_ids)) == len(ref_ids)
    for target in panel["targets"]:
        assert target["datasource"] == panel["datasource"]
        assert target["expr"].strip()


@pytest.mark.parametrize(
    "path", sorted((DEPLOY / "grafana/dashboards").glob("*.json")), ids=lambda p: p.stem
)
def test_each_dashboard_has_the_structure_grafana_provisioning_loads(path: Path) -> None:
    """uid and title, unique panel ids, a datasource, a laid-out gridPos and queries on every panel."""
    dashboard = json.loads(path.read_text())
    assert dashboard["uid"] == path.stem and dashboard["title"].startswith("SPARK / ")
    assert "id" not in dashboard  # Grafana assigns ids; a fixed one collides across instances
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(set(ids)) == len(ids)
    positions = {(p["gridPos"]["x"], p["gridPos"]["y"]) for p in dashboard["panels"]}
    assert len(positions) == len(ids), "two panels share a position"
    for panel in dashboard["panels"]:
        _check_panel(panel, dashboard["uid"])


def test_the_provisioning_files_point_at_the_dashboards_and_prometheus() -> None:
    datasources = yaml.safe_load(
        (DEPLOY / "grafana/provisioning/datasources/prometheus.yml").read_text()
    )
    assert datasources["datasources"][0]["uid"] == "prometheus"
    assert datasources["datasources"][0]["url"] == "http://prometheus:9090"
    providers = yaml.safe_load((DEPLOY / "grafana/provisioning/dashboards/spark.yml").read_text())
    assert providers["providers"][0]["options"]["path"] == build.DASHBOARDS_IN_GRAFANA


def test_prometheus_scrapes_the_api_and_every_worker_and_loads_the_rules() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus/prometheus.yml").read_text())
    targets = {
        t for job in config["scrape_configs"] for s in job["static_configs"] for t in s["targets"]
    }
    assert targets == {"api:8000", "worker:9808", "build-worker:9808"}
    assert config["rule_files"] == [build.ALERTS_IN_PROMETHEUS]


def test_every_alert_rule_has_a_name_duration_severity_and_summary() -> None:
    rules = yaml.safe_load((DEPLOY / "prometheus/alerts.yml").read_text())["groups"][0]["rules"]
    names = [r["alert"] for r in rules]
    assert len(set(names)) == len(names) == len(ALERTS)
    for rule in rules:
        assert rule["for"][-1] in "smh" and rule["labels"]["severity"] in {"warning", "page"}
        assert rule["annotations"]["summary"]


def test_the_alert_thresholds_are_the_agreed_ones() -> None:
    """Error rate 5 % warns and 10 % pages; a breaker open 5 min; p95 above 10 s; cache hits below 50 %; replica lag."""
    by_name = {a.name: a for a in ALERTS}
    assert by_name["SparkJobErrorRateHigh"].expr.endswith("> 0.05")
    assert by_name["SparkJobErrorRateHigh"].severity == "warning"
    assert by_name["SparkJobErrorRateCritical"].expr.endswith("> 0.10")
    assert by_name["SparkJobErrorRateCritical"].severity == "page"
    assert by_name["SparkCircuitBreakerOpen"].duration == "5m"
    assert by_name["SparkJobP95DurationHigh"].expr.endswith("> 10")
    assert by_name["SparkPreviewCacheHitRateLow"].expr.endswith("< 0.5")
    assert "spark_db_replica_lag_seconds" in by_name["SparkReplicaLagHigh"].expr


@pytest.mark.parametrize("expr", build.committed_expressions())
def test_every_expression_parses_and_selects_only_spark_metrics(expr: str) -> None:
    names = metric_names(expr)
    assert names and all(n.startswith("spark_") for n in names)


def test_metric_names_leave_out_functions_label_names_and_keywords() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (le, kind) (rate(spark_x_bucket{kind!="a b"}[5m])))'
        " > 10 and on (kind) group_left sum without (state) (spark_y_total offset 5m)"
    )
    assert metric_names(expr) == {"spark_x_bucket", "spark_y_total"}


def test_a_misspelled_metric_is_found_as_a_name() -> None:
    assert metric_names("sum(rate(spark_jobs_finshed_total[5m]))") == {"spark_jobs_finshed_total"}


@pytest.mark.parametrize(
    "expr",
    [
        "sum(rate(spark_jobs_finished_total[5m])",  # unclosed
        "sum(rate(spark_jobs_finished_total[5m])))",  # one too many
        "sumx(rate(spark_jobs_finished_total[5m]))",  # no such function
        "rate(spark_jobs_finished_total[5 minutes])",  # not a duration
        "sum(rate([5m]))",  # no metric at all
    ],
)
def test_an_expression_that_does_not_parse_is_an_error(expr: str) -> None:
    with pytest.raises(PromQLError):
        metric_names(expr)
