"""The gRPC face's metrics: RPCs started and finished, their durations, streams.

Rule 1: counted here and nowhere else, in the process's REGISTRY (service.metrics).
Rule 2: labels are the RPC method and gRPC status code names, never SIDs.
Rule 3: unary calls and streams are timed in separate histograms: a watch lasts
        minutes to hours, a unary call milliseconds, and one set of buckets
        cannot resolve both.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from service.metrics import REGISTRY

# Unary calls (REST requests use the same): 0.5 ms to 10 s.
UNARY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
# Streams: 1 s to a day (connection age recycles most within minutes).
STREAM_BUCKETS = (1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 14400, 43200, 86400)

STARTED = Counter(
    "rollcall_rpcs_started",
    "RPCs begun, by method.",
    ["method"],
    registry=REGISTRY,
)
RPCS = Counter(
    "rollcall_rpcs",
    "Finished RPCs by method and gRPC status code.",
    ["method", "code"],
    registry=REGISTRY,
)
RPC_SECONDS = Histogram(
    "rollcall_rpc_duration_seconds",
    "Time to finish a unary RPC, by method.",
    ["method"],
    buckets=UNARY_BUCKETS,
    registry=REGISTRY,
)
STREAM_SECONDS = Histogram(
    "rollcall_stream_duration_seconds",
    "How long a server-streaming RPC (a watch) lasted, by method.",
    ["method"],
    buckets=STREAM_BUCKETS,
    registry=REGISTRY,
)
STREAM_SENT = Counter(
    "rollcall_stream_messages_sent",
    "Messages sent on server-streaming RPCs, by method.",
    ["method"],
    registry=REGISTRY,
)
WATCHERS = Gauge(
    "rollcall_watch_streams",
    "Open watch streams (WatchConference and WatchAccount).",
    registry=REGISTRY,
)
WATCH_LAG = Histogram(
    "rollcall_watch_delivery_lag_seconds",
    "From an event's commit to its sending on a watch stream.",
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120),
    registry=REGISTRY,
)
