"""The participant methods of RollcallClient: AsyncRollcallClient's, run on its loop.

Rule 1: each method hands the async client's coroutine to RollcallClient's
        loop (its _run) and returns what it returns; errors are the async
        client's (RollcallClientError).
Rule 2: iter_participants fetches pages as the caller goes, and closes the
        async generator when the caller leaves.
"""

from __future__ import annotations

from collections.abc import Coroutine, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, Unpack

from clients.fields import CreateFields, EnumArg, UpdateFields
from clients.sync_loop import next_item
from rollcall.v1 import participant_pb2
from rollcall.v1 import participant_service_pb2 as pb

if TYPE_CHECKING:
    from clients.client import AsyncRollcallClient

__all__ = ["SyncParticipantCalls"]

_T = TypeVar("_T")


class SyncParticipantCalls:
    _client: AsyncRollcallClient
    _closed: bool

    if TYPE_CHECKING:  # the client's own, declared here for the type checker only

        def _run(self, coroutine: Coroutine[Any, Any, _T]) -> _T: ...

    def create_participant(
        self,
        conference: str,
        *,
        from_endpoint: str,
        to_endpoint: str,
        request_id: str | None = None,
        **fields: Unpack[CreateFields],
    ) -> participant_pb2.Participant:
        """See AsyncRollcallClient.create_participant."""
        return self._run(
            self._client.create_participant(
                conference,
                from_endpoint=from_endpoint,
                to_endpoint=to_endpoint,
                request_id=request_id,
                **fields,
            )
        )

    def fetch_participant(
        self, conference: str, participant: str, *, include_ended: bool = False
    ) -> participant_pb2.Participant:
        """See AsyncRollcallClient.fetch_participant."""
        return self._run(
            self._client.fetch_participant(conference, participant, include_ended=include_ended)
        )

    def list_participants(
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
        """See AsyncRollcallClient.list_participants."""
        return self._run(
            self._client.list_participants(
                conference,
                muted=muted,
                hold=hold,
                coaching=coaching,
                page_size=page_size,
                page_token=page_token,
                include_ended=include_ended,
                attributes=attributes,
            )
        )

    def iter_participants(
        self,
        conference: str,
        *,
        muted: bool | None = None,
        hold: bool | None = None,
        coaching: bool | None = None,
        page_size: int | None = None,
        include_ended: bool = False,
    ) -> Iterator[participant_pb2.Participant]:
        """See AsyncRollcallClient.iter_participants; pages are fetched as you go."""
        pages = self._client.iter_participants(
            conference,
            muted=muted,
            hold=hold,
            coaching=coaching,
            page_size=page_size,
            include_ended=include_ended,
        )
        try:
            while True:
                more, participant = self._run(next_item(pages))
                if not more or participant is None:
                    return
                yield participant
        finally:
            if not self._closed:
                self._run(pages.aclose())

    def update_participant(
        self,
        conference: str,
        participant: str,
        *,
        etag: str | None = None,
        **fields: Unpack[UpdateFields],
    ) -> participant_pb2.Participant:
        """See AsyncRollcallClient.update_participant."""
        return self._run(
            self._client.update_participant(conference, participant, etag=etag, **fields)
        )

    def delete_participant(
        self, conference: str, participant: str, *, etag: str | None = None
    ) -> participant_pb2.Participant:
        """See AsyncRollcallClient.delete_participant."""
        return self._run(self._client.delete_participant(conference, participant, etag=etag))

    def update_participants(
        self,
        conference: str,
        participants: Sequence[str] = (),
        *,
        all_except: bool = False,
        muted: bool | None = None,
        hold: bool | None = None,
    ) -> pb.UpdateParticipantsResponse:
        """See AsyncRollcallClient.update_participants."""
        return self._run(
            self._client.update_participants(
                conference, participants, all_except=all_except, muted=muted, hold=hold
            )
        )

    def move_participant(
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
        """See AsyncRollcallClient.move_participant."""
        return self._run(
            self._client.move_participant(
                conference,
                participant,
                destination,
                muted=muted,
                hold=hold,
                role=role,
                whisper_targets=whisper_targets,
                etag=etag,
            )
        )
