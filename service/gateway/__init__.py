"""The REST face: Twilio's 2010-04-01 Participant URIs over ParticipantService.

The rule it keeps: the gateway only translates (Twilio forms and paths in,
Twilio JSON out) and reaches the service through `Upstream`, the same five
calls a gRPC client makes, so REST and gRPC never disagree.
"""

from service.gateway.server import Gateway, build_app, start_gateway
from service.gateway.upstream import GrpcUpstream, Upstream

__all__ = ["Gateway", "GrpcUpstream", "Upstream", "build_app", "start_gateway"]
