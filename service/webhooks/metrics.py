"""Status callback delivery metrics.

Rule 1: every attempt, delivery, give-up, dead letter, refusal and skipped
event is counted here and nowhere else, in the process's REGISTRY (service.metrics).
Rule 2: labels are the callback stream (call, conference) and the result, never SIDs.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

from service.metrics import REGISTRY

ATTEMPTS = Counter(
    "rollcall_callback_attempts",
    "HTTP attempts to deliver a status callback, by stream and result"
    " (ok, http_error, network_error, refused).",
    ["kind", "result"],
    registry=REGISTRY,
)
DELIVERED = Counter(
    "rollcall_callbacks_delivered",
    "Status callbacks the receiver accepted with a 2xx answer.",
    ["kind"],
    registry=REGISTRY,
)
FAILED = Counter(
    "rollcall_callbacks_failed",
    "Status callbacks given up on after the last attempt.",
    ["kind"],
    registry=REGISTRY,
)
DEAD_LETTERED = Counter(
    "rollcall_callbacks_dead_lettered",
    "Status callbacks given up on and kept as dead letters (listed and redelivered"
    " with `rollcall callbacks dead-letters`).",
    ["kind"],
    registry=REGISTRY,
)
REDELIVERED = Counter(
    "rollcall_callbacks_redelivered",
    "Dead letters the receiver accepted when they were sent again.",
    ["kind"],
    registry=REGISTRY,
)
REFUSED = Counter(
    "rollcall_callbacks_refused",
    "Status callbacks not sent because their destination is outside the allowed networks.",
    ["kind"],
    registry=REGISTRY,
)
SKIPPED_EVENTS = Counter(
    "rollcall_callback_events_skipped",
    "Events compacted out of the log before their callbacks were sent.",
    registry=REGISTRY,
)
BACKLOG = Gauge(
    "rollcall_callback_conferences_pending",
    "Conferences whose callback delivery task is running (behind or retrying).",
    registry=REGISTRY,
)
RETRYING = Gauge(
    "rollcall_callbacks_retrying",
    "Callbacks waiting for their next attempt after a failure.",
    registry=REGISTRY,
)
BACKLOG_AGE = Gauge(
    "rollcall_callback_backlog_age_seconds",
    "Seconds since the longest-running conference callback task last delivered"
    " (or started); 0 when none is behind.",
    registry=REGISTRY,
)
