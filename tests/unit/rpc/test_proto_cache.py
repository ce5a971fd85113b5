"""Protos built once per (call SID, revision) (service.rpc.proto_cache): a changed
participant is never answered from an older entry; the cache stays within its
bound; cached bytes are what the message serializes to."""

from __future__ import annotations

import dataclasses

from rollcall.v1 import participant_service_pb2 as pb
from service.rpc import messages as convert
from service.rpc import proto_cache
from tests.fakes.connected import participant


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
