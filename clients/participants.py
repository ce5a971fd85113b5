"""AsyncRollcallClient's participant calls: create, fetch, list, update (one or many), delete, move.

Rule 1: a participant is named by its call SID or label under a conference
        named by its SID or friendly name, under the client's account
        (participant_name); arguments become request fields only through
        clients.fields.
Rule 2: Create always carries a request_id (a uuid4 when the caller gives
        none), so the retries of clients.channel and clients.retries never
        dial twice.
Rule 3: iter_participants fetches the next page only when the caller has
        taken every participant of the last one.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, Iterable, Sequence
from typing import TYPE_CHECKING, TypeVar, Unpack

from google.protobuf.message import Message

from clients.fields import CreateFields, EnumArg, UpdateFields, attribute_pairs, set_fields
from rollcall.v1 import participant_pb2
from rollcall.v1 import participant_service_pb2 as pb

__all__ = ["ParticipantCalls"]

_Response = TypeVar("_Response", bound=Message)


class ParticipantCalls:
    """The participant methods of AsyncRollcallClient (which provides _call and
    the resource names)."""

    if TYPE_CHECKING:  # the client's own, declared here for the type checker only

        async def _call(
            self, method: str, request: Message, response: type[_Response]
        ) -> _Response: ...

        def conference_name(self, conference: str) -> str: ...

        def participant_name(self, conference: str, participant: str) -> str: ...

    async def create_participant(
        self,
        conference: str,
        *,
        from_endpoint: str,
        to_endpoint: str,
        request_id: str | None = None,
        **fields: Unpack[CreateFields],
    ) -> participant_pb2.Participant:
        """Dial to_endpoint into a conference (SID, or friendly name: joined or created).

        A repeat with the same request_id returns the first participant and
        never dials twice; without one the client makes one (a uuid4), so its
        own retries are safe. Enum fields take Twilio's words ("ringing",
        "onEnter", "GET") or proto numbers.
        """
        request = pb.CreateParticipantRequest(
            parent=self.conference_name(conference),
            request_id=request_id or str(uuid.uuid4()),
            from_endpoint=from_endpoint,
            to_endpoint=to_endpoint,
        )
        set_fields(request, fields)
        response = await self._call("CreateParticipant", request, pb.CreateParticipantResponse)
        return response.participant

    async def fetch_participant(
        self, conference: str, participant: str, *, include_ended: bool = False
    ) -> participant_pb2.Participant:
        """A participant by call SID or label; include_ended also finds ended calls."""
        request = pb.FetchParticipantRequest(
            name=self.participant_name(conference, participant), include_ended=include_ended
        )
        response = await self._call("FetchParticipant", request, pb.FetchParticipantResponse)
        return response.participant

    async def list_participants(
        self,
        conference: str,
        *,
        muted: bool | None = None,
        hold: bool | None = None,
        coaching: bool | None = None,
        page_size: int | None = None,
        page_token: str | None = None,
        include_ended: bool = False,
        attributes: Iterable[str] = (),
    ) -> pb.ListParticipantsResponse:
        """One page of participants, oldest first; None filters match everyone;
        attributes: `key=value` pairs a participant must all have."""
        request = pb.ListParticipantsRequest(
            parent=self.conference_name(conference),
            page_size=page_size or 0,
            page_token=page_token or "",
            include_ended=include_ended,
            attributes=attribute_pairs(attributes),
        )
        set_fields(request, {"muted": muted, "hold": hold, "coaching": coaching})
        return await self._call("ListParticipants", request, pb.ListParticipantsResponse)

    async def iter_participants(
        self,
        conference: str,
        *,
        muted: bool | None = None,
        hold: bool | None = None,
        coaching: bool | None = None,
        page_size: int | None = None,
        include_ended: bool = False,
        attributes: Iterable[str] = (),
    ) -> AsyncGenerator[participant_pb2.Participant, None]:
        """Every matching participant, page after page."""
        page_token: str | None = None
        while True:
            page = await self.list_participants(
                conference,
                muted=muted,
                hold=hold,
                coaching=coaching,
                page_size=page_size,
                page_token=page_token,
                include_ended=include_ended,
                attributes=attributes,
            )
            for participant in page.participants:
                yield participant
            if not page.next_page_token:
                return
            page_token = page.next_page_token

    async def update_participant(
        self,
        conference: str,
        participant: str,
        *,
        etag: str | None = None,
        **fields: Unpack[UpdateFields],
    ) -> participant_pb2.Participant:
        """Change a participant; fields not given are left untouched.

        With etag, the update applies only if the participant is unchanged
        since that etag (else ABORTED / ETAG_MISMATCH).
        """
        request = pb.UpdateParticipantRequest(
            name=self.participant_name(conference, participant), etag=etag or ""
        )
        set_fields(request, fields)
        response = await self._call("UpdateParticipant", request, pb.UpdateParticipantResponse)
        return response.participant

    async def delete_participant(
        self, conference: str, participant: str, *, etag: str | None = None
    ) -> participant_pb2.Participant:
        """Remove a participant (its call ends); returns its final state."""
        request = pb.DeleteParticipantRequest(
            name=self.participant_name(conference, participant), etag=etag or ""
        )
        response = await self._call("DeleteParticipant", request, pb.DeleteParticipantResponse)
        return response.participant

    async def update_participants(
        self,
        conference: str,
        participants: Sequence[str] = (),
        *,
        all_except: bool = False,
        muted: bool | None = None,
        hold: bool | None = None,
    ) -> pb.UpdateParticipantsResponse:
        """Mute/unmute/hold/unhold the participants named (call SIDs or labels),
        or with all_except every active one but those, in one change; the
        answer has each participant's outcome."""
        request = pb.UpdateParticipantsRequest(
            parent=self.conference_name(conference),
            participants=participants,
            all_except=all_except,
        )
        set_fields(request, {"muted": muted, "hold": hold})
        return await self._call("UpdateParticipants", request, pb.UpdateParticipantsResponse)

    async def move_participant(
        self,
        conference: str,
        participant: str,
        destination: str,
        *,
        muted: bool = False,
        hold: bool = False,
        role: EnumArg | None = None,
        whisper_targets: Sequence[str] = (),
        etag: str | None = None,
    ) -> pb.MoveParticipantResponse:
        """Move a participant, its call up, to another conference (SID, or
        friendly name: joined or created) with these settings there; both
        conferences' events carry the answer's move_id."""
        request = pb.MoveParticipantRequest(
            name=self.participant_name(conference, participant),
            destination=self.conference_name(destination),
            muted=muted,
            hold=hold,
            whisper_targets=whisper_targets,
            etag=etag or "",
        )
        set_fields(request, {"role": role})
        return await self._call("MoveParticipant", request, pb.MoveParticipantResponse)
