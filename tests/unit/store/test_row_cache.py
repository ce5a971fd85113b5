"""The read caches: decoded rows by stored text, protos by (call SID, revision).

Each entry is named by the content it stands for, so a changed participant is
never answered from an older entry; unchanged rows are decoded and converted
once; both caches stay within their bounds.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import orjson

from rollcall.v1 import participant_service_pb2 as pb
from service.core.model import (
    CallStatus,
    Conference,
    ConferenceStatus,
    Event,
    EventType,
    Participant,
    ParticipantStatus,
    StatusCallback,
)
from service.core.ports.store import ParticipantFilter
from service.rpc import messages as convert
from service.rpc import proto_cache
from service.store.row_cache import RowCache
from service.store.rows import dumps
from service.store.sqlite.lookup_cache import LookupCache
from service.store.sqlite.store import SqliteStore

ACCOUNT = "AC" + "a" * 32
CONFERENCE = "CF" + "b" * 32


def participant(n: int, **fields: Any) -> Participant:
    p = Participant(
        call_sid=f"CA{n:032x}", account_sid=ACCOUNT, conference_sid=CONFERENCE,
        conference_friendly_name="room", label=None, status=ParticipantStatus.CONNECTED,
        call_status=CallStatus.IN_PROGRESS, from_endpoint="+1", to_endpoint="+2",
        date_created=0.0, date_updated=0.0, revision=1,
    )  # fmt: skip
    return dataclasses.replace(p, **fields)


def test_a_row_is_decoded_once_and_a_changed_row_again() -> None:
    decoded: list[Any] = []

    def decode(row: Any) -> Participant:
        decoded.append(row)
        return participant(row[0], muted=row[1] == "muted")

    cache = RowCache(decode)
    first = cache.participant((1, "plain"))
    assert cache.participant((1, "plain")) is first
    changed = cache.participant((1, "muted"))
    assert changed.muted and not first.muted
    assert decoded == [(1, "plain"), (1, "muted")]


def test_the_row_cache_keeps_to_its_limit_dropping_the_oldest() -> None:
    cache = RowCache(lambda row: participant(row[0]), limit=3)
    oldest = cache.participant((1, "x"))
    for n in range(2, 6):
        cache.participant((n, "x"))
    assert len(cache) == 3
    assert cache.participant((1, "x")) is not oldest  # decoded again


def test_a_proto_is_built_once_per_revision() -> None:
    p = participant(7, revision=4)
    built = proto_cache.participant(p)
    assert built == convert.participant(p)
    assert proto_cache.participant(dataclasses.replace(p)) is built
    newer = proto_cache.participant(dataclasses.replace(p, revision=5, muted=True))
    assert newer.revision == 5 and newer.muted and not built.muted


def test_a_fetch_answer_is_built_once_per_revision() -> None:
    p = participant(3, revision=8)
    answer = proto_cache.fetch_response(p)
    assert answer.participant == convert.participant(p)
    assert proto_cache.fetch_response(dataclasses.replace(p)) is answer
    newer = proto_cache.fetch_response(dataclasses.replace(p, revision=9, muted=True))
    assert newer is not answer and newer.participant.muted and not answer.participant.muted
    for n in range(20):
        proto_cache.fetch_response(participant(2000 + n), limit=8)
    assert len(proto_cache._entries) <= 8


def test_the_proto_cache_keeps_to_its_limit() -> None:
    for n in range(20):
        proto_cache.participant(participant(1000 + n), limit=8)
    assert len(proto_cache._entries) <= 8


async def test_store_reads_share_unchanged_rows_and_see_every_change(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "cache.sqlite3"))
    await store.open()
    try:
        conf = Conference(
            sid=CONFERENCE, account_sid=ACCOUNT, friendly_name="room",
            status=ConferenceStatus.IN_PROGRESS, revision=1, max_participants=250,
            date_created=0.0, date_updated=0.0,
        )  # fmt: skip
        p = participant(1)
        async with store.write() as tx:
            await tx.insert_conference(conf)
            await tx.insert_participant(p)
        everyone = ParticipantFilter(include_ended=True)
        first = (await store.list_participants(CONFERENCE, everyone, page_size=10)).participants
        again = (await store.list_participants(CONFERENCE, everyone, page_size=10)).participants
        assert again[0] is first[0]  # decoded once
        fetched = await store.participant_in(
            ACCOUNT, CONFERENCE, True, p.call_sid, include_ended=True
        )
        assert fetched is first[0]

        async with store.write() as tx:
            p.muted, p.revision = True, 2
            await tx.update_participant(p)
        changed = (await store.list_participants(CONFERENCE, everyone, page_size=10)).participants
        assert changed[0].muted and changed[0].revision == 2
        assert not first[0].muted  # what an earlier read returned is left alone
        fetched = await store.participant_in(
            ACCOUNT, CONFERENCE, True, p.call_sid, include_ended=True
        )
        assert fetched is not None and fetched.muted
    finally:
        await store.close()


def test_a_field_of_cached_bytes_is_what_the_message_serializes_to() -> None:
    p = participant(8, revision=3)
    one = pb.FetchParticipantResponse(participant=proto_cache.participant(p))
    assert proto_cache.framed(p) == one.SerializeToString()
    # Long enough that the length takes several varint bytes.
    big = participant(9, revision=9, wait_url="https://example.com/" + "x" * 20000)
    many = pb.ListParticipantsResponse(
        participants=[proto_cache.participant(big), proto_cache.participant(p)],
        next_page_token="next",
        revision=9,
    )
    joined = proto_cache.framed(big) + proto_cache.framed(p)
    tail = pb.ListParticipantsResponse(next_page_token="next", revision=9)
    assert joined + tail.SerializeToString() == many.SerializeToString()


def test_lookup_cache_forgets_at_each_commit_and_drops_lookups_that_raced_one() -> None:
    cache = LookupCache(limit=2)
    key = (ACCOUNT, CONFERENCE, True, "host", False)
    before = cache.generation
    cache.put(key, participant(1), before)
    assert cache.get(key) is not None
    cache.forget_all()
    assert cache.get(key) is None
    # Read before the commit ended, remembered after: not kept.
    cache.put(key, participant(1), before)
    assert cache.get(key) is None
    now = cache.generation
    for n in range(3):
        cache.put((ACCOUNT, CONFERENCE, True, f"p{n}", False), participant(n), now)
    assert len(cache) == 2
    assert cache.get((ACCOUNT, CONFERENCE, True, "p0", False)) is None


def test_a_json_column_is_json_of_to_dict_field_for_field() -> None:
    """rows.dumps hands the dataclass to orjson: it must write what to_dict says."""
    p = participant(
        7,
        label="host",
        muted=True,
        answered_by="human",
        status_callback=StatusCallback("https://example.com/cb", "GET", ("ringing", "answered")),
        settings={"record": True, "sip_auth_username": "u", "list": ["a", 1]},
        seq=12,
    )
    conf = Conference(
        sid=CONFERENCE, account_sid=ACCOUNT, friendly_name="room",
        status=ConferenceStatus.IN_PROGRESS, revision=4, max_participants=250,
        date_created=1.0, date_updated=2.5, settings={"trim": "do-not-trim"},
        status_callback=StatusCallback("https://example.com/c", "POST", ("start",)),
        region="ie1",
    )  # fmt: skip
    event = Event(CONFERENCE, ACCOUNT, 4, 2.5, EventType.PARTICIPANT_MUTED, conf, p)
    for value in (p, conf, event, dataclasses.replace(event, participant=None)):
        assert orjson.loads(dumps(value)) == orjson.loads(orjson.dumps(value.to_dict()))
    assert Participant.from_dict(orjson.loads(dumps(p))) == p
    assert Event.from_dict(orjson.loads(dumps(event))) == event
