"""gRPC server channel options derived from Settings (connection age, for now).

The rule it keeps: a connection is aged out only when asked
(grpc_max_connection_age_seconds > 0); then every long-lived RPC on it, watch
streams included, ends within the grace that follows, with UNAVAILABLE, so a
client reconnects (through its load balancer, possibly to a new replica) and
resumes its watch by revision. Bad values are refused before any port opens.
"""

from __future__ import annotations

from service.config import Settings, env_name


def server_options(settings: Settings) -> list[tuple[str, int]]:
    """Options for grpc.aio.server(); ValueError names the bad setting."""
    age = settings.grpc_max_connection_age_seconds
    grace = settings.grpc_max_connection_age_grace_seconds
    for field, value in (
        ("grpc_max_connection_age_seconds", age),
        ("grpc_max_connection_age_grace_seconds", grace),
    ):
        if not value >= 0:  # also refuses NaN
            raise ValueError(f"{env_name(field)} must be >= 0 seconds, got {value}")
    if age == 0:
        return []
    return [
        ("grpc.max_connection_age_ms", max(1, round(age * 1000))),
        ("grpc.max_connection_age_grace_ms", round(grace * 1000)),
    ]
