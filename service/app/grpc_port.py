"""The gRPC port of one process: its services, health, binding and closing.

Rule 1: no interceptor: every handler is wrapped once as it is registered
        (service.rpc.front: queue probe, door, log line and metrics, decoding).
Rule 2: health reports on the server as a whole ("") and on each service, all
        with one status (HEALTH_NAMES).
Rule 3: with TLS and a queue probe, the probe reaches the server over a
        plaintext Unix socket in a directory only this user may enter (it has
        no client certificate for mutual TLS).
Rule 4: grpc's port closes only once every call it accepted has been answered
        by us (service.rpc.door), so none ends CANCELLED.
"""

from __future__ import annotations

import asyncio
import dataclasses
import tempfile

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from rollcall.v1 import audit_service_pb2 as audit_pb
from rollcall.v1 import audit_service_pb2_grpc as audit_pb_grpc
from rollcall.v1 import callback_service_pb2 as callback_pb
from rollcall.v1 import callback_service_pb2_grpc as callback_pb_grpc
from rollcall.v1 import conference_service_pb2 as cpb
from rollcall.v1 import conference_service_pb2_grpc as cpb_grpc
from rollcall.v1 import participant_service_pb2 as pb
from service.rpc import codec, reflection
from service.rpc.audit import AuditApi, AuditServicer
from service.rpc.callbacks import CallbackApi, CallbackServicer
from service.rpc.conference_servicer import ConferenceServicer
from service.rpc.conferences import ConferenceApi
from service.rpc.door import Door
from service.rpc.front import Front
from service.rpc.participants import ParticipantApi
from service.rpc.queue_probe import QueueProbe, own_target
from service.rpc.servicer import ParticipantServicer
from service.tls import GrpcCredentials, TlsFiles

PARTICIPANT_SERVICE = pb.DESCRIPTOR.services_by_name["ParticipantService"]


SERVICE_NAME = pb.DESCRIPTOR.services_by_name["ParticipantService"].full_name
CONFERENCE_SERVICE_NAME = cpb.DESCRIPTOR.services_by_name["ConferenceService"].full_name
CALLBACK_SERVICE_NAME = callback_pb.DESCRIPTOR.services_by_name["CallbackService"].full_name
AUDIT_SERVICE_NAME = audit_pb.DESCRIPTOR.services_by_name["AuditService"].full_name
# What health reports on: the server as a whole ("") and each service.
HEALTH_NAMES = (
    "",
    SERVICE_NAME,
    CONFERENCE_SERVICE_NAME,
    CALLBACK_SERVICE_NAME,
    AUDIT_SERVICE_NAME,
)
# What grpc's stop() gives the held calls to send their answers (milliseconds
# of work; anything still open after it is cancelled by grpc).
_LAST_ANSWERS_SECONDS = 5.0


def add_services(
    server: grpc.aio.Server,
    door: Door,
    queue_probe: QueueProbe | None,
    api: ParticipantApi,
    conference_api: ConferenceApi,
    callback_api: CallbackApi,
    audit_api: AuditApi,
) -> health.aio.HealthServicer:
    """Register every service, health and reflection (Rule 1); the health servicer."""
    on = Front(door, queue_probe).registrar(server)
    codec.add_service(on, PARTICIPANT_SERVICE, ParticipantServicer(api))
    cpb_grpc.add_ConferenceServiceServicer_to_server(ConferenceServicer(conference_api), on)
    callback_pb_grpc.add_CallbackServiceServicer_to_server(CallbackServicer(callback_api), on)
    audit_pb_grpc.add_AuditServiceServicer_to_server(AuditServicer(audit_api), on)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, on)
    reflection.enable(
        (
            SERVICE_NAME,
            CONFERENCE_SERVICE_NAME,
            CALLBACK_SERVICE_NAME,
            AUDIT_SERVICE_NAME,
            health.SERVICE_NAME,
        ),
        on,
    )
    return health_servicer


@dataclasses.dataclass
class Bound:
    """Where the gRPC port was bound, and what the binding made."""

    port: int
    # The target the queue probes reach this server at (Rule 3).
    probe_target: str
    credentials: GrpcCredentials | None = None
    probe_dir: tempfile.TemporaryDirectory[str] | None = None


def bind(server: grpc.aio.Server, listen: str, tls: TlsFiles | None, probing: bool) -> Bound:
    """Bind the gRPC port (TLS when the settings give a certificate); the
    target the queue probes reach this server at: the port itself, or,
    with TLS, a plaintext Unix socket in a directory only this user may
    enter (the probe has no client certificate for mutual TLS)."""
    credentials = None
    if tls is None:
        port = server.add_insecure_port(listen)
    else:
        credentials = GrpcCredentials(tls)
        port = server.add_secure_port(listen, credentials.credentials)
    if port == 0:
        raise OSError(f"cannot listen on {listen}")
    if tls is None or not probing:
        return Bound(port, own_target(listen, port), credentials)
    probe_dir = tempfile.TemporaryDirectory(prefix="rollcall-probe-")
    target = f"unix:{probe_dir.name}/grpc.sock"
    try:
        server.add_insecure_port(target)
    except BaseException:
        # Not handed back, so nobody else would remove it.
        probe_dir.cleanup()
        raise
    return Bound(port, target, credentials, probe_dir)


async def set_health(health_servicer: health.aio.HealthServicer, serving: bool) -> None:
    """One status for the server and every service (Rule 2)."""
    status = health_pb2.HealthCheckResponse.SERVING
    if not serving:
        status = health_pb2.HealthCheckResponse.NOT_SERVING
    for name in HEALTH_NAMES:
        await health_servicer.set(name, status)


async def stop_server(server: grpc.aio.Server, door: Door) -> None:
    """Close grpc's port with nothing it accepted left unanswered: new calls
    are held until none arrives (grpc has handed over all it had); then
    grpc stops (GOAWAY on every connection, the port closed) and only then
    are the held calls answered, so a retry is refused by the transport
    (UNAVAILABLE) instead of reaching a stopping grpc (CANCELLED)."""
    await door.hold()
    stopping = asyncio.ensure_future(server.stop(_LAST_ANSWERS_SECONDS))
    # grpc's stop() begins its shutdown (GOAWAY, port closed) before it
    # first suspends; one turn of the loop lets it (tests/unit pins this).
    await asyncio.sleep(0)
    door.release()
    await stopping
