"""Store contract for the audit trail and personal data (issue 28), on every
adapter: audit records filtered, paged and expired; the number index; and
redaction in place of every stored copy of a participant's personal fields."""

from __future__ import annotations

import dataclasses

from service.core import personal
from service.core.actors import Actor, ActorKind
from service.core.audit import AuditFilter, AuditRecord
from service.core.events import Event, EventType
from service.core.ports.store import Store
from service.core.statuses import ParticipantStatus
from tests.fakes.stores import AC, OTHER, Backend, add, conference, letter, participant

KEY = "SK" + "c" * 32
HASHER = personal.NumberHasher(b"k" * 32)


def record(time: float, account: str = AC, **fields: object) -> AuditRecord:
    values: dict[str, object] = {
        "account_sid": account,
        "time": time,
        "conference_sid": "CF" + "1" * 32,
        "revision": int(time),
        "event_type": "participant-mute",
        "resource": "CA" + "2" * 32,
        "actor": Actor(ActorKind.API_KEY, KEY, face="grpc", peer="192.0.2.1", request_id="r1"),
    }
    values.update(fields)
    return AuditRecord(**values)  # type: ignore[arg-type]


async def test_audit_records_filtered_newest_first_paged_and_expired(store: Store) -> None:
    carrier = Actor(ActorKind.CARRIER)
    async with store.write() as tx:
        await tx.append_audit([record(1.0), record(2.0, actor=carrier), record(3.0)])
        await tx.append_audit([record(4.0, OTHER), record(5.0, event_type="conference-end")])
    everything = await store.audit_records(AC, AuditFilter(), before_id=None, limit=10)
    assert [r.time for r in everything] == [5.0, 3.0, 2.0, 1.0]
    assert everything[-1].actor == record(1.0).actor  # every actor field kept
    assert everything[0].id > everything[1].id > 0
    first = await store.audit_records(AC, AuditFilter(), before_id=None, limit=2)
    rest = await store.audit_records(AC, AuditFilter(), before_id=first[-1].id, limit=2)
    assert [r.time for r in first + rest] == [5.0, 3.0, 2.0, 1.0]

    async def times(**fields: object) -> list[float]:
        flt = AuditFilter(**fields)  # type: ignore[arg-type]
        return [r.time for r in await store.audit_records(AC, flt, before_id=None, limit=10)]

    assert await times(time_from=2.0, time_before=5.0) == [3.0, 2.0]
    assert await times(actor_kind=ActorKind.CARRIER) == [2.0]
    assert await times(actor_sid=KEY) == [5.0, 3.0, 1.0]
    assert await times(event_type="conference-end") == [5.0]
    assert await times(resource="CA" + "9" * 32) == []
    assert await times(conference_sid="CF" + "1" * 32) == [5.0, 3.0, 2.0, 1.0]
    assert await store.expire_audit(2.5, 1) == 1
    assert await store.expire_audit(2.5, 10) == 1
    assert await store.expire_audit(2.5, 10) == 0
    assert await times() == [5.0, 3.0]
    assert [
        r.time for r in await store.audit_records(OTHER, AuditFilter(), before_id=None, limit=9)
    ] == [4.0]


async def test_number_index_and_redaction_in_place(backend: Backend, store: Store) -> None:
    conf = conference("privacy")
    async with store.write() as tx:
        await tx.insert_conference(conf)
    customer = participant(conf, "ann")
    customer.to_endpoint = "+15557770101"
    customer.settings = {"caller_id": "+15557770101", "record": True, "attributes": {"a": 1}}
    await add(store, conf, customer)
    other = await add(store, conf, participant(conf, "bob"))
    async with store.write() as tx:
        await tx.index_numbers(AC, conf.sid, customer.call_sid, HASHER.digests(customer))
        await tx.index_numbers(AC, conf.sid, other.call_sid, HASHER.digests(other))
        await tx.record_request(AC, "req-1", customer.call_sid, "sha-of-the-number", 1.0)
    letters = backend.dead_letters(store)
    given_up = dataclasses.replace(
        letter(AC, conf.sid, customer.revision),
        call_sid=customer.call_sid,
        params={"To": "+15557770101", "ToCity": "X", "CallSid": customer.call_sid},
    )
    await letters.add(given_up)
    digest = HASHER.digest("+1 555 777 0101")
    [held] = await store.number_holders(AC, digest)
    assert (held.call_sid, held.live, held.events, held.dead_letters) == (
        customer.call_sid,
        True,
        1,
        1,
    )
    assert await store.number_holders(OTHER, digest) == []  # another account's index

    # Ended, then past its window: found, redacted, found no more.
    async with store.write() as tx:
        conf.revision += 1
        customer.status, customer.ended_at = ParticipantStatus.COMPLETE, 2.0
        customer.revision = conf.revision
        await tx.update_participant(customer)
        await tx.append_events(
            [Event(conf.sid, AC, conf.revision, 2.0, EventType.PARTICIPANT_LEFT, conf, customer)]
        )
        await tx.update_conference(conf)
    assert await store.unredacted_participants(3.0, 10) == [(AC, conf.sid, customer.call_sid)]
    assert await store.unredacted_participants(1.5, 10) == []
    assert await store.unredacted_participants(3.0, 10, exclude=[AC]) == []
    assert await store.unredacted_participants(3.0, 10, account_sid=OTHER) == []
    async with store.write() as tx:
        await tx.redact_call(AC, conf.sid, customer.call_sid)
        await tx.update_participant(personal.redact(customer))
    assert await store.number_holders(AC, digest) == []
    assert await store.unredacted_participants(3.0, 10) == []
    events = await store.events(conf.sid, 0, 10)
    assert [e.revision for e in events] == [1, 2, 3]  # every revision kept
    mine = [
        e.participant
        for e in events
        if e.participant and e.participant.call_sid == customer.call_sid
    ]
    assert len(mine) == 2
    for p in mine:
        assert (p.to_endpoint, p.from_endpoint, p.label) == ("", "", None)
        assert p.settings == {"caller_id": "", "record": True, "attributes": {}}
    assert [
        e.participant.label
        for e in events
        if e.participant and e.participant.call_sid == other.call_sid
    ] == ["bob"]
    [kept] = await letters.list(AC)
    assert kept.params == {"To": "", "ToCity": "", "CallSid": customer.call_sid}
    async with store.write() as tx:
        assert await tx.request(AC, "req-1") == (customer.call_sid, personal.REDACTED_FINGERPRINT)
