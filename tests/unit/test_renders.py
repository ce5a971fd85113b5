"""Participants rendered once per revision (service.renders): never stale, within
their bound, the same bytes and JSON as rendering afresh, and nothing handed out
can be changed."""

from __future__ import annotations

import dataclasses
import json

import pytest

from rollcall.v1 import participant_pb2 as ppb
from rollcall.v1 import participant_service_pb2 as pb
from service.core.records import Participant
from service.gateway import render
from service.renders import Prebuilt, Renders
from service.rpc import messages
from tests.fakes.connected import participant


def renders(entries: int = 16) -> Renders:
    return Renders(messages.participant, render.participant_json_bytes, entries)


def test_one_entry_per_revision_holds_each_face_s_form() -> None:
    cache = renders()
    p = participant(7, revision=4)
    entry = cache.of(p)
    assert cache.of(dataclasses.replace(p)) is entry
    assert entry.message() == messages.participant(p)
    assert entry.json == json.dumps(render.participant_json(messages.participant(p))).encode()
    assert (
        entry.framed
        == pb.FetchParticipantResponse(participant=messages.participant(p)).SerializeToString()
    )
    assert (entry.call_sid, entry.revision, entry.etag) == (p.call_sid, 4, p.etag)


def test_a_new_revision_is_rendered_again() -> None:
    cache = renders()
    before = cache.of(participant(3, revision=8))
    after = cache.of(participant(3, revision=9, muted=True))
    assert after is not before
    assert json.loads(after.json)["muted"] and not json.loads(before.json)["muted"]
    assert after.message().muted and not before.message().muted


def test_the_cache_keeps_to_the_size_the_app_gives_it() -> None:
    cache = renders(entries=8)
    for n in range(20):
        cache.of(participant(1000 + n))
    assert cache.size == 8
    with pytest.raises(ValueError, match="at least one"):
        Renders(messages.participant, entries=0)


def test_nothing_handed_out_can_be_changed() -> None:
    cache = renders()
    p = participant(5, revision=2)
    entry = cache.of(p)
    with pytest.raises(AttributeError):
        entry.etag = "forged"
    with pytest.raises(AttributeError):
        entry._message = messages.participant(participant(6))
    # A message handed out is a copy: changing it changes no later answer.
    handed = entry.message()
    handed.muted = True
    handed.call_sid = "CAforged"
    assert not entry.message().muted
    assert cache.fetched(p).message().participant == messages.participant(p)
    answer = cache.fetched(p)
    with pytest.raises(AttributeError):
        answer.wire = b""
    assert isinstance(answer.wire, bytes) and isinstance(entry.json, bytes)


def test_answers_are_what_their_messages_serialize_to() -> None:
    cache = renders()
    p = participant(8, revision=3)
    # Long enough that the length takes several varint bytes.
    big = participant(9, revision=9, wait_url="https://example.com/" + "x" * 20000)
    fetched = cache.fetched(p)
    assert (
        fetched.wire
        == pb.FetchParticipantResponse(participant=messages.participant(p)).SerializeToString()
    )
    rest = pb.ListParticipantsResponse(next_page_token="next", revision=9)
    listed = cache.listed([big, p], rest)
    whole = pb.ListParticipantsResponse(
        participants=[messages.participant(big), messages.participant(p)],
        next_page_token="next",
        revision=9,
    )
    assert listed.wire == whole.SerializeToString()
    assert listed.message() == whole
    assert [r.call_sid for r in listed.rendered] == [big.call_sid, p.call_sid]


def test_a_received_message_is_rendered_once_per_revision() -> None:
    cache = Renders(None, render.participant_json_bytes)
    message = messages.participant(participant(4, revision=6))
    entry = cache.of_message(message)
    assert cache.of_message(messages.participant(participant(4, revision=6))) is entry
    assert json.loads(entry.json)["call_sid"] == message.call_sid
    with pytest.raises(LookupError):
        cache.of(participant(4, revision=7))


def test_a_prebuilt_answer_is_its_bytes() -> None:
    message = pb.WatchConferenceResponse(progress=pb.ProgressMarker(revision=7))
    answer = Prebuilt(pb.WatchConferenceResponse, message.SerializeToString())
    assert answer.message() == message and answer.rendered == ()


def test_a_page_is_joined_once_per_list_a_store_hands_out() -> None:
    made: list[str] = []

    def to_message(p: Participant) -> ppb.Participant:
        made.append(p.call_sid)
        return messages.participant(p)

    cache = Renders(to_message, render.participant_json_bytes)
    page = [participant(n, revision=2) for n in range(3)]
    first = cache.listed(page, pb.ListParticipantsResponse(next_page_token="a", revision=2))
    again = cache.listed(page, pb.ListParticipantsResponse(next_page_token="b", revision=2))
    assert len(made) == 3  # the second answer joined nothing anew
    assert again.rendered == first.rendered
    assert again.message().next_page_token == "b"  # the other fields are this answer's
    # After a commit the store reads a new list: its new revisions are what is sent.
    changed = [page[0], dataclasses.replace(page[1], revision=3, muted=True), page[2]]
    after = cache.listed(changed, pb.ListParticipantsResponse(revision=3))
    assert [p.revision for p in after.message().participants] == [2, 3, 2]
    assert after.message().participants[1].muted
