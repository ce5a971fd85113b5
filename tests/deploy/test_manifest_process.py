"""The container's exact command and environment, from the rendered manifest,
run as a real process: it starts and answers what Kubernetes and Prometheus ask.

What a node would provide is mapped onto this machine and nothing else changes:
each volume mount becomes a temporary directory, each `0.0.0.0:PORT` listen
address becomes 127.0.0.1 on a free port (the container port -> local port map
is then used for the probes, so a probe on the wrong port fails), the image's
ENV comes first as in a container, and the Secrets are given by the test.
`rollcall` is the same console script the image installs, from this virtualenv.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from clients.sync import RollcallClient
from tests import pg
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, basic
from tests.deploy.manifests import (
    BIN,
    Resource,
    container,
    deployment,
    dockerfile,
    pod_env,
    ports,
    rendered,
)

_LISTEN = re.compile(r"^0\.0\.0\.0:(\d+)$")
_BANNER = re.compile(r"gRPC on 127\.0\.0\.1:(\d+), REST on port (\d+), metrics on port (\d+)")
TIMEOUT = 30.0


class Node:
    """Where the pod's volumes and ports land on this machine."""

    def __init__(self, resources: list[Resource], root: Path) -> None:
        self.mounts = {
            m["mountPath"]: root / m["name"] for m in container(resources)["volumeMounts"]
        }
        for path in self.mounts.values():
            path.mkdir()
        # Container port -> the port the process bound for it here (from its
        # banner: it binds port 0, so no other process can take it first).
        self.ports: dict[int, int] = {}
        self.listens: set[int] = set()

    def path(self, value: str) -> str | None:
        for mount, local in self.mounts.items():
            if value == mount or value.startswith(mount + "/"):
                return str(local) + value[len(mount) :]
        return None

    def value(self, value: str) -> str:
        listen = _LISTEN.match(value)
        if listen:
            self.listens.add(int(listen.group(1)))
            return "127.0.0.1:0"
        return self.path(value) or value


def _serving(port: int, service: str) -> int:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        reply = stub.Check(
            health_pb2.HealthCheckRequest(service=service), timeout=TIMEOUT, wait_for_ready=True
        )
        return int(reply.status)


def run_container(
    resources: list[Resource], secrets: dict[str, dict[str, str]], root: Path
) -> None:
    image = dockerfile()
    spec = container(resources)
    pod = deployment(resources)["spec"]["template"]["spec"]
    node = Node(resources, root)
    env = {k: node.value(v) for k, v in pod_env(resources, secrets, image.env).items()}
    env["PATH"] = f"{BIN}:/usr/bin:/bin"
    command = [*spec["command"], *spec.get("args", [])]
    executable = shutil.which(command[0], path=str(BIN))
    assert executable, f"{command[0]} is not installed in {BIN}"
    workdir = node.path(spec.get("workingDir") or image.last("WORKDIR")) or str(root)
    log = (root / "stderr").open("w")
    proc = subprocess.Popen(
        [executable, *command[1:]],
        env=env,
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        started = _BANNER.search(banner)
        assert started, f"did not start: {banner!r} {(root / 'stderr').read_text()}"
        annotations = deployment(resources)["spec"]["template"]["metadata"]["annotations"]
        named = ports(spec)
        metrics_at = int(annotations["prometheus.io/port"])
        # It listens on the ports the manifest names, and on no other.
        assert node.listens == {named["grpc"], named["http"], metrics_at}
        for container_port, bound in zip(
            (named["grpc"], named["http"], metrics_at), started.groups(), strict=True
        ):
            node.ports[container_port] = int(bound)
        grpc_port = node.ports[named["grpc"]]

        # The kubelet's probes, on the ports they name.
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            if "grpc" in spec[probe]:
                check = spec[probe]["grpc"]
                port = node.ports[check["port"]]
                serving = _serving(port, check.get("service", ""))
                assert serving == health_pb2.HealthCheckResponse.SERVING
            else:
                check = spec[probe]["httpGet"]
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{node.ports[check['port']]}{check['path']}", timeout=TIMEOUT
                ) as reply:
                    assert reply.status == 200

        # Prometheus, where the pod's annotations point.
        metrics = node.ports[metrics_at]
        url = f"http://127.0.0.1:{metrics}{annotations['prometheus.io/path']}"
        with urllib.request.urlopen(url, timeout=TIMEOUT) as reply:
            assert reply.status == 200
            assert b"# TYPE" in reply.read()

        # A caller with the Secret's account writes through gRPC and reads via REST.
        with RollcallClient(
            f"127.0.0.1:{grpc_port}", ACCOUNT_SID, AUTH_TOKEN, timeout=TIMEOUT
        ) as c:
            made = c.create_participant(
                "standup", from_endpoint="+15005550006", to_endpoint="+15551234567", label="a"
            )
        http = node.ports[named["http"]]
        conference = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Conferences/{made.conference_sid}"
        path = f"{conference}/Participants/a.json"
        url = f"http://127.0.0.1:{http}{path}"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url, timeout=TIMEOUT)  # noqa: S310
        refused.value.close()
        assert refused.value.code == 401
        auth = {"Authorization": basic(ACCOUNT_SID, AUTH_TOKEN)}
        request = urllib.request.Request(url, headers=auth)  # noqa: S310
        with urllib.request.urlopen(request, timeout=TIMEOUT) as reply:  # noqa: S310
            assert json.loads(reply.read())["call_sid"] == made.call_sid

        # SIGTERM, as the kubelet sends it: exit 0 before the pod's grace period ends.
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=pod["terminationGracePeriodSeconds"]) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=TIMEOUT)
        if proc.stdout is not None:
            proc.stdout.close()
        log.close()


CREDENTIALS = {"ROLLCALL_ACCOUNTS": f"{ACCOUNT_SID}:{AUTH_TOKEN}"}


def test_single_overlay_command_starts_and_answers_health(tmp_path: Path) -> None:
    resources = rendered("single")
    run_container(resources, {"rollcall-credentials": CREDENTIALS}, tmp_path)
    # The database went to the volume (the only writable place besides /tmp).
    assert (tmp_path / "data" / "rollcall.sqlite3").stat().st_size > 0


@pytest.mark.postgres
def test_ha_overlay_command_starts_and_answers_health(tmp_path: Path) -> None:
    resources = rendered("ha")
    secrets = {
        "rollcall-credentials": CREDENTIALS,
        "rollcall-database": {"url": pg.database_for(str(tmp_path))},
    }
    run_container(resources, secrets, tmp_path)
