"""AsyncRollcallClient: ParticipantService and ConferenceService over grpc.aio, in Twilio's words.

Rule 1: every call carries the account's Basic credentials and addresses
        resources by name under that account
        (accounts/{AC}/conferences/{CF}/participants/{CA}); arguments become
        request fields only through clients.fields, and a failed call only
        ever raises RollcallClientError.
Rule 2: every unary call has a deadline (DEFAULT_TIMEOUT_SECONDS unless the
        caller sets one, None for none); streams have none.
Rule 3: the resource calls live in mixins (clients.participants,
        clients.conferences) that reach the server only through _call; the
        client itself owns the channel, the deadlines and retries of _call,
        and the two watch streams.
"""

from __future__ import annotations

import math
from collections.abc import AsyncGenerator, Iterable, Sequence
from types import TracebackType
from typing import Any, TypeVar

import grpc
from google.protobuf.message import Message

from clients.channel import (
    CONFERENCE_SERVICE,
    PARTICIPANT_SERVICE,
    RETRIED_METHODS,
    basic_credentials,
    channel_options,
    make_channel,
)
from clients.conferences import ConferenceCalls
from clients.errors import RollcallClientError
from clients.fields import attribute_pairs
from clients.floor import AccountItem
from clients.participants import ParticipantCalls
from clients.retries import call_retrying
from clients.tls import ChannelTls
from clients.watch import watch_stream
from clients.watch_account import watch_account_stream
from clients.watch_items import WatchItem, event_type_number
from rollcall.v1 import participant_service_pb2 as pb

__all__ = [
    "DEFAULT_KEEPALIVE_SECONDS",
    "DEFAULT_KEEPALIVE_TIMEOUT_SECONDS",
    "DEFAULT_TIMEOUT_SECONDS",
    "AsyncRollcallClient",
    "basic_credentials",
    "channel_options",
    "resolve_account_sid",
]

_Response = TypeVar("_Response", bound=Message)
_SERVICE = PARTICIPANT_SERVICE
# Twice the server's default floor for clients' pings
# (ROLLCALL_GRPC_KEEPALIVE_MIN_CLIENT_SECONDS, 10 s): never too_many_pings.
DEFAULT_KEEPALIVE_SECONDS = 20.0
DEFAULT_KEEPALIVE_TIMEOUT_SECONDS = 10.0
# Long enough for a Create whose carrier answers slowly (the server's own
# bound on the carrier is 10 s, retries included), short enough that a call
# to a server that stopped answering fails instead of hanging.
DEFAULT_TIMEOUT_SECONDS = 30.0
_RETRIED = frozenset(method for _, method in RETRIED_METHODS)


def resolve_account_sid(username: str, account_sid: str | None) -> str:
    """The account resources live under: given, or the username when it is an AC SID."""
    if account_sid:
        return account_sid
    if username.startswith("AC"):
        return username
    raise ValueError("account_sid is required when authenticating with an API key (SK...)")


class AsyncRollcallClient(ParticipantCalls, ConferenceCalls):
    """A ParticipantService and ConferenceService client for one account.

    username/password: an account SID and its auth token, or an API key SID and
    its secret (then account_sid is required). timeout: seconds each unary
    call may take, retries included (None: no deadline; streams never have
    one). keepalive: seconds between HTTP/2 pings while a call (a watch) is
    open; a ping unanswered for keepalive_timeout seconds closes the
    connection, so a watch on a dead link fails and resumes on a new one
    (keepalive 0: no pings; a Rollcall server accepts one every 10 s or slower
    by default).

    TLS: secure=True uses the system's roots; ca_file (the CA that signed the
    server's certificate), cert_file and key_file (mutual TLS) turn it on too;
    server_name checks the certificate against that name instead of the
    target's host. credentials (grpc.ChannelCredentials) replace all of that.
    options: grpc channel options, after (so over) the client's own, e.g.
    ("grpc.lb_policy_name", "round_robin") with a "dns:///host:port" target.
    retries=False turns off grpc's retries and the RetryInfo ones.
    Use `async with`, or call close().
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
        self.account_sid = resolve_account_sid(username, account_sid)
        self.target = target
        self._metadata = (("authorization", basic_credentials(username, password)),)
        if timeout is not None and not (math.isfinite(timeout) and timeout > 0):
            raise ValueError(f"timeout must be positive seconds or None, got {timeout}")
        self._timeout = timeout
        self._retries = retries
        self.tls = ChannelTls(secure, ca_file, cert_file, key_file, server_name)
        self._channel = make_channel(
            target,
            tls=self.tls,
            credentials=credentials,
            base_options=channel_options(keepalive, keepalive_timeout),
            options=options,
            retries=retries,
        )
        # Methods straight off the channel, with our own (de)serialisation, rather
        # than the generated stub: its .pyi does not type-check against an untyped
        # grpc, and the service descriptor is the same source of truth.
        self._methods: dict[str, Any] = {
            method.name: self._channel.unary_unary(f"/{service.full_name}/{method.name}")
            for service in (_SERVICE, CONFERENCE_SERVICE)
            for method in service.methods
            if not method.server_streaming
        }
        self._watch_method: Any = self._channel.unary_stream(
            f"/{_SERVICE.full_name}/WatchConference"
        )
        self._watch_account_method: Any = self._channel.unary_stream(
            f"/{_SERVICE.full_name}/WatchAccount"
        )
        self._closed = False

    async def __aenter__(self) -> AsyncRollcallClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the channel: calls in flight fail, watches stop reconnecting."""
        self._closed = True
        await self._channel.close()

    def conference_name(self, conference: str) -> str:
        """accounts/{AC}/conferences/{conference SID or friendly name}."""
        return f"accounts/{self.account_sid}/conferences/{conference}"

    def participant_name(self, conference: str, participant: str) -> str:
        """accounts/{AC}/conferences/{CF}/participants/{call SID or label}."""
        return f"{self.conference_name(conference)}/participants/{participant}"

    async def _call(self, method: str, request: Message, response: type[_Response]) -> _Response:
        payload = request.SerializeToString()

        async def attempt(seconds_left: float | None) -> bytes:
            try:
                data: bytes = await self._methods[method](
                    payload, metadata=self._metadata, timeout=seconds_left
                )
            except grpc.RpcError as exc:
                raise RollcallClientError.from_rpc_error(exc) from exc
            return data

        data = await call_retrying(
            attempt, seconds=self._timeout, retry=self._retries and method in _RETRIED
        )
        return response.FromString(data)

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
        attributes: Iterable[str] = (),
    ) -> AsyncGenerator[WatchItem, None]:
        """Follow a conference: a snapshot (or every event after
        resume_after_revision), then live events and progress markers.

        event_types: Twilio words ("participant-mute"), proto names or numbers
        (none: every type but participant-speaking, sent only when named);
        participants: call SIDs or labels; attributes: `key=value` pairs a
        participant must all have (the filters apply on the server;
        progress markers still flow, so resuming skips filtered events cheaply).
        With reconnect, a broken stream is reopened by itself (see
        clients.watch; a Reconnected item says how); without it, errors raise.
        A stream that delivers nothing for idle_timeout seconds is taken for
        dead and broken (DEADLINE_EXCEEDED, STREAM_IDLE); None: three of the
        progress intervals the server announces (10 s by default, so 30 s).
        The iteration ends when the conference ends. No deadline applies.
        Close the generator (aclose, or leave `async for`) to cancel the stream.
        Bad arguments raise ValueError here, before anything is sent.
        """
        if max_backoff <= 0:
            raise ValueError("max_backoff must be positive")
        if idle_timeout is not None and not (math.isfinite(idle_timeout) and idle_timeout > 0):
            raise ValueError("idle_timeout must be positive")
        # One value given bare is one value, not a sequence of characters.
        if isinstance(event_types, str):
            event_types = (event_types,)
        if isinstance(participants, str):
            participants = (participants,)
        request = pb.WatchConferenceRequest(
            parent=self.conference_name(conference),
            event_types=[event_type_number(value) for value in event_types],
            participants=list(participants),
            attributes=attribute_pairs(attributes),
        )
        if resume_after_revision is not None:
            if resume_after_revision < 0:
                raise ValueError("resume_after_revision must not be negative")
            request.resume_after_revision = resume_after_revision
        return watch_stream(
            self._open_watch,
            request,
            reconnect=reconnect,
            max_backoff=max_backoff,
            idle_timeout=idle_timeout,
            closed=lambda: self._closed,
        )

    def _open_watch(self, request: pb.WatchConferenceRequest, wait_for_ready: bool) -> Any:
        return self._watch_method(
            request.SerializeToString(), metadata=self._metadata, wait_for_ready=wait_for_ready
        )

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
        attributes: Iterable[str] = (),
    ) -> AsyncGenerator[AccountItem, None]:
        """Follow every conference of the account (a floor): a snapshot of the
        live conferences and their participants (or, given a cursor, every
        event after it), then every event of every conference, with progress
        markers. Fold the items with clients.FloorState.

        friendly_name_prefix, event_types (Twilio words, proto names or
        numbers), participant_labels and attributes (`key=value` pairs) filter
        on the server, and are bound
        into the cursors (resume with the same ones). With reconnect, a broken
        stream resumes from the last cursor by itself, and an expired cursor
        starts over from a snapshot (a Reconnected item says which; see
        clients.watch_account); without it, errors raise. idle_timeout: as
        for watch(). The iteration never ends by itself: close the generator
        (aclose, or leave `async for`) to cancel the stream.
        """
        if max_backoff <= 0:
            raise ValueError("max_backoff must be positive")
        if idle_timeout is not None and not (math.isfinite(idle_timeout) and idle_timeout > 0):
            raise ValueError("idle_timeout must be positive")
        if isinstance(event_types, str):
            event_types = (event_types,)
        if isinstance(participant_labels, str):
            participant_labels = (participant_labels,)
        request = pb.WatchAccountRequest(
            parent=f"accounts/{self.account_sid}",
            cursor=cursor or "",
            friendly_name_prefix=friendly_name_prefix,
            event_types=[event_type_number(value) for value in event_types],
            participant_labels=list(participant_labels),
            attributes=attribute_pairs(attributes),
        )
        return watch_account_stream(
            self._open_watch_account,
            request,
            reconnect=reconnect,
            max_backoff=max_backoff,
            idle_timeout=idle_timeout,
            closed=lambda: self._closed,
        )

    def _open_watch_account(self, request: pb.WatchAccountRequest, wait_for_ready: bool) -> Any:
        return self._watch_account_method(
            request.SerializeToString(), metadata=self._metadata, wait_for_ready=wait_for_ready
        )
