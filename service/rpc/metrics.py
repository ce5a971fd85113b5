"""The gRPC face's metrics: finished RPCs, their durations, open watch streams.

Rule 1: counted here and nowhere else, in the process's REGISTRY (service.metrics).
Rule 2: labels are the RPC method and gRPC status code names, never SIDs.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from service.metrics import REGISTRY

RPCS = Counter(
    "rollcall_rpcs",
    "Finished RPCs by method and gRPC status code.",
    ["method", "code"],
    registry=REGISTRY,
)
RPC_SECONDS = Histogram(
    "rollcall_rpc_seconds",
    "Time to finish a unary RPC (streams: time to their end).",
    ["method"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
    registry=REGISTRY,
)
WATCHERS = Gauge(
    "rollcall_watch_streams",
    "Open WatchConference streams.",
    registry=REGISTRY,
)
