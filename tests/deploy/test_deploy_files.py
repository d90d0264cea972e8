"""deploy/: the Grafana dashboard, Prometheus rules, systemd unit, Dockerfile and Helm chart are well formed.

No Docker engine or helm binary here: the Dockerfile and the chart are checked structurally
(the chart's templates rendered by the tiny renderer below, which knows only what they use).
"""
import configparser
import hashlib
import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
CHART = DEPLOY / "helm" / "gwcore"
METRIC = re.compile(r"\bgwcore_[a-z_]+")
HISTOGRAM_PARTS = ("_bucket", "_sum", "_count")


def queried_metrics() -> set:
    """Every metric name the dashboard and the alert rules query (histogram parts as scraped)."""
    dashboard = json.loads((DEPLOY / "grafana" / "gwcore.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    exprs += [t["query"] for t in dashboard["templating"]["list"] if t["type"] == "query"]
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yaml").read_text())
    exprs += [r["expr"] for g in rules["groups"] for r in g["rules"]]
    return {name for expr in exprs for name in METRIC.findall(expr)}


def test_grafana_dashboard_parses_and_every_panel_queries_gwcore():
    dashboard = json.loads((DEPLOY / "grafana" / "gwcore.json").read_text())
    assert dashboard["uid"] and dashboard["panels"]
    titles = " ".join(p["title"].lower() for p in dashboard["panels"])
    for topic in ("request rate", "error ratio", "latency", "upstream latency", "rate-limit", "cache", "restarts",
                  "reloads"):
        assert topic in titles, topic
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert panel["targets"] and all(METRIC.search(t["expr"]) for t in panel["targets"]), panel["title"]
        assert {"x", "y", "w", "h"} <= set(panel["gridPos"])


def test_alert_rules_have_the_prometheus_rule_structure():
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yaml").read_text())
    assert set(rules) == {"groups"}
    names = set()
    for group in rules["groups"]:
        assert set(group) <= {"name", "interval", "rules"} and group["rules"]
        for rule in group["rules"]:
            assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
            assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", rule["alert"]) and rule["alert"] not in names
            names.add(rule["alert"])
            assert isinstance(rule["expr"], str) and rule["expr"].count("(") == rule["expr"].count(")")
            assert re.fullmatch(r"\d+[smhd]", rule.get("for", "0s"))
            assert rule["labels"]["severity"] and rule["annotations"]["summary"]
    assert len(names) >= 6


def test_systemd_unit_is_type_notify_and_reloads_with_sighup():
    unit = configparser.ConfigParser(interpolation=None, strict=False)
    unit.optionxform = str
    unit.read(DEPLOY / "systemd" / "gwcore.service")
    service = unit["Service"]
    assert service["Type"] == "notify" and service["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert "gwcore run --config" in service["ExecStart"] and service["User"] != "root"
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_dockerfile_is_multi_stage_non_root_with_a_healthz_check():
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()]
    stages = [line for line in lines if line.startswith("FROM ")]
    assert len(stages) == 2 and stages[0].endswith(" AS build")
    final = lines[lines.index(stages[1]):]
    assert any(line.startswith("COPY --from=build ") for line in final)
    users = [line.split()[1] for line in final if line.startswith("USER ")]
    assert users and not users[-1].startswith(("root", "0"))
    healthcheck = " ".join(final[final.index(next(l for l in final if l.startswith("HEALTHCHECK"))):][:2])
    assert "/healthz" in healthcheck
    for source in re.findall(r"^COPY (?!--from)(\S+)", "\n".join(lines), re.M):
        assert (ROOT / source).exists(), f"COPY {source}: no such file"


# ---------------------------------------------------------------- the chart

def _lookup(path: str, context: dict):
    value = context
    for part in path.strip(".").split("."):
        value = value[part]
    return value


def _pipe(value, step: str):
    step = step.strip()
    if step == "quote":
        return json.dumps(str(value))
    if step == "sha256sum":
        return hashlib.sha256(str(value).encode()).hexdigest()
    if step.startswith("indent "):
        pad = " " * int(step.split()[1])
        return "\n".join(pad + line for line in str(value).rstrip("\n").splitlines())
    raise AssertionError(f"the test renderer does not know `{step}`: keep the templates simple")


def render(text: str, context: dict) -> str:
    """{{ .Path | pipe }} values, toYaml, and {{- if .Path }} ... {{- end }} blocks; nothing else."""
    def block(match):
        return match.group(2) if _lookup(match.group(1), context) else ""
    text = re.sub(r"[ \t]*\{\{- if (\S+) \}\}\n(.*?)[ \t]*\{\{- end \}\}\n", block, text, flags=re.S)

    def value(match):
        expr = match.group(1).strip()
        parts = expr.split("|")
        head = parts[0].strip()
        if head.startswith("toYaml "):
            current = yaml.safe_dump(_lookup(head[len("toYaml "):], context), default_flow_style=False)
        else:
            current = _lookup(head, context)
        for step in parts[1:]:
            current = _pipe(current, step)
        return str(current)
    rendered = re.sub(r"\{\{-? (.*?) -?\}\}", value, text)
    assert "{{" not in rendered, rendered
    return rendered


@pytest.fixture(scope="module")
def manifests() -> dict:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    context = {"Values": {**values, "admin": {**values["admin"], "token": "a-token-of-sixteen-chars"}},
               "Release": {"Name": "edge"}}
    out = {}
    for template in sorted((CHART / "templates").glob("*.yaml")):
        document = yaml.safe_load(render(template.read_text(), context))
        out[document["kind"]] = document
    return out


def test_chart_metadata():
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["apiVersion"] == "v2" and chart["name"] == "gwcore" and chart["version"]


def test_chart_renders_deployment_with_probes_drain_and_config_directory(manifests):
    assert set(manifests) == {"ConfigMap", "Deployment", "Service", "PodDisruptionBudget"}
    config = yaml.safe_load(manifests["ConfigMap"]["data"]["gwcore.yaml"])
    assert "gateway" in config and "apis" in config
    pod = manifests["Deployment"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["readinessProbe"]["httpGet"]["httpHeaders"][0]["value"] == "Bearer a-token-of-sixteen-chars"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["lifecycle"]["preStop"]["exec"]["command"][0] == "sleep"
    mount = next(m for m in container["volumeMounts"] if m["name"] == "config")
    assert mount["mountPath"] == "/etc/gwcore" and "subPath" not in mount
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["terminationGracePeriodSeconds"] > 30 + 5  # graceful drain + preStop
    selector = manifests["Deployment"]["spec"]["selector"]["matchLabels"]
    assert manifests["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"] == selector
    assert manifests["PodDisruptionBudget"]["apiVersion"] == "policy/v1"
