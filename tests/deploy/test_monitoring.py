"""deploy/monitoring: the dashboard and the alerts name only what the server exports.

Every PromQL expression (each dashboard query, each alert and recording rule)
is read for the metric names in it, and each must be declared on a live
/metrics of a real server (or be recorded by a rule here); the rules pass
`promtool check rules`; the kustomization renders the ServiceMonitor, the
PrometheusRule and the dashboard's ConfigMap.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import make_settings as settings_for
from tests.conftest import serving
from tests.deploy.manifests import DEPLOY, KUBECTL
from tests.observability import exported_names, live_metrics, promtool

MONITORING = DEPLOY / "monitoring"

# What PromQL itself names: functions, aggregations, keywords.
PROMQL_WORDS = frozenset(
    [
        "sum",
        "min",
        "max",
        "avg",
        "count",
        "stddev",
        "stdvar",
        "topk",
        "bottomk",
        "quantile",
        "count_values",
        "group",
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "and",
        "or",
        "unless",
        "bool",
        "offset",
        "rate",
        "irate",
        "increase",
        "delta",
        "idelta",
        "deriv",
        "predict_linear",
        "resets",
        "changes",
        "histogram_quantile",
        "label_replace",
        "label_join",
        "abs",
        "absent",
        "absent_over_time",
        "ceil",
        "floor",
        "round",
        "clamp",
        "clamp_min",
        "clamp_max",
        "scalar",
        "vector",
        "time",
        "timestamp",
        "sort",
        "sort_desc",
        "sum_over_time",
        "avg_over_time",
        "max_over_time",
        "min_over_time",
        "count_over_time",
        "last_over_time",
        "inf",
        "nan",
    ]
)
# Labels Prometheus adds to every scraped series (the ServiceMonitor's target).
TARGET_LABELS = frozenset({"namespace", "job", "pod", "instance", "service", "container"})


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((MONITORING / "dashboard.json").read_text())
    return loaded


def rule_groups() -> list[dict[str, Any]]:
    rule = yaml.safe_load((MONITORING / "prometheusrule.yaml").read_text())
    assert rule["apiVersion"] == "monitoring.coreos.com/v1" and rule["kind"] == "PrometheusRule"
    groups: list[dict[str, Any]] = rule["spec"]["groups"]
    return groups


def dashboard_queries() -> list[str]:
    queries = []
    for panel in dashboard()["panels"]:
        queries += [target["expr"] for target in panel.get("targets", [])]
    for variable in dashboard()["templating"]["list"]:
        query = variable.get("query")
        if isinstance(query, dict):
            # label_values(SERIES, LABEL): the series is the query.
            inner = query["query"].removeprefix("label_values(").removesuffix(")")
            queries.append(inner.rpartition(",")[0])
    return queries


def rule_expressions() -> list[str]:
    return [rule["expr"] for group in rule_groups() for rule in group["rules"]]


def recorded() -> set[str]:
    return {
        rule["record"] for group in rule_groups() for rule in group["rules"] if "record" in rule
    }


def names_in(expr: str) -> set[str]:
    """The metric names an expression reads: what is left of its words once
    strings, Grafana variables, durations, label names and PromQL's own
    words are taken out."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', " ", expr)  # label values, regexes
    text = re.sub(r"\$\{?\w+\}?", " ", text)  # Grafana variables
    text = re.sub(r"\[[^\]]*\]", " ", text)  # range durations
    text = re.sub(r"\b\d+(\.\d+)?([smhdwy]|ms)?\b", " ", text)  # numbers, durations
    # Label names: the matchers inside {...}, and in by/without/on/ignoring (...).
    labels = set()
    for matchers in re.findall(r"\{([^}]*)\}", text):
        labels |= set(re.findall(r"([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)", matchers))
    text = re.sub(r"\{[^}]*\}", " ", text)
    for group in re.findall(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)", text):
        labels |= {word.strip() for word in group.split(",") if word.strip()}
    words = set(re.findall(r"[a-zA-Z_:][\w:]*", text))
    return words - labels - PROMQL_WORDS - {"le"}


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    async def read() -> str:
        async with serving(settings_for(tmp_path_factory.mktemp("metrics"))) as h:
            return await live_metrics(h.app.metrics_port)

    return exported_names(asyncio.run(read()))


def test_names_in_reads_metric_names_only() -> None:
    """The check below can fail: it finds a misspelt metric, never a label or a function."""
    found = names_in(
        "histogram_quantile(0.99, sum by (le, method) (rate(rollcall_rpc_duraton_seconds_bucket"
        '{namespace="$namespace", code!~"OK|x"}[$__rate_interval]))) > 0.5'
        " and on(job) rollcall_serving == 0"
    )
    assert found == {"rollcall_rpc_duraton_seconds_bucket", "rollcall_serving"}


def test_every_dashboard_query_names_exported_metrics(exported: set[str]) -> None:
    queries = dashboard_queries()
    assert len(queries) >= 20
    for query in queries:
        names = names_in(query)
        assert names, query
        assert names <= exported, (query, names - exported)


def test_every_rule_names_exported_or_recorded_metrics(exported: set[str]) -> None:
    known = exported | recorded()
    for expr in rule_expressions():
        names = names_in(expr)
        assert names, expr
        assert names <= known, (expr, names - known)


def test_the_dashboard_covers_each_face_and_part() -> None:
    queries = " ".join(dashboard_queries())
    for metric in (
        "rollcall_rpcs_total",
        "rollcall_rpc_duration_seconds_bucket",
        "rollcall_http_requests_total",
        "rollcall_http_request_duration_seconds_bucket",
        "rollcall_watch_streams",
        "rollcall_watch_delivery_lag_seconds_bucket",
        "rollcall_callback_conferences_pending",
        "rollcall_callback_backlog_age_seconds",
        "rollcall_callbacks_dead_lettered_total",
        "rollcall_carrier_requests_total",
        "rollcall_store_serving",
        "rollcall_replica_callback_lease_held",
    ):
        assert metric in queries, metric


def test_the_alerts_cover_what_pages_an_operator() -> None:
    alerts = {
        rule["alert"]: rule for group in rule_groups() for rule in group["rules"] if "alert" in rule
    }
    assert set(alerts) >= {
        "RollcallErrorRateHigh",
        "RollcallLatencyHigh",
        "RollcallDeadLettersGrowing",
        "RollcallCallbackBacklogOld",
        "RollcallReplicaNotServing",
        "RollcallStoreUnavailable",
        "RollcallCarrierRefusing",
    }
    for name, rule in alerts.items():
        assert rule["labels"]["severity"] in ("warning", "critical"), name
        assert rule["annotations"]["summary"], name


def test_the_rules_pass_promtool(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": rule_groups()}))
    done = promtool("check", "rules", str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(rule_expressions())} rules found" in done.stdout


def test_promtool_rejects_a_broken_rule(tmp_path: Path) -> None:
    """The check above can fail."""
    groups = rule_groups()
    groups[0]["rules"][0]["expr"] = "sum(rate(rollcall_rpcs_total[5m]) >"
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": groups}))
    assert promtool("check", "rules", str(path)).returncode != 0


def test_the_kustomization_renders_the_monitor_rules_and_dashboard() -> None:
    done = subprocess.run(
        [str(KUBECTL), "kustomize", str(MONITORING)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    resources = {d["kind"]: d for d in yaml.safe_load_all(done.stdout) if d}
    assert set(resources) == {"ServiceMonitor", "PrometheusRule", "ConfigMap"}
    monitor = resources["ServiceMonitor"]["spec"]
    assert monitor["selector"]["matchLabels"] == {"app.kubernetes.io/name": "rollcall"}
    assert [e["port"] for e in monitor["endpoints"]] == ["metrics"]
    config = resources["ConfigMap"]
    assert config["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(config["data"]["rollcall.json"]) == dashboard()
