"""End to end: every string field of every request of every service is bounded,
and UpdateConference's announce_url is held to the callback destination policy.

The requests are built from the services' descriptors, so a field or a method
added later is covered without touching this file. Each is sent over gRPC to a
real server with one field one character over its bound and nothing else set:
the bound is checked right after authentication, so that field alone is named.
The REST face is checked with real HTTP: a Twilio 400 JSON error.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import grpc
from google.protobuf import message_factory
from google.protobuf.descriptor import FieldDescriptor, MethodDescriptor, ServiceDescriptor
from google.protobuf.message import Message

from rollcall.v1 import callback_service_pb2, conference_service_pb2, participant_service_pb2
from rollcall.v1 import conference_service_pb2 as cpb
from rollcall.v1 import conference_service_pb2_grpc as cpb_grpc
from service.rpc import limits
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, Harness, basic, make_settings, serving
from tests.e2e.helpers import create, expect_error

LOOPBACK = "127.0.0.0/8,::1/128"
SERVICES: tuple[ServiceDescriptor, ...] = (
    participant_service_pb2.DESCRIPTOR.services_by_name["ParticipantService"],
    conference_service_pb2.DESCRIPTOR.services_by_name["ConferenceService"],
    callback_service_pb2.DESCRIPTOR.services_by_name["CallbackService"],
)
_AUTH = {"Authorization": basic(ACCOUNT_SID, AUTH_TOKEN)}


def _over(field: FieldDescriptor) -> str:
    return "x" * (limits.STRING_MAX.get(field.name, (limits.DEFAULT_MAX, 0))[0] + 1)


def _oversized() -> Iterator[tuple[MethodDescriptor, Message, str]]:
    """(method, request, field) for every string field of every request."""
    for service in SERVICES:
        for method in service.methods:
            kind = message_factory.GetMessageClass(method.input_type)
            for field in method.input_type.fields:
                if field.type != FieldDescriptor.TYPE_STRING:
                    continue
                request = kind()
                if field.is_repeated:
                    getattr(request, field.name).append(_over(field))
                else:
                    setattr(request, field.name, _over(field))
                yield method, request, field.name


async def _call(h: Harness, method: MethodDescriptor, request: Message) -> Any:
    path = f"/{method.containing_service.full_name}/{method.name}"
    response = message_factory.GetMessageClass(method.output_type)
    if method.server_streaming:
        stream = h.channel.unary_stream(
            path,
            request_serializer=type(request).SerializeToString,
            response_deserializer=response.FromString,
        )(request, metadata=h.md())
        return await stream.read()
    return await h.channel.unary_unary(
        path,
        request_serializer=type(request).SerializeToString,
        response_deserializer=response.FromString,
    )(request, metadata=h.md())


async def test_every_string_of_every_request_of_every_service_is_bounded(
    tmp_path: Path,
) -> None:
    seen: set[str] = set()
    async with serving(make_settings(tmp_path, http_listen="")) as h:
        await create(h, "room")
        for method, request, field in _oversized():
            seen.add(method.containing_service.name)
            error = await expect_error(_call(h, method, request), grpc.StatusCode.INVALID_ARGUMENT)
            where = (method.full_name, field)
            assert error.reason == "INVALID_ARGUMENT", where
            assert [v.field for v in error.violations] == [field], (where, error.message)
            assert "must not exceed" in error.violations[0].description, where
    assert seen == {s.name for s in SERVICES}


async def test_an_announce_url_over_its_bound_or_to_a_denied_network_changes_nothing(
    tmp_path: Path,
) -> None:
    async with serving(make_settings(tmp_path, callback_deny_networks=LOOPBACK)) as h:
        await create(h, "steady")
        conferences = cpb_grpc.ConferenceServiceStub(h.channel)
        fetch = cpb.FetchConferenceRequest(name=h.parent("steady"))
        before = (await conferences.FetchConference(fetch, metadata=h.md())).conference
        for url in ("http://127.0.0.1/say.xml", "http://localhost/say.xml", "http://[::1]/x"):
            error = await expect_error(
                conferences.UpdateConference(
                    cpb.UpdateConferenceRequest(name=h.parent("steady"), announce_url=url),
                    metadata=h.md(),
                ),
                grpc.StatusCode.INVALID_ARGUMENT,
            )
            assert [v.field for v in error.violations] == ["announce_url"], url
            assert error.twilio_code == 21205
        too_long = "https://example.com/" + "a" * limits.URL_MAX
        error = await expect_error(
            conferences.UpdateConference(
                cpb.UpdateConferenceRequest(name=h.parent("steady"), announce_url=too_long),
                metadata=h.md(),
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
        assert [v.field for v in error.violations] == ["announce_url"]
        assert "must not exceed" in error.violations[0].description
        assert error.twilio_code == 21205

        conference = f"{h.http_base}/2010-04-01/Accounts/{ACCOUNT_SID}/Conferences"
        instance = f"{conference}/{before.conference_sid}.json"
        async with aiohttp.ClientSession(headers=_AUTH) as http:
            for url in ("http://127.0.0.1/say.xml", too_long):
                async with http.post(instance, data={"AnnounceUrl": url}) as response:
                    body = await response.json()
                    assert response.status == 400, body
                    assert body["code"] == 21205, body
                    assert body["status"] == 400
                    assert len(body["message"]) < 300
            name = {"FriendlyName": "f" * (limits.STRING_MAX["friendly_name"][0] + 1)}
            async with http.get(f"{conference}.json", params=name) as response:
                body = await response.json()
                assert response.status == 400, body
                assert body["status"] == 400
                assert "friendly_name" in body["message"] or "FriendlyName" in body["message"]
            # A public announcement is fine.
            ok = {"AnnounceUrl": "https://192.0.2.10/say.xml"}
            async with http.post(instance, data=ok) as response:
                assert response.status == 200, await response.text()
        after = (await conferences.FetchConference(fetch, metadata=h.md())).conference
        assert after.revision == before.revision + 1  # only the allowed announcement
