"""Store contract for first-write-wins settings (Store.set_meta_once) and the
dead-letter port (DeadLetterStore), on every adapter (the `store` and
`backend` fixtures of tests/contract/conftest.py)."""

from __future__ import annotations

from service.core.events import Event, EventType
from service.core.ports.store import Store
from tests.fakes.stores import AC, OTHER, Backend, conference, letter


async def test_set_meta_once_keeps_the_first_value(store: Store) -> None:
    assert await store.set_meta_once("k", "first") == "first"
    assert await store.set_meta_once("k", "second") == "first"
    assert await store.get_meta("k") == "first"
    # An erased (empty) value counts as absent.
    await store.set_meta("k", "")
    assert await store.set_meta_once("k", "third") == "third"
    assert await store.get_meta("k") == "third"


async def test_dead_letters_per_account_in_order_then_delivered_failed_pruned(
    backend: Backend, store: Store
) -> None:
    conf = conference("dl")
    async with store.write() as tx:
        await tx.insert_conference(conf)
        for revision in (1, 2):
            conf.revision = revision
            await tx.append_events(
                [Event(conf.sid, AC, revision, 1.0, EventType.PARTICIPANT_JOINED, conf)]
            )
        await tx.update_conference(conf)
    letters = backend.dead_letters(store)
    await letters.add(letter(AC, conf.sid, 1))
    await letters.add(letter(AC, conf.sid, 2))
    await letters.add(letter(OTHER, conf.sid, 2))
    await letters.add(letter(AC, "CF" + "0" * 32, 7))  # its event is not there
    mine = await letters.list(AC)
    assert [d.revision for d in mine] == [1, 2, 7]
    assert mine[0].id < mine[1].id < mine[2].id
    assert mine[0].params == {"StatusCallbackEvent": "participant-join", "Sequence": "1"}
    assert [d.revision for d in await letters.list(AC, conference_sid=conf.sid)] == [1, 2]
    assert [d.revision for d in await letters.list(AC, after_id=mine[0].id, limit=1)] == [2]
    assert [d.account_sid for d in await letters.list(OTHER)] == [OTHER]
    await letters.failed_again(mine[1].id, "http 503")
    again = (await letters.list(AC, after_id=mine[0].id, limit=1))[0]
    assert (again.attempts, again.last_outcome) == (4, "http 503")
    await letters.delivered(mine[0].id)
    assert await letters.prune() == 1  # the one whose event is gone
    assert [d.revision for d in await letters.list(AC)] == [2]
