"""A change feed subscriber for tests: each change this process commits goes to a function.

Rule 1: `committed` hands the change's events to the function given, at once.
Rule 2: it hears nothing from other replicas and watches nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from service.core.events import Event


class OnCommit:
    def __init__(self, on_commit: Callable[[Sequence[Event]], object]) -> None:
        self._on_commit = on_commit

    def committed(self, events: Sequence[Event]) -> None:
        self._on_commit(events)

    def heard(self, conference_sid: str, revision: int) -> None:
        return None

    def watching(self) -> tuple[str, ...]:
        return ()
