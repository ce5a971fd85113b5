"""The conference methods of RollcallClient: AsyncRollcallClient's, run on its loop.

Rule 1: each method hands the async client's coroutine to RollcallClient's
        loop (its _run) and returns what it returns; errors are the async
        client's (RollcallClientError).
Rule 2: iter_conferences fetches pages as the caller goes, and closes the
        async generator when the caller leaves.
"""

from __future__ import annotations

from collections.abc import Coroutine, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from clients.fields import EnumArg
from clients.sync_loop import next_item
from rollcall.v1 import conference_service_pb2 as cpb
from rollcall.v1 import participant_pb2

if TYPE_CHECKING:
    from clients.client import AsyncRollcallClient

__all__ = ["SyncConferenceCalls"]

_T = TypeVar("_T")


class SyncConferenceCalls:
    _client: AsyncRollcallClient
    _closed: bool

    if TYPE_CHECKING:  # the client's own, declared here for the type checker only

        def _run(self, coroutine: Coroutine[Any, Any, _T]) -> _T: ...

    def list_conferences(
        self,
        *,
        friendly_name: str | None = None,
        status: EnumArg | None = None,
        page_size: int | None = None,
        page_token: str | None = None,
    ) -> cpb.ListConferencesResponse:
        """See AsyncRollcallClient.list_conferences."""
        return self._run(
            self._client.list_conferences(
                friendly_name=friendly_name,
                status=status,
                page_size=page_size,
                page_token=page_token,
            )
        )

    def iter_conferences(
        self,
        *,
        friendly_name: str | None = None,
        status: EnumArg | None = None,
        page_size: int | None = None,
    ) -> Iterator[participant_pb2.Conference]:
        """See AsyncRollcallClient.iter_conferences; pages are fetched as you go."""
        pages = self._client.iter_conferences(
            friendly_name=friendly_name, status=status, page_size=page_size
        )
        try:
            while True:
                more, conference = self._run(next_item(pages))
                if not more or conference is None:
                    return
                yield conference
        finally:
            if not self._closed:
                self._run(pages.aclose())

    def fetch_conference(self, conference: str) -> participant_pb2.Conference:
        """See AsyncRollcallClient.fetch_conference."""
        return self._run(self._client.fetch_conference(conference))

    def end_conference(self, conference: str) -> participant_pb2.Conference:
        """See AsyncRollcallClient.end_conference."""
        return self._run(self._client.end_conference(conference))

    def announce_conference(
        self, conference: str, announce_url: str, *, announce_method: EnumArg | None = None
    ) -> participant_pb2.Conference:
        """See AsyncRollcallClient.announce_conference."""
        return self._run(
            self._client.announce_conference(
                conference, announce_url, announce_method=announce_method
            )
        )
