"""One conference's status callback delivery state, as the dispatcher keeps it.

Rule 1: a lane's cursor is None until loaded from the store; `saved` is what
        the store holds, so the cursor may run ahead of it in memory.
Rule 2: the inbox holds the events this process committed, at most the
        dispatcher's batch; past it `overflow` is set and the lane reads the
        store instead.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from service.core.events import Event
from service.core.ports.store import WebhookCursor

__all__ = ["Lane"]


@dataclasses.dataclass
class Lane:
    """One conference's delivery state."""

    sid: str
    account_sid: str
    cursor: WebhookCursor | None = None  # None until loaded from the store
    saved: WebhookCursor | None = None  # what the store holds
    calls: dict[str, int] = dataclasses.field(default_factory=dict)
    inbox: list[Event] = dataclasses.field(default_factory=list)
    overflow: bool = False  # notified events were dropped from the inbox
    wanted: bool = False
    finished: bool = False
    task: asyncio.Task[None] | None = None
    # The trace context of the last commit that woke the lane (service.tracing).
    origin: Any = None
    # When its task started, or last delivered (rollcall_callback_backlog_age_seconds).
    since: float = 0.0
