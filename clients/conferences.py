"""The ConferenceService calls of the clients: list, fetch, end, announce.

Rule 1: a conference is named by its SID or the friendly name of an active one,
        under the client's account, as for participants.
Rule 2: arguments become request fields only through clients.fields (Twilio
        words for the status: "init", "in-progress", "completed").
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, TypeVar

from google.protobuf.message import Message

from clients.fields import EnumArg, set_fields
from rollcall.v1 import conference_service_pb2 as cpb
from rollcall.v1 import participant_pb2

__all__ = ["ConferenceCalls"]

_Response = TypeVar("_Response", bound=Message)


class ConferenceCalls:
    """The conference methods of AsyncRollcallClient (which provides _call)."""

    account_sid: str

    if TYPE_CHECKING:  # the client's own, declared here for the type checker only

        async def _call(
            self, method: str, request: Message, response: type[_Response]
        ) -> _Response: ...

    def _conference(self, conference: str) -> str:
        return f"accounts/{self.account_sid}/conferences/{conference}"

    async def list_conferences(
        self,
        *,
        friendly_name: str | None = None,
        status: EnumArg | None = None,
        page_size: int | None = None,
        page_token: str | None = None,
    ) -> cpb.ListConferencesResponse:
        """One page of the account's conferences, newest first."""
        request = cpb.ListConferencesRequest(
            parent=f"accounts/{self.account_sid}",
            page_size=page_size or 0,
            page_token=page_token or "",
        )
        set_fields(request, {"friendly_name": friendly_name, "status": status})
        return await self._call("ListConferences", request, cpb.ListConferencesResponse)

    async def iter_conferences(
        self,
        *,
        friendly_name: str | None = None,
        status: EnumArg | None = None,
        page_size: int | None = None,
    ) -> AsyncGenerator[participant_pb2.Conference, None]:
        """Every matching conference, page after page."""
        page_token: str | None = None
        while True:
            page = await self.list_conferences(
                friendly_name=friendly_name,
                status=status,
                page_size=page_size,
                page_token=page_token,
            )
            for conference in page.conferences:
                yield conference
            if not page.next_page_token:
                return
            page_token = page.next_page_token

    async def fetch_conference(self, conference: str) -> participant_pb2.Conference:
        """A conference by SID, or by the friendly name of an active one."""
        request = cpb.FetchConferenceRequest(name=self._conference(conference))
        response = await self._call("FetchConference", request, cpb.FetchConferenceResponse)
        return response.conference

    async def end_conference(self, conference: str) -> participant_pb2.Conference:
        """End a conference: every participant is removed (ending an ended one
        changes nothing)."""
        request = cpb.UpdateConferenceRequest(
            name=self._conference(conference),
            status=participant_pb2.CONFERENCE_STATUS_COMPLETED,
        )
        response = await self._call("UpdateConference", request, cpb.UpdateConferenceResponse)
        return response.conference

    async def announce_conference(
        self, conference: str, announce_url: str, *, announce_method: EnumArg | None = None
    ) -> participant_pb2.Conference:
        """Play announce_url (audio or TwiML) to the whole conference."""
        request = cpb.UpdateConferenceRequest(name=self._conference(conference))
        set_fields(request, {"announce_url": announce_url, "announce_method": announce_method})
        response = await self._call("UpdateConference", request, cpb.UpdateConferenceResponse)
        return response.conference
