"""RollcallClient: the async client's API, for code without an event loop.

Rule 1: one private event loop per client, in its own daemon thread, owns the
        AsyncRollcallClient and its grpc.aio channel; a method only hands a coroutine
        of the async client to that loop and waits, so arguments and errors are
        exactly the async client's, and any thread may call it (the participant
        and conference methods: clients.sync_participants, clients.sync_conferences).
Rule 2: leaving an iterator (break, an exception) closes its async generator; leaving
        watch() while it waits (Ctrl-C) first cancels what it was waiting for.
Rule 3: close() closes the channel, cancels whatever still runs on the loop, stops
        the loop and joins the thread; later calls raise RuntimeError.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import threading
from collections.abc import AsyncGenerator, Coroutine, Iterable, Iterator, Sequence
from types import TracebackType
from typing import Any, TypeVar

import grpc

from clients.client import (
    DEFAULT_KEEPALIVE_SECONDS,
    DEFAULT_KEEPALIVE_TIMEOUT_SECONDS,
    DEFAULT_TIMEOUT_SECONDS,
    AsyncRollcallClient,
)
from clients.floor import AccountItem
from clients.sync_conferences import SyncConferenceCalls
from clients.sync_loop import (
    cancel_the_rest,
    next_item,
    on_loop,
    start_task,
    stop_iterating,
    task_result,
)
from clients.sync_participants import SyncParticipantCalls
from clients.watch_items import WatchItem

__all__ = ["RollcallClient"]

_T = TypeVar("_T")
_Item = TypeVar("_Item")


class RollcallClient(SyncParticipantCalls, SyncConferenceCalls):
    """A synchronous, thread-safe ParticipantService and ConferenceService
    client for one account.

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
        ca_file: str | None = None,
        cert_file: str | None = None,
        key_file: str | None = None,
        server_name: str | None = None,
        credentials: grpc.ChannelCredentials | None = None,
        options: Sequence[tuple[str, Any]] = (),
        timeout: float | None = DEFAULT_TIMEOUT_SECONDS,
        retries: bool = True,
        keepalive: float = DEFAULT_KEEPALIVE_SECONDS,
        keepalive_timeout: float = DEFAULT_KEEPALIVE_TIMEOUT_SECONDS,
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
                on_loop(
                    functools.partial(
                        AsyncRollcallClient,
                        target,
                        username,
                        password,
                        account_sid=account_sid,
                        secure=secure,
                        ca_file=ca_file,
                        cert_file=cert_file,
                        key_file=key_file,
                        server_name=server_name,
                        credentials=credentials,
                        options=options,
                        timeout=timeout,
                        retries=retries,
                        keepalive=keepalive,
                        keepalive_timeout=keepalive_timeout,
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
        # Checked and submitted under the lock, so nothing is submitted to a
        # loop that close() is stopping (its future would never complete).
        with self._lock:
            if self._closed:
                coroutine.close()
                raise RuntimeError("RollcallClient is closed")
            if threading.current_thread() is self._thread:
                coroutine.close()
                raise RuntimeError("RollcallClient called from its own event loop")
            future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result()
        except concurrent.futures.CancelledError:
            if self._closed:  # cancelled by close() in another thread
                raise RuntimeError("RollcallClient is closed") from None
            raise

    def _stop_loop(self) -> None:
        if self._loop.is_running():
            asyncio.run_coroutine_threadsafe(cancel_the_rest(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def close(self) -> None:
        """Close the channel and stop the loop; later calls raise RuntimeError
        (and so do calls and iterators waiting in other threads)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            closing = asyncio.run_coroutine_threadsafe(self._client.close(), self._loop)
        try:
            closing.result()
        finally:
            self._stop_loop()

    def watch(
        self,
        conference: str,
        *,
        resume_after_revision: int | None = None,
        event_types: Iterable[int | str] = (),
        participants: Iterable[str] = (),
        reconnect: bool = True,
        max_backoff: float = 5.0,
        idle_timeout: float | None = None,
    ) -> Iterator[WatchItem]:
        """See AsyncRollcallClient.watch. Leaving the loop (break, an exception)
        or closing the iterator cancels the stream."""
        items = self._run(
            on_loop(
                functools.partial(
                    self._client.watch,
                    conference,
                    resume_after_revision=resume_after_revision,
                    event_types=event_types,
                    participants=participants,
                    reconnect=reconnect,
                    max_backoff=max_backoff,
                    idle_timeout=idle_timeout,
                )
            )
        )
        return self._iterate(items)

    def watch_account(
        self,
        *,
        friendly_name_prefix: str = "",
        event_types: Iterable[int | str] = (),
        participant_labels: Iterable[str] = (),
        cursor: str | None = None,
        reconnect: bool = True,
        max_backoff: float = 5.0,
        idle_timeout: float | None = None,
    ) -> Iterator[AccountItem]:
        """See AsyncRollcallClient.watch_account. Leaving the loop (break, an
        exception) or closing the iterator cancels the stream."""
        items = self._run(
            on_loop(
                functools.partial(
                    self._client.watch_account,
                    friendly_name_prefix=friendly_name_prefix,
                    event_types=event_types,
                    participant_labels=participant_labels,
                    cursor=cursor,
                    reconnect=reconnect,
                    max_backoff=max_backoff,
                    idle_timeout=idle_timeout,
                )
            )
        )
        return self._iterate(items)

    def _iterate(self, items: AsyncGenerator[_Item, None]) -> Iterator[_Item]:
        waiting: asyncio.Task[tuple[bool, _Item | None]] | None = None
        try:
            while True:
                waiting = self._run(start_task(functools.partial(next_item, items)))
                more, item = self._run(task_result(waiting))
                waiting = None
                if not more or item is None:
                    return
                yield item
        finally:
            try:
                self._run(stop_iterating(waiting, items))
            except RuntimeError:
                if not self._closed:
                    raise
