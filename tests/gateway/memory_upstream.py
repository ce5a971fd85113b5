"""A small in-memory stand-in for ParticipantService, for the gateway's HTTP tests.

It stands in for the upstream only, so the HTTP layer can be tested before the
real service exists: it authenticates Basic credentials (account SID + token,
or API key SID + secret), keeps tenants apart (another account's resources
are NOT_FOUND), finds participants by call SID or label, pages with opaque
tokens, honours request_id and etag, and records every call it receives so
tests can check what the gateway sent. Business rules beyond those are the
real service's; the end-to-end suite covers them.
"""

from __future__ import annotations

import base64
import dataclasses
import re
import uuid

from google.protobuf.message import Message

from rollcall.v1 import participant_pb2
from rollcall.v1 import participant_service_pb2 as pb
from service.core import errors

CONFERENCE_SID = re.compile(r"CF[0-9a-fA-F]{32}")
CALL_SID = re.compile(r"CA[0-9a-fA-F]{32}")
# Opaque to clients; '+', '/', '=' and a space make sure page URIs encode tokens.
PAGE_TOKEN = re.compile(r"P\+T/(\d+)= x")


def page_token(offset: int) -> str:
    return f"P+T/{offset}= x"


def sid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


@dataclasses.dataclass
class Conference:
    account_sid: str
    conference_sid: str
    friendly_name: str
    revision: int = 0
    participants: list[participant_pb2.Participant] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Call:
    method: str
    request: Message
    authorization: str | None


class InMemoryUpstream:
    """Satisfies service.gateway.upstream.Upstream."""

    def __init__(self) -> None:
        self.tokens: dict[str, str] = {}
        self.api_keys: dict[str, tuple[str, str]] = {}
        self.conferences: dict[str, Conference] = {}
        self.requests: dict[tuple[str, str], pb.CreateParticipantResponse] = {}
        self.calls: list[Call] = []
        # Raised by the next call instead of answering (to test error mapping).
        self.fail_with: BaseException | None = None
        self.now = 1298063239.0  # Fri, 18 Feb 2011 21:07:19 +0000

    # -- set-up ---------------------------------------------------------------

    def add_account(self) -> tuple[str, str]:
        account_sid, token = sid("AC"), uuid.uuid4().hex
        self.tokens[account_sid] = token
        return account_sid, token

    def add_api_key(self, account_sid: str) -> tuple[str, str]:
        key_sid, secret = sid("SK"), uuid.uuid4().hex
        self.api_keys[key_sid] = (secret, account_sid)
        return key_sid, secret

    def last(self, method: str) -> Message:
        return next(c.request for c in reversed(self.calls) if c.method == method)

    # -- rules ----------------------------------------------------------------

    def _enter(self, method: str, request: Message, authorization: str | None) -> str:
        self.calls.append(Call(method, request, authorization))
        if self.fail_with is not None:
            failure, self.fail_with = self.fail_with, None
            raise failure
        if authorization is None:
            raise errors.unauthenticated("Authentication Error - No credentials provided")
        scheme, _, encoded = authorization.partition(" ")
        try:
            decoded = base64.b64decode(encoded, validate=True).decode()
        except ValueError:
            raise errors.unauthenticated() from None
        username, _, password = decoded.partition(":")
        if scheme.lower() != "basic":
            raise errors.unauthenticated()
        if username in self.tokens and self.tokens[username] == password:
            return username
        secret, account_sid = self.api_keys.get(username, ("", ""))
        if secret and secret == password:
            return account_sid
        raise errors.unauthenticated()

    def _conference(self, caller: str, parent: str, *, create: bool = False) -> Conference:
        parts = parent.split("/")
        if len(parts) != 4 or parts[0] != "accounts" or parts[2] != "conferences":
            raise errors.invalid_field("parent", "must be accounts/{AC}/conferences/{CF}")
        if parts[1] != caller:
            raise errors.conference_not_found(parent)
        key = parts[3]
        conference = self.conferences.get(key)
        if conference is not None and conference.account_sid == caller:
            return conference
        if CONFERENCE_SID.fullmatch(key) or not create:
            raise errors.conference_not_found(parent)
        for conference in self.conferences.values():
            if conference.account_sid == caller and conference.friendly_name == key:
                return conference
        conference = Conference(caller, sid("CF"), key)
        self.conferences[conference.conference_sid] = conference
        return conference

    def _participant(
        self, caller: str, name: str
    ) -> tuple[Conference, participant_pb2.Participant]:
        parent, sep, key = name.rpartition("/participants/")
        if not sep:
            raise errors.invalid_field("name", "must end in /participants/{CA or label}")
        conference = self._conference(caller, parent)
        for participant in conference.participants:
            if key in (participant.call_sid, participant.label):
                return conference, participant
        raise errors.participant_not_found(name)

    def _touch(self, conference: Conference, participant: participant_pb2.Participant) -> None:
        conference.revision += 1
        participant.revision = conference.revision
        participant.etag = f'"{conference.revision}"'
        participant.date_updated.FromSeconds(int(self.now))

    @staticmethod
    def _check_etag(request_etag: str, participant: participant_pb2.Participant) -> None:
        if request_etag and request_etag != participant.etag:
            raise errors.etag_mismatch(request_etag, participant.etag)

    # -- Upstream -------------------------------------------------------------

    async def create_participant(
        self, request: pb.CreateParticipantRequest, authorization: str | None
    ) -> pb.CreateParticipantResponse:
        caller = self._enter("create", request, authorization)
        if request.request_id and (caller, request.request_id) in self.requests:
            return self.requests[caller, request.request_id]
        if not request.from_endpoint:
            raise errors.invalid_field("from_endpoint", "required", 21213)
        if not request.to_endpoint:
            raise errors.invalid_field("to_endpoint", "required", 21201)
        label = request.label if request.HasField("label") else ""
        if len(label) > 128 or "/" in label or CALL_SID.fullmatch(label):
            raise errors.invalid_field("label", "invalid participant label", 16024)
        conference = self._conference(caller, request.parent, create=True)
        if label and any(p.label == label for p in conference.participants):
            raise errors.label_in_use(label)
        call_sid = sid("CA")
        participant = participant_pb2.Participant(
            name=f"accounts/{caller}/conferences/{conference.conference_sid}/participants/{call_sid}",
            account_sid=caller,
            call_sid=call_sid,
            conference_sid=conference.conference_sid,
            status=participant_pb2.PARTICIPANT_STATUS_QUEUED,
            muted=request.muted,
            start_conference_on_enter=(
                request.start_conference_on_enter
                if request.HasField("start_conference_on_enter")
                else True
            ),
            end_conference_on_exit=request.end_conference_on_exit,
            coaching=request.coaching
            if request.HasField("coaching")
            else bool(request.call_sid_to_coach),
            queue_time_ms=1000,
            from_endpoint=request.from_endpoint,
            to_endpoint=request.to_endpoint,
            conference_friendly_name=conference.friendly_name,
        )
        if label:
            participant.label = label
        if request.call_sid_to_coach:
            participant.call_sid_to_coach = request.call_sid_to_coach
        participant.date_created.FromSeconds(int(self.now))
        self._touch(conference, participant)
        conference.participants.append(participant)
        response = pb.CreateParticipantResponse(participant=participant)
        if request.request_id:
            self.requests[caller, request.request_id] = response
        return response

    async def fetch_participant(
        self, request: pb.FetchParticipantRequest, authorization: str | None
    ) -> pb.FetchParticipantResponse:
        caller = self._enter("fetch", request, authorization)
        _, participant = self._participant(caller, request.name)
        reply = participant_pb2.Participant()
        reply.CopyFrom(participant)
        reply.ClearField("queue_time_ms")  # Twilio: only in the create response
        return pb.FetchParticipantResponse(participant=reply)

    async def list_participants(
        self, request: pb.ListParticipantsRequest, authorization: str | None
    ) -> pb.ListParticipantsResponse:
        caller = self._enter("list", request, authorization)
        conference = self._conference(caller, request.parent)
        matching = [
            p
            for p in conference.participants
            if all(
                not request.HasField(f) or getattr(request, f) == getattr(p, f)
                for f in ("muted", "hold", "coaching")
            )
        ]
        size = request.page_size or 50
        if not request.page_token:
            offset = 0
        elif (match := PAGE_TOKEN.fullmatch(request.page_token)) is not None:
            offset = int(match.group(1))
        else:
            raise errors.invalid_field("page_token", "not a page token from this service")
        page = matching[offset : offset + size]
        response = pb.ListParticipantsResponse(participants=page, revision=conference.revision)
        for participant in response.participants:
            participant.ClearField("queue_time_ms")
        if offset + size < len(matching):
            response.next_page_token = page_token(offset + size)
        if offset > 0:
            response.previous_page_token = page_token(max(offset - size, 0))
        return response

    async def update_participant(
        self, request: pb.UpdateParticipantRequest, authorization: str | None
    ) -> pb.UpdateParticipantResponse:
        caller = self._enter("update", request, authorization)
        conference, participant = self._participant(caller, request.name)
        self._check_etag(request.etag, participant)
        for field in ("muted", "hold", "end_conference_on_exit", "coaching"):
            if request.HasField(field):
                setattr(participant, field, getattr(request, field))
        if request.HasField("call_sid_to_coach") and request.call_sid_to_coach:
            participant.call_sid_to_coach = request.call_sid_to_coach
            participant.coaching = True
        self._touch(conference, participant)
        reply = participant_pb2.Participant()
        reply.CopyFrom(participant)
        reply.ClearField("queue_time_ms")
        return pb.UpdateParticipantResponse(participant=reply)

    async def delete_participant(
        self, request: pb.DeleteParticipantRequest, authorization: str | None
    ) -> pb.DeleteParticipantResponse:
        caller = self._enter("delete", request, authorization)
        conference, participant = self._participant(caller, request.name)
        self._check_etag(request.etag, participant)
        conference.participants.remove(participant)
        participant.status = participant_pb2.PARTICIPANT_STATUS_COMPLETE
        self._touch(conference, participant)
        return pb.DeleteParticipantResponse(participant=participant)
