"""The client's channel: options, retry policy, credentials.

Rule 1: grpc itself retries what is safe to repeat, by a service config
        (SERVICE_CONFIG): UNAVAILABLE on reads (Fetch*, List*) and on
        CreateParticipant, which the client always sends with a request_id
        (a repeat returns the first participant and never dials twice).
        Update, Delete and the streams are never retried by grpc.
Rule 2: the caller's channel options come after ours, so a caller's value wins
        (grpc takes the last of a repeated option); the caller's credentials
        replace the ones ChannelTls would make.
Rule 3: every call carries the account's Basic credentials; over plaintext
        they are readable on the wire, which the docs say (docs/security.md).
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Sequence
from typing import Any

import grpc

from clients.tls import ChannelTls
from rollcall.v1 import conference_service_pb2 as cpb
from rollcall.v1 import participant_service_pb2 as pb

__all__ = [
    "RETRIED_METHODS",
    "SERVICE_CONFIG",
    "basic_credentials",
    "channel_options",
    "make_channel",
]

PARTICIPANT_SERVICE = pb.DESCRIPTOR.services_by_name["ParticipantService"]
CONFERENCE_SERVICE = cpb.DESCRIPTOR.services_by_name["ConferenceService"]
# What grpc may repeat on UNAVAILABLE (Rule 1), as /service/method names.
RETRIED_METHODS = (
    (PARTICIPANT_SERVICE.full_name, "FetchParticipant"),
    (PARTICIPANT_SERVICE.full_name, "ListParticipants"),
    (PARTICIPANT_SERVICE.full_name, "CreateParticipant"),
    (CONFERENCE_SERVICE.full_name, "ListConferences"),
    (CONFERENCE_SERVICE.full_name, "FetchConference"),
)
SERVICE_CONFIG = json.dumps(
    {
        "methodConfig": [
            {
                "name": [{"service": s, "method": m} for s, m in RETRIED_METHODS],
                "retryPolicy": {
                    "maxAttempts": 4,
                    "initialBackoff": "0.2s",
                    "maxBackoff": "2s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }
        ]
    }
)
# gRPC waits up to 120 s between reconnects by default: after a long outage a
# watch would stay cut off that long after the server is back, whatever its
# own max_backoff. Reconnecting sooner costs a refused TCP connect.
_RECONNECT_OPTIONS: tuple[tuple[str, Any], ...] = (
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 5000),
)


def channel_options(keepalive: float, keepalive_timeout: float) -> tuple[tuple[str, Any], ...]:
    """grpc channel options; keepalive 0: no pings. ValueError for bad values."""
    if not (math.isfinite(keepalive) and keepalive >= 0):
        raise ValueError(f"keepalive must be >= 0 seconds, got {keepalive}")
    if not (math.isfinite(keepalive_timeout) and keepalive_timeout > 0):
        raise ValueError(f"keepalive_timeout must be > 0 seconds, got {keepalive_timeout}")
    if keepalive == 0:
        return _RECONNECT_OPTIONS
    timeout_ms = max(1, round(keepalive_timeout * 1000))
    return (
        *_RECONNECT_OPTIONS,
        ("grpc.keepalive_time_ms", max(1, round(keepalive * 1000))),
        ("grpc.keepalive_timeout_ms", timeout_ms),
        # Any ping in flight (grpc's own flow-control pings too) holds the
        # keepalive ping back, and grpc waits a minute for its answer by
        # default: the same timeout for all, or keepalive_timeout means little.
        ("grpc.http2.ping_timeout_ms", timeout_ms),
        # Only while a call (a watch) is open: an idle channel reconnects when
        # next used, so pinging it would only load the server.
        ("grpc.keepalive_permit_without_calls", 0),
        # A watch sends no data after its request: without this, grpc would
        # stop pinging after two pings.
        ("grpc.http2.max_pings_without_data", 0),
    )


def basic_credentials(username: str, password: str) -> str:
    """The value of the `authorization` metadata key."""
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def make_channel(
    target: str,
    *,
    tls: ChannelTls,
    credentials: grpc.ChannelCredentials | None,
    base_options: Sequence[tuple[str, Any]],
    options: Sequence[tuple[str, Any]] = (),
    retries: bool = True,
) -> grpc.aio.Channel:
    """An aio channel to target (Rules 1 and 2)."""
    every = [
        *base_options,
        ("grpc.service_config", SERVICE_CONFIG),
        ("grpc.enable_retries", 1 if retries else 0),
        *tls.options(),
        *options,
    ]
    if credentials is None and tls.enabled:
        credentials = tls.credentials()
    if credentials is not None:
        return grpc.aio.secure_channel(target, credentials, options=every)
    return grpc.aio.insecure_channel(target, options=every)
