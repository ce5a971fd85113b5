"""RollcallClient: the async client's API, for code without an event loop.

The rule it keeps: one private event loop per client, running in its own
daemon thread, owns the AsyncRollcallClient (and its grpc.aio channel); every
method only hands a coroutine of the async client to that loop and waits, so
argument handling and errors are exactly the async client's and any thread may
call it. close() closes the channel, stops the loop and joins the thread.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from types import TracebackType
from typing import Any, TypeVar, Unpack

from clients.client import AsyncRollcallClient
from clients.fields import CreateFields, UpdateFields
from rollcall.v1 import participant_pb2
from rollcall.v1 import participant_service_pb2 as pb

__all__ = ["RollcallClient"]

_T = TypeVar("_T")


async def _on_loop(factory: Callable[[], _T]) -> _T:
    # A grpc.aio channel belongs to the loop it was made on: build it there.
    return factory()


async def _next(iterator: AsyncIterator[_T]) -> tuple[bool, _T | None]:
    try:
        return True, await anext(iterator)
    except StopAsyncIteration:
        return False, None


class RollcallClient:
    """A synchronous, thread-safe ParticipantService client for one account.

    Same arguments, methods and errors (RollcallClientError) as
    AsyncRollcallClient. Use `with`, or call close().
    """

    def __init__(
        self,
        target: str,
        username: str,
        password: str,
        *,
        account_sid: str | None = None,
        secure: bool = False,
        timeout: float | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._closed = False
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="rollcall-client", daemon=True
        )
        self._thread.start()
        try:
            self._client = self._run(
                _on_loop(
                    functools.partial(
                        AsyncRollcallClient,
                        target,
                        username,
                        password,
                        account_sid=account_sid,
                        secure=secure,
                        timeout=timeout,
                    )
                )
            )
        except BaseException:
            self._stop_loop()
            raise

    @property
    def account_sid(self) -> str:
        return self._client.account_sid

    def __enter__(self) -> RollcallClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _run(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        if self._closed:
            coroutine.close()
            raise RuntimeError("RollcallClient is closed")
        if threading.current_thread() is self._thread:
            coroutine.close()
            raise RuntimeError("RollcallClient called from its own event loop")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def close(self) -> None:
        """Close the channel and stop the loop; later calls raise RuntimeError."""
        with self._lock:
            if self._closed:
                return
            try:
                self._run(self._client.close())
            finally:
                self._closed = True
                self._stop_loop()

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
                more, participant = self._run(_next(pages))
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
