"""deploy/: each overlay renders with kustomize, passes the Kubernetes schemas
strictly, and keeps the promises deploy/README.md makes about it.

Both: a native gRPC startup probe and the REST gateway's readiness (/readyz)
and liveness (/livez) probes, on the numbers the server listens on, metrics on a
named port Prometheus can reach, non-root with a read-only root filesystem,
resources bounded, every variable a real setting, callbacks denied the
cluster's own networks, the Dockerfile's user, ports, command and paths
matching. single: one replica, Recreate, SQLite on the volume. ha: 3 or more
replicas rolling with none unavailable, PostgreSQL from a Secret, a disruption
budget, an autoscaler, a headless Service, connection age for rebalancing.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from service.config import Settings, env_name, from_env
from service.gateway.readiness import LIVE_PATH, READY_PATH
from tests.deploy.manifests import (
    KUBERNETES_VALIDATE,
    OVERLAYS,
    REPO,
    TRANSPORT_OVERLAYS,
    Resource,
    container,
    deployment,
    dockerfile,
    find,
    listen_host,
    listen_port,
    one,
    pod_env,
    ports,
    rendered,
    rendered_text,
)

SECRETS = {
    "rollcall-credentials": {"ROLLCALL_ACCOUNTS": "AC" + "a" * 32 + ":" + "t" * 32},
    "rollcall-database": {"url": "postgresql://rollcall@db.example/rollcall"},
}
# The Kubernetes versions deploy/README.md promises: 1.30 made the ha overlay's
# preStop `sleep` action available by default.
OLDEST, NEWEST = "1.30.0", "1.37.0"
HA_REPLICAS = 3
# Every pod address: the kubelet's probes and Prometheus reach the pod by its IP.
ALL_ADDRESSES = "0.0.0.0"  # noqa: S104
MUST_DENY = [
    "127.0.0.1",
    "::1",
    "10.1.2.3",
    "172.20.0.1",
    "192.168.1.1",
    "169.254.169.254",
    "fe80::1",
    "fd00::1",
]


def env_of(overlay: str) -> dict[str, str]:
    return pod_env(rendered(overlay), SECRETS, dockerfile().env)


def validate(path: Path, version: str = NEWEST) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(KUBERNETES_VALIDATE), "--strict", "--quiet", "-k", version, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("version", [OLDEST, NEWEST])
@pytest.mark.parametrize("overlay", OVERLAYS + TRANSPORT_OVERLAYS)
def test_overlay_passes_the_kubernetes_schemas_strictly(
    overlay: str, version: str, tmp_path: Path
) -> None:
    path = tmp_path / f"{overlay}.yaml"
    path.write_text(rendered_text(overlay))
    done = validate(path, version)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_validator_rejects_an_unknown_field_and_a_named_probe_port(tmp_path: Path) -> None:
    """The check above can fail: a misspelt field or a probe on a port name."""
    resources = rendered("ha")
    spec = container(resources)
    spec["startupProbe"]["grpc"]["port"] = "grpc"
    one(resources, "PodDisruptionBudget")["spec"]["maxUnavailabel"] = 1
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump_all(resources))
    done = validate(path)
    assert done.returncode != 0
    assert "'grpc' is not of type 'integer'" in done.stdout
    assert "'maxUnavailabel' was unexpected" in done.stdout


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_probes_are_on_the_ports_the_server_listens_on(overlay: str) -> None:
    """Startup: gRPC health of the server. Readiness: /readyz, which follows the
    database (and the drain). Liveness: /livez, which never does: an outage of
    the database takes pods out of the Service, never restarts them."""
    spec = container(rendered(overlay))
    env = env_of(overlay)
    grpc_listen, http_listen = env["ROLLCALL_GRPC_LISTEN"], env["ROLLCALL_HTTP_LISTEN"]
    assert listen_host(grpc_listen) == listen_host(http_listen) == ALL_ADDRESSES
    kinds = {"grpc", "httpGet", "tcpSocket", "exec"}
    assert set(spec["startupProbe"]) & kinds == {"grpc"}
    assert spec["startupProbe"]["grpc"]["port"] == listen_port(grpc_listen) == ports(spec)["grpc"]
    assert spec["startupProbe"]["grpc"].get("service", "") == ""
    for probe, path in (("readinessProbe", READY_PATH), ("livenessProbe", LIVE_PATH)):
        assert set(spec[probe]) & kinds == {"httpGet"}
        assert spec[probe]["httpGet"]["path"] == path
        assert spec[probe]["httpGet"]["port"] == listen_port(http_listen) == ports(spec)["http"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        check = spec[probe].get("grpc") or spec[probe]["httpGet"]
        assert isinstance(check["port"], int)
    # The server's own hysteresis (ROLLCALL_HEALTH_FAILURE_THRESHOLD) already
    # spans several of its checks: one failed probe is enough here.
    assert spec["readinessProbe"]["failureThreshold"] == 1


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_metrics_port_is_reachable_by_prometheus(overlay: str) -> None:
    resources = rendered(overlay)
    listen = env_of(overlay)["ROLLCALL_METRICS_LISTEN"]
    assert listen_host(listen) == ALL_ADDRESSES
    port = listen_port(listen)
    assert ports(container(resources))["metrics"] == port
    annotations = deployment(resources)["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(port)
    assert annotations["prometheus.io/path"] == "/metrics"
    service = one(resources, "Service", "rollcall")
    assert {"name": "metrics", "port": port, "targetPort": "metrics", "appProtocol": "http"} in (
        service["spec"]["ports"]
    )


@pytest.mark.parametrize("overlay", OVERLAYS + TRANSPORT_OVERLAYS)
def test_runs_as_non_root_with_a_read_only_root_filesystem(overlay: str) -> None:
    resources = rendered(overlay)
    pod = deployment(resources)["spec"]["template"]["spec"]
    spec = container(resources)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert (pod["securityContext"]["runAsUser"], pod["securityContext"]["runAsGroup"]) == (
        dockerfile().user
    )
    assert pod["securityContext"]["runAsUser"] != 0
    assert spec["securityContext"]["readOnlyRootFilesystem"] is True
    assert spec["securityContext"]["allowPrivilegeEscalation"] is False
    assert spec["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert pod["automountServiceAccountToken"] is False
    # Writable places are volumes: /tmp always, /data where the database is a file.
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in spec["volumeMounts"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]
    database = env_of(overlay)["ROLLCALL_DATABASE"]
    if not database.startswith("postgresql://"):
        assert str(Path(database).parent) in mounts


@pytest.mark.parametrize("overlay", OVERLAYS + TRANSPORT_OVERLAYS)
def test_requests_and_limits_are_set(overlay: str) -> None:
    resources = container(rendered(overlay))["resources"]
    for kind in ("requests", "limits"):
        assert set(resources[kind]) >= {"cpu", "memory"}


@pytest.mark.parametrize("overlay", OVERLAYS + TRANSPORT_OVERLAYS)
def test_every_variable_is_a_setting_and_parses(overlay: str) -> None:
    env = env_of(overlay)
    known = {env_name(f.name) for f in dataclasses.fields(Settings)}
    ours = {name for name in env if name.startswith("ROLLCALL_")}
    assert ours <= known, ours - known
    from_env(env)  # every value converts (raises ValueError naming a bad one)


@pytest.mark.parametrize("overlay", OVERLAYS + TRANSPORT_OVERLAYS)
def test_callbacks_are_denied_the_pod_and_cluster_networks(overlay: str) -> None:
    networks = [
        ipaddress.ip_network(n)
        for n in env_of(overlay)["ROLLCALL_CALLBACK_DENY_NETWORKS"].split(",")
    ]
    for address in map(ipaddress.ip_address, MUST_DENY):
        assert any(address in n for n in networks if n.version == address.version), address
    assert not any(ipaddress.ip_address("8.8.8.8") in n for n in networks if n.version == 4)


@pytest.mark.parametrize("overlay", OVERLAYS + TRANSPORT_OVERLAYS)
def test_sigterm_grace_fits_in_the_termination_grace_period(overlay: str) -> None:
    resources = rendered(overlay)
    pod = deployment(resources)["spec"]["template"]["spec"]
    pre_stop = container(resources).get("lifecycle", {}).get("preStop", {})
    waited = pre_stop.get("sleep", {}).get("seconds", 0)
    grace = float(env_of(overlay)["ROLLCALL_GRACE_SECONDS"])
    assert waited + grace < pod["terminationGracePeriodSeconds"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_image_and_the_manifest_agree(overlay: str) -> None:
    image = dockerfile()
    resources = rendered(overlay)
    spec = container(resources)
    assert spec["command"] == image.entrypoint
    assert "args" not in spec
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert image.entrypoint[0] in scripts
    assert set(ports(spec).values()) == image.exposed
    env = env_of(overlay)
    for name in ("ROLLCALL_GRPC_LISTEN", "ROLLCALL_HTTP_LISTEN", "ROLLCALL_METRICS_LISTEN"):
        assert env[name] == image.env[name]
    assert image.last("WORKDIR") == str(Path(image.env["ROLLCALL_DATABASE"]).parent)


def test_single_is_one_sqlite_writer_on_a_volume() -> None:
    resources = rendered("single")
    spec = deployment(resources)["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Recreate"}
    database = Path(env_of("single")["ROLLCALL_DATABASE"])
    mounts = {m["mountPath"]: m["name"] for m in container(resources)["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["template"]["spec"]["volumes"]}
    claim = volumes[mounts[str(database.parent)]]["persistentVolumeClaim"]["claimName"]
    one(resources, "PersistentVolumeClaim", claim)
    assert not find(resources, "HorizontalPodAutoscaler")
    assert "ROLLCALL_GRPC_MAX_CONNECTION_AGE_SECONDS" not in env_of("single")


def _selects_pods(selector: dict[str, Any], pod_labels: dict[str, str]) -> bool:
    return bool(selector) and all(pod_labels.get(k) == v for k, v in selector.items())


def test_ha_is_three_replicas_rolling_on_postgresql() -> None:
    resources = rendered("ha")
    spec = deployment(resources)["spec"]
    # The autoscaler alone sets the count (a Deployment count would be
    # re-applied over it), never below 3.
    assert "replicas" not in spec
    assert one(resources, "HorizontalPodAutoscaler")["spec"]["minReplicas"] == HA_REPLICAS
    assert spec["strategy"]["type"] == "RollingUpdate"
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    database = next(e for e in container(resources)["env"] if e["name"] == "ROLLCALL_DATABASE")
    assert database["valueFrom"]["secretKeyRef"] == {"name": "rollcall-database", "key": "url"}
    assert "volumeMounts" in container(resources)
    assert not find(resources, "PersistentVolumeClaim")


def test_ha_has_a_disruption_budget_and_an_autoscaler() -> None:
    resources = rendered("ha")
    spec = deployment(resources)["spec"]
    pod_labels = spec["template"]["metadata"]["labels"]
    pdb = one(resources, "PodDisruptionBudget")
    assert pdb["apiVersion"] == "policy/v1"
    budget = pdb["spec"].get("maxUnavailable", 0) or HA_REPLICAS - pdb["spec"]["minAvailable"]
    assert 0 < budget < HA_REPLICAS
    assert _selects_pods(pdb["spec"]["selector"]["matchLabels"], pod_labels)
    hpa = one(resources, "HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "rollcall",
    }
    assert hpa["spec"]["minReplicas"] == HA_REPLICAS < hpa["spec"]["maxReplicas"]


def test_ha_serves_grpc_headless_and_rest_on_a_cluster_ip() -> None:
    resources = rendered("ha")
    pod_labels = deployment(resources)["spec"]["template"]["metadata"]["labels"]
    grpc_port = listen_port(env_of("ha")["ROLLCALL_GRPC_LISTEN"])
    headless = one(resources, "Service", "rollcall-grpc")["spec"]
    assert headless["clusterIP"] == "None"
    assert not headless.get("publishNotReadyAddresses", False)
    assert _selects_pods(headless["selector"], pod_labels)
    assert headless["ports"] == [
        {"name": "grpc", "port": grpc_port, "targetPort": "grpc", "appProtocol": "grpc"}
    ]
    plain = one(resources, "Service", "rollcall")["spec"]
    assert plain["type"] == "ClusterIP" and "clusterIP" not in plain
    assert _selects_pods(plain["selector"], pod_labels)
    http_port = listen_port(env_of("ha")["ROLLCALL_HTTP_LISTEN"])
    assert {"name": "http", "port": http_port, "targetPort": "http", "appProtocol": "http"} in (
        plain["ports"]
    )


def test_ha_ages_connections_so_watch_streams_rebalance() -> None:
    env = env_of("ha")
    settings = from_env(env)
    assert settings.grpc_max_connection_age_seconds > 0
    assert settings.grpc_max_connection_age_grace_seconds > 0


def test_both_overlays_select_pods_by_the_same_label() -> None:
    for overlay in OVERLAYS:
        resources: list[Resource] = rendered(overlay)
        spec = deployment(resources)["spec"]
        assert _selects_pods(
            spec["selector"]["matchLabels"], spec["template"]["metadata"]["labels"]
        )
