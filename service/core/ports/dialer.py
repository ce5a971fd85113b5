"""The dialer port: how the core places, ends and hears about outbound calls.

The rule it keeps: a dialer never touches the store. It reports each step of a
call's progress to the ProgressSink the core gives it, one call's steps in
order and awaited one at a time; steps the call took at the same instant
(dialing started and ringing, say) are reported together, in order, so the
core can make them one change; the core turns them into participant changes
and events.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol


class CallProgress(enum.Enum):
    """Steps of an outbound call, named after Twilio's call statuses."""

    INITIATED = "initiated"  # dialing started: participant 'connecting'
    RINGING = "ringing"  # participant 'ringing'
    ANSWERED = "in-progress"  # participant 'connected'
    COMPLETED = "completed"  # answered call ended: participant 'complete'
    BUSY = "busy"  # participant 'failed'
    NO_ANSWER = "no-answer"  # participant 'failed'
    FAILED = "failed"  # participant 'failed'
    CANCELED = "canceled"  # participant 'failed'


@dataclasses.dataclass(frozen=True)
class CallRequest:
    account_sid: str
    call_sid: str
    from_endpoint: str
    to_endpoint: str
    # Seconds to ring before giving up with NO_ANSWER (Twilio: 5-600, default 60).
    timeout_seconds: int = 60
    # Maximum call duration in seconds once answered (Twilio default: 4 hours).
    time_limit_seconds: int = 14400


# Called with (call_sid, steps, at): the steps (at least one, in order) the
# call took at `at`, clock time in seconds.
ProgressSink = Callable[[str, Sequence[CallProgress], float], Awaitable[None]]


class Dialer(Protocol):
    def check(self, account_sid: str, from_endpoint: str, to_endpoint: str) -> None:
        """Refuse a call synchronously (before anything is stored).

        Raises service.core.errors.RollcallError (dial_rejected) with Twilio's code,
        e.g. for Twilio's magic test numbers.
        """
        ...

    def place(self, call: CallRequest) -> float:
        """Start dialing; return the queue time in milliseconds.

        Progress arrives later through the sink. Must not block.
        """
        ...

    async def hangup(self, call_sid: str) -> None:
        """End a call the core has already recorded as ended; no progress follows."""
        ...

    def resume(self, call: CallRequest, answered_at: float) -> None:
        """After a restart: re-arm a call that was answered at `answered_at`."""
        ...

    async def close(self) -> None: ...
