"""Dead letters in the memory store: the DeadLetterStore port over its tables.

Rule 1: each change is its own write transaction of the store, so it commits
        whole and in turn with every other change to the database.
Rule 2: every read is scoped to one account; ids grow in give-up order.
Rule 3: prune removes the dead letters whose event retention has removed;
        expire those given up on before a time (their own retention).
"""

from __future__ import annotations

import dataclasses

from service.core.ports.dead_letters import DeadLetter
from service.store.memory import retention as memory_retention
from service.store.memory.store import MemoryStore
from service.store.memory.tables import LetterRow


class MemoryDeadLetters:
    """The dead letters of one MemoryStore's database."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    async def add(self, letter: DeadLetter) -> None:
        async with self.store.write() as tx:
            t = tx.tables
            t.last_letter_id += 1
            t.dead_letters[t.last_letter_id] = LetterRow.of(
                dataclasses.replace(letter, id=t.last_letter_id)
            )

    async def list(
        self, account_sid: str, *, conference_sid: str = "", after_id: int = 0, limit: int = 1000
    ) -> list[DeadLetter]:
        """The account's dead letters with id > after_id, oldest first."""
        rows = sorted(self.store.committed().dead_letters.items())
        found = [
            row.decode()
            for letter_id, row in rows
            if letter_id > after_id
            and row.letter.account_sid == account_sid
            and (not conference_sid or row.letter.conference_sid == conference_sid)
        ]
        return found[: max(limit, 0)]

    async def delivered(self, letter_id: int) -> None:
        async with self.store.write() as tx:
            tx.tables.dead_letters.pop(letter_id, None)

    async def failed_again(self, letter_id: int, outcome: str) -> None:
        async with self.store.write() as tx:
            row = tx.tables.dead_letters.get(letter_id)
            if row is not None:
                letter = dataclasses.replace(
                    row.letter, attempts=row.letter.attempts + 1, last_outcome=outcome
                )
                tx.tables.dead_letters[letter_id] = dataclasses.replace(row, letter=letter)

    async def expire(self, given_up_before: float, limit: int) -> int:
        return await memory_retention.expire_dead_letters(self.store, given_up_before, limit)

    async def prune(self) -> int:
        """Remove dead letters whose event retention has removed; return how many."""
        async with self.store.write() as tx:
            t = tx.tables
            gone = [
                letter_id
                for letter_id, row in t.dead_letters.items()
                if row.letter.revision
                not in {e.revision for e in t.events.get(row.letter.conference_sid, ())}
            ]
            for letter_id in gone:
                del t.dead_letters[letter_id]
        return len(gone)
