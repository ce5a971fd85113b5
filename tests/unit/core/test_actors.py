"""service.core.actors: who acts, said at once or made when a change first asks (Rule 6)."""

from __future__ import annotations

import asyncio
import itertools

from service.core import actors


def test_a_deferred_actor_is_made_once_when_first_asked_and_shared() -> None:
    made = itertools.count(1)

    def make() -> actors.Actor:
        return actors.Actor(actors.ActorKind.ACCOUNT, sid="AC1", request_id=f"r{next(made)}")

    async def change() -> actors.Actor:
        return actors.current()

    async def serve() -> tuple[actors.Actor, ...]:
        actors.acting_deferred(make)
        # Tasks started by the call copy its context: they ask the same one.
        first, second = await asyncio.gather(change(), change())
        return first, second, actors.current()

    answers = asyncio.run(serve())
    assert {a.request_id for a in answers} == {"r1"}
    assert next(made) == 2  # made exactly once


def test_a_call_that_never_asks_never_makes_one() -> None:
    def make() -> actors.Actor:
        raise AssertionError("a read made an actor")

    async def read() -> None:
        actors.acting_deferred(make)

    asyncio.run(read())
    assert actors.current() is actors.ROLLCALL  # nothing said outside the call's task
