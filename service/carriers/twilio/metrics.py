"""Carrier metrics: upstream requests, lookups after ambiguous Creates, callbacks ingested.

Rule 1: counted here and nowhere else, in the process's REGISTRY (service.metrics).
Rule 2: labels come from small fixed sets (HTTP method, result class), never SIDs.
"""

from __future__ import annotations

from prometheus_client import Counter

from service.metrics import REGISTRY

REQUESTS = Counter(
    "rollcall_carrier_requests",
    "HTTP attempts to the carrier's API, by method and result"
    " (2xx, 4xx, 429, 5xx, connect_error, lost_answer).",
    ["method", "result"],
    registry=REGISTRY,
)
LOOKUPS = Counter(
    "rollcall_carrier_create_lookups",
    "Lookups by label after an ambiguous Create, by whether the call was found.",
    ["found"],
    registry=REGISTRY,
)
CALLBACKS = Counter(
    "rollcall_carrier_callbacks",
    "Carrier callbacks received, by result (applied, refused, malformed, failed).",
    ["result"],
    registry=REGISTRY,
)


def status_class(status: int) -> str:
    if status == 429:
        return "429"
    return f"{status // 100}xx"
