"""The manifests deploy as they stand: a pullable image, a network policy, spread
replicas, and a Dockerfile that builds from the lock as a non-root user."""

from __future__ import annotations

import re
import tomllib
from typing import Any

import pytest

from tests.deploy.manifests import (
    DEPLOY,
    OVERLAYS,
    REPO,
    container,
    deployment,
    dockerfile,
    one,
    ports,
    rendered,
)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_image_names_a_registry_and_the_release_tag(overlay: str) -> None:
    image = container(rendered(overlay))["image"]
    name, _, tag = image.rpartition(":")
    assert "/" in name and "." in name.split("/")[0], f"{image}: no registry host"
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert tag == version


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_network_policy_admits_the_service_ports_only(overlay: str) -> None:
    resources = rendered(overlay)
    policy = one(resources, "NetworkPolicy", "rollcall")["spec"]
    pod_labels = deployment(resources)["spec"]["template"]["metadata"]["labels"]
    assert policy["podSelector"]["matchLabels"].items() <= pod_labels.items()
    assert set(policy["policyTypes"]) == {"Ingress", "Egress"}
    admitted = {p["port"] for rule in policy["ingress"] for p in rule["ports"]}
    assert admitted == set(ports(container(resources)).values())


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_egress_is_dns_postgresql_and_public_http_only(overlay: str) -> None:
    policy = one(rendered(overlay), "NetworkPolicy", "rollcall")["spec"]
    by_port: dict[int, list[dict[str, Any]]] = {}
    for rule in policy["egress"]:
        for port in rule["ports"]:
            by_port.setdefault(port["port"], []).append(rule)
    assert set(by_port) == {53, 5432, 443, 80}
    [dns] = {id(r): r for r in by_port[53]}.values()
    assert dns["to"] == [
        {"namespaceSelector": {}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}
    ]
    for port in (443, 80):
        [web] = by_port[port]
        blocks = [peer["ipBlock"] for peer in web["to"]]
        assert {b["cidr"] for b in blocks} == {"0.0.0.0/0", "::/0"}
        excepted = {cidr for b in blocks for cidr in b["except"]}
        # The cluster's own networks and the metadata endpoint stay out of reach.
        assert {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"} <= excepted


def test_ha_spreads_replicas_over_nodes_and_zones() -> None:
    resources = rendered("ha")
    spec = deployment(resources)["spec"]["template"]["spec"]
    labels = deployment(resources)["spec"]["template"]["metadata"]["labels"]
    keys = set()
    for constraint in spec["topologySpreadConstraints"]:
        assert constraint["maxSkew"] == 1
        assert constraint["labelSelector"]["matchLabels"].items() <= labels.items()
        keys.add(constraint["topologyKey"])
    assert keys == {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}


def test_the_dockerfile_is_multi_stage_non_root_pinned_and_locked() -> None:
    image = dockerfile()
    assert len(image.stages) >= 2
    uid, gid = image.user
    assert uid != 0 and gid != 0
    text = (DEPLOY / "Dockerfile").read_text()
    bases = re.findall(r"^FROM (\S+)", text, re.MULTILINE)
    assert len(set(bases)) == 1, bases  # build and run on the same Python
    # An exact release: major.minor.patch and the Debian release, never a moving tag.
    assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-[a-z]+(@sha256:[0-9a-f]{64})?", bases[0])
    assert "--require-hashes" in text and "requirements.lock" in text
    assert "HEALTHCHECK" in text


def test_the_build_context_leaves_out_what_the_image_does_not_need() -> None:
    ignore = (REPO / ".dockerignore").read_text().splitlines()
    assert ignore[ignore.index("*") :] and "*" in ignore  # everything out by default
    admitted = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    copied = set()
    for word, rest in [i for stage in dockerfile().stages for i in stage]:
        if word == "COPY" and "--from" not in rest:
            copied |= set(rest.split()[:-1])
    assert copied <= admitted, copied - admitted
    assert not admitted & {".venv", "tests", ".git", "node_modules", "bench"}
