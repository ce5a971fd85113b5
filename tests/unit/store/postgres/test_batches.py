"""service.store.postgres.batches: reads of one shape share a statement, and
none waits on a timer or goes out before it was asked."""

from __future__ import annotations

import asyncio

import pytest

from service.store.postgres.batches import Batches


class Closed(Exception):
    pass


class Database:
    """Answers a batch when the test lets it: each read's answer is its text, upper-cased."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, list[str]]] = []
        self.gates: list[asyncio.Event] = []
        self.fail: Exception | None = None
        self.hold = False
        self.changed = asyncio.Condition()

    async def send(self, shape: str, asked: list[str]) -> list[str]:
        self.sent.append((shape, list(asked)))
        async with self.changed:
            self.changed.notify_all()
        if self.hold:
            gate = asyncio.Event()
            self.gates.append(gate)
            await gate.wait()
        if self.fail is not None:
            raise self.fail
        return [a.upper() for a in asked]

    async def until_sent(self, count: int) -> None:
        async with self.changed:
            await self.changed.wait_for(lambda: len(self.sent) >= count)


def batches(db: Database, flights: int = 1) -> Batches[str, str, str]:
    return Batches(db.send, flights=flights, closed=Closed)


async def test_a_lone_read_goes_out_at_once_as_a_batch_of_one() -> None:
    db = Database()
    assert await batches(db).read("s", "a") == "A"
    assert db.sent == [("s", ["a"])]


async def test_reads_asked_together_share_one_batch_answered_in_order() -> None:
    db = Database()
    b = batches(db)
    answers = await asyncio.gather(*(b.read("s", x) for x in "abcde"))
    assert answers == list("ABCDE")
    assert db.sent == [("s", list("abcde"))]


async def test_reads_behind_a_flight_wait_for_it_then_go_out_together() -> None:
    db = Database()
    db.hold = True
    b = batches(db)
    first = b.ask("s", "a")
    await db.until_sent(1)
    behind = [b.ask("s", x) for x in "bcd"]
    assert len(db.sent) == 1  # one flight at a time: the others wait for it
    db.hold = False
    db.gates[0].set()
    assert await first == "A"
    assert [await t for t in behind] == list("BCD")
    assert db.sent == [("s", ["a"]), ("s", list("bcd"))]


async def test_a_batch_goes_out_only_after_each_of_its_reads_was_asked() -> None:
    db = Database()
    db.hold = True
    b = batches(db)
    first = b.ask("s", "a")
    await db.until_sent(1)
    late = b.ask("s", "b")  # asked while "a" is in flight
    assert db.sent == [("s", ["a"])]  # never added to the batch already out
    db.hold = False
    db.gates[0].set()
    assert (await first, await late) == ("A", "B")
    assert db.sent[1] == ("s", ["b"])


async def test_shapes_never_share_a_batch() -> None:
    db = Database()
    b = batches(db, flights=2)
    answers = await asyncio.gather(b.read("x", "a"), b.read("y", "b"), b.read("x", "c"))
    assert list(answers) == ["A", "B", "C"]
    assert sorted(db.sent) == [("x", ["a", "c"]), ("y", ["b"])]


async def test_no_more_flights_than_allowed() -> None:
    db = Database()
    db.hold = True
    b = batches(db, flights=2)
    tasks = [b.ask(shape, shape) for shape in "pqr"]
    await db.until_sent(2)
    assert [shape for shape, _ in db.sent] == ["p", "q"]
    db.gates[0].set()
    await db.until_sent(3)  # a flight came back: the waiting batch goes out
    db.hold = False
    for gate in db.gates:
        gate.set()
    assert [await t for t in tasks] == ["P", "Q", "R"]


async def test_a_failed_batch_fails_each_read_and_the_next_batch_goes_on() -> None:
    db = Database()
    db.fail = RuntimeError("the database went away")
    b = batches(db)
    results = await asyncio.gather(b.read("s", "a"), b.read("s", "b"), return_exceptions=True)
    assert [str(r) for r in results] == ["the database went away"] * 2
    db.fail = None
    assert await b.read("s", "c") == "C"


async def test_a_reader_that_stops_waiting_leaves_the_others_answered() -> None:
    db = Database()
    db.hold = True
    b = batches(db)
    gone = b.ask("s", "a")
    kept = b.ask("s", "b")
    await db.until_sent(1)
    gone.cancel()
    db.gates[0].set()
    assert await kept == "B"
    with pytest.raises(asyncio.CancelledError):
        await gone


async def test_a_batch_whose_readers_all_left_is_not_sent() -> None:
    db = Database()
    b = batches(db)
    left = b.ask("s", "a")  # asked, the batch not yet out
    left.cancel()
    with pytest.raises(asyncio.CancelledError):
        await left
    # Another shape's batch goes out after it (one flight at a time).
    assert await b.read("t", "b") == "B"
    assert db.sent == [("t", ["b"])]


async def test_close_fails_what_is_unanswered_and_what_comes_after() -> None:
    db = Database()
    db.hold = True
    b = batches(db)
    flying = b.ask("s", "a")
    await db.until_sent(1)
    queued = b.ask("s", "b")
    await b.close()
    for task in (flying, queued):
        with pytest.raises(Closed):
            await task
    with pytest.raises(Closed):
        await b.read("s", "c")


async def test_a_batch_with_the_wrong_number_of_answers_fails_its_reads() -> None:
    async def short(shape: str, asked: list[str]) -> list[str]:
        return asked[:-1]

    b: Batches[str, str, str] = Batches(short, flights=1, closed=Closed)
    results = await asyncio.gather(b.read("s", "a"), b.read("s", "b"), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)


def test_flights_must_be_positive() -> None:
    with pytest.raises(ValueError, match="flights"):
        batches(Database(), flights=0)
