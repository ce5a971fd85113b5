"""One Rollcall process, assembled and run: `from service.app import App`.

Rule 1: App (service.app.process) owns the order: start() opens everything and
        stop() ends it in reverse; the other modules make one part each and
        keep no order of their own.
Rule 2: one module per concern: apis (the API objects both faces call),
        grpc_port (services, health, binding, closing), http_ports (the REST
        gateway and the carrier's callbacks), upkeep (event compaction).
Rule 3: the names tests and tools import from service.app stay importable here.
"""

from service.app.grpc_port import (
    AUDIT_SERVICE_NAME,
    CALLBACK_SERVICE_NAME,
    CONFERENCE_SERVICE_NAME,
    HEALTH_NAMES,
    SERVICE_NAME,
)
from service.app.process import App

__all__ = [
    "AUDIT_SERVICE_NAME",
    "CALLBACK_SERVICE_NAME",
    "CONFERENCE_SERVICE_NAME",
    "HEALTH_NAMES",
    "SERVICE_NAME",
    "App",
]
