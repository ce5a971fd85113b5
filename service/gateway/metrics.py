"""The REST face's metrics: requests by route template, method and status.

Rule 1: counted here and nowhere else, in the process's REGISTRY (service.metrics).
Rule 2: labels are route templates (`/2010-04-01/Accounts/{account}/...`), HTTP
        methods and status codes, never SIDs; a request no route matched is
        `unmatched`.
Rule 3: event streams (Server-Sent Events) are timed apart from requests, as
        the gRPC face times its streams apart from unary calls.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from service.metrics import REGISTRY

# The same buckets as the gRPC face's (service.rpc.metrics), which a face may not import.
UNARY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
STREAM_BUCKETS = (1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 14400, 43200, 86400)

REQUESTS = Counter(
    "rollcall_http_requests",
    "Finished REST requests, by route template, method and status code.",
    ["route", "method", "status"],
    registry=REGISTRY,
)
SECONDS = Histogram(
    "rollcall_http_request_duration_seconds",
    "Time to answer a REST request, by route template and method.",
    ["route", "method"],
    buckets=UNARY_BUCKETS,
    registry=REGISTRY,
)
STREAM_SECONDS = Histogram(
    "rollcall_http_stream_duration_seconds",
    "How long a REST event stream (Server-Sent Events) lasted, by route template.",
    ["route"],
    buckets=STREAM_BUCKETS,
    registry=REGISTRY,
)
