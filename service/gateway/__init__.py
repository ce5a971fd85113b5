"""The REST face: Twilio's 2010-04-01 Participant and Conference URIs over the service.

Rule 1: the gateway only translates (Twilio forms and paths in, Twilio JSON, XML
        or CSV out) and reaches the service through `Upstream`, the same
        ParticipantService and ConferenceService calls a gRPC client makes, so
        REST and gRPC never disagree.
"""

from service.gateway.grpc_upstream import GrpcUpstream
from service.gateway.server import Gateway, build_app, start_gateway
from service.gateway.upstream import Upstream

__all__ = ["Gateway", "GrpcUpstream", "Upstream", "build_app", "start_gateway"]
