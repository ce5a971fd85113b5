"""deploy/overlays/ha-tls and ha-mesh (issue 26): the two places TLS may end.

ha-tls: Rollcall serves TLS itself from the Secret rollcall-tls, mounted read
only where its settings point, and every probe speaks HTTPS (the kubelet's gRPC
probe speaks no TLS). ha-mesh: plaintext in the pod, marked for a mesh's
sidecar, otherwise the ha overlay unchanged.
"""

from __future__ import annotations

from service.config import from_env
from tests.deploy.manifests import (
    container,
    deployment,
    dockerfile,
    listen_port,
    pod_env,
    ports,
    rendered,
)

SECRETS = {
    "rollcall-credentials": {"ROLLCALL_ACCOUNTS": "AC" + "a" * 32 + ":" + "t" * 32},
    "rollcall-database": {"url": "postgresql://rollcall@db.example/rollcall"},
}


def test_ha_tls_serves_the_mounted_secret_and_probes_over_https() -> None:
    resources = rendered("ha-tls")
    spec = container(resources)
    settings = from_env(pod_env(resources, SECRETS, dockerfile().env))
    mounts = {m["name"]: m for m in spec["volumeMounts"]}
    volumes = {v["name"]: v for v in deployment(resources)["spec"]["template"]["spec"]["volumes"]}
    assert volumes["tls"]["secret"]["secretName"] == "rollcall-tls"
    assert mounts["tls"]["readOnly"] is True
    folder = mounts["tls"]["mountPath"] + "/"
    # kubernetes.io/tls Secrets hold tls.crt and tls.key.
    assert settings.tls_cert_file == folder + "tls.crt"
    assert settings.tls_key_file == folder + "tls.key"
    assert settings.tls_client_ca_file == ""  # the kubelet has no client certificate
    http = listen_port(settings.http_listen)
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert "grpc" not in spec[probe]
        check = spec[probe]["httpGet"]
        assert (check["scheme"], check["port"]) == ("HTTPS", http)
    assert http == ports(spec)["http"]


def test_ha_mesh_is_ha_in_plaintext_marked_for_a_sidecar() -> None:
    mesh, ha = rendered("ha-mesh"), rendered("ha")
    settings = from_env(pod_env(mesh, SECRETS, dockerfile().env))
    assert (settings.tls_cert_file, settings.tls_key_file) == ("", "")
    template = deployment(mesh)["spec"]["template"]
    assert template["metadata"]["labels"]["sidecar.istio.io/inject"] == "true"
    assert template["metadata"]["annotations"]["linkerd.io/inject"] == "enabled"
    assert container(mesh) == container(ha)
    assert deployment(mesh)["spec"]["strategy"] == deployment(ha)["spec"]["strategy"]
