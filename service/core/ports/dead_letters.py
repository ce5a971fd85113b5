"""The dead-letter port: the DeadLetter record and the DeadLetterStore every store adapter keeps.

Rule 1: a dead letter is written in its own durable transaction when a callback is
        given up on, and holds everything needed to send it again exactly as it
        would have been sent (URL, method, form, idempotency token).
Rule 2: every read is scoped to one account, so an account never sees another's.
Rule 3: ids grow in give-up order, which within a conference is event order.
Rule 4: a dead letter goes when it is redelivered, when event retention has
        removed the event it reports (prune, run after each compaction), or
        when its own retention window has passed (expire).
Rule 5: the adapters are store.sqlite.dead_letters, store.postgres.dead_letters
        and store.memory.dead_letters.
"""

from __future__ import annotations

import dataclasses
from typing import Protocol


@dataclasses.dataclass(frozen=True)
class DeadLetter:
    account_sid: str
    conference_sid: str
    revision: int
    kind: str
    call_sid: str | None
    callback_event: str
    method: str
    url: str
    params: dict[str, str]
    token: str
    attempts: int
    last_outcome: str
    given_up_at: float
    id: int = 0


class DeadLetterStore(Protocol):
    """Where dead letters are kept: every adapter keeps the rules above."""

    async def add(self, letter: DeadLetter) -> None: ...

    async def list(
        self, account_sid: str, *, conference_sid: str = "", after_id: int = 0, limit: int = 1000
    ) -> list[DeadLetter]:
        """The account's dead letters with id > after_id, oldest first."""
        ...

    async def delivered(self, letter_id: int) -> None: ...

    async def failed_again(self, letter_id: int, outcome: str) -> None: ...

    async def prune(self) -> int:
        """Remove dead letters whose event retention has removed; return how many."""
        ...

    async def expire(self, given_up_before: float, limit: int) -> int:
        """Delete up to `limit` dead letters given up on before `given_up_before`
        (clock seconds), in one short transaction; return how many went."""
        ...
