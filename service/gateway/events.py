"""Rollcall's own watch routes: the account watch as SSE, and watch tokens for browsers.

Not Twilio's: they live under /rollcall/v1/.
`GET /rollcall/v1/accounts/{AC}/events` streams `text/event-stream`;
`POST /rollcall/v1/accounts/{AC}/watch-tokens` mints a watch token.

Rule 1: the stream is WatchAccount through Upstream, nothing more: the same
        authentication, filters (`prefix`, `type`, `label` query parameters),
        order and cursors as the RPC. Every item with a cursor is one event
        whose `id:` is the cursor; a snapshot's conferences carry none.
Rule 2: `Last-Event-ID` (the header, which EventSource sends when it
        reconnects; else the `lastEventId` or `cursor` query parameter)
        resumes after that cursor. Without one, the stream opens with a
        `snapshot` event: drop what you hold, a snapshot follows.
Rule 3: a progress marker is a comment line (`: keepalive`, which keeps idle
        connections and proxies open at the progress interval) and a
        `progress` event carrying its cursor.
Rule 4: credentials are Basic (the Authorization header) or a watch token,
        as `Authorization: Bearer TOKEN` or `access_token=TOKEN`; the query
        parameter is read here and nowhere else, so a token opens this
        stream and nothing else, and service.redact keeps it out of logs.
Rule 5: a refusal before the stream starts is an HTTP error (JSON, with its
        `reason`); a failure after it is a `stream-error` event, and the
        response ends. CURSOR_EXPIRED is not a failure: a `snapshot` event
        and a fresh snapshot follow in the same response.
Rule 6: a stream ends when its client leaves (noticed at the next write, at
        most a progress interval later), when the service ends it, or when
        the gateway shuts down.
Rule 7: items are framed by gateway.sse_frames: an event's `data:` once
        per replica, by the event's own bytes (a redaction rewrites a
        revision's event in place), and an event in parts once per cursor.
Rule 8: what a stream has to send is written at once when it is about to
        wait (IDLE), or past _FLUSH_BYTES: one write for a stream that fell
        behind, not one per event. Each response is written by its own task,
        so a slow client holds up only itself.
Rule 9: in process, connections of one account, credentials and filters
        that wait at one cursor share one stream (gateway.fanout): framed
        once, written to each by that stream's task. A slow one, or every one
        when the shared stream ends, resumes a stream of its own after the
        last frame it was sent. Watch tokens never share.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import hdrs, web

from clients.words import words_by_number
from rollcall.v1 import participant_service_pb2 as pb
from service.account_events import AccountEvent, Idle
from service.core import errors
from service.core.errors import RollcallError
from service.gateway import incoming
from service.gateway.errors import ErrorResponse, rollcall_error_response
from service.gateway.fanout import Fanout, Key
from service.gateway.sse_frames import encode, error_data, frame, iso
from service.gateway.upstream import WatchItem

NAMESPACE = "/rollcall/v1/accounts/{account}"
EVENTS = NAMESPACE + "/events"
TOKENS = NAMESPACE + "/watch-tokens"
CONTENT_TYPE = "text/event-stream"
ACCESS_TOKEN = "access_token"  # noqa: S105 (a parameter's name)
LAST_EVENT_ID = "Last-Event-ID"
# What EventSource waits before it reconnects (the `retry:` field), in ms.
RETRY_MS = 1000
# Held frames are written once they reach this size (Rule 8).
_FLUSH_BYTES = 65536
_MAX_LABELS = 250

_WORDS = words_by_number(pb.ConferenceEventType.DESCRIPTOR)
_TYPE_NUMBERS = {
    word: pb.ConferenceEventType.ValueType(number) for number, word in _WORDS.items() if number
}


class _Open:
    """The tasks serving event streams, ended at shutdown (Rule 6), and the
    streams they share (Rule 9)."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[Any]] = set()
        self.fanout = Fanout(encode)


_STREAMS_KEY: web.AppKey[_Open] = web.AppKey("rollcall_event_streams")


def refusal(error: RollcallError, request: web.Request) -> ErrorResponse:
    """A Twilio error JSON, plus the reason, for a refusal before the stream (Rule 5)."""
    base = rollcall_error_response(error, request)
    headers = {
        k: v for k, v in base.headers.items() if k.lower() not in ("content-type", "content-length")
    }
    return ErrorResponse({**base.error, "reason": error.reason}, base.status, headers)


def _credentials(request: web.Request) -> str | None:
    """Rule 4: the Authorization header, else the access_token parameter."""
    header = incoming.authorization(request)
    if header is not None:
        return header
    token = request.query.get(ACCESS_TOKEN, "").strip()
    return f"Bearer {token}" if token else None


def _watch_request(request: web.Request, account: str) -> pb.WatchAccountRequest:
    query = request.query
    cursor = (
        incoming.text_header(request, LAST_EVENT_ID)
        or query.get("lastEventId", "").strip()
        or query.get("cursor", "").strip()
    )
    types: list[pb.ConferenceEventType.ValueType] = []
    for word in query.getall("type", []):
        for part in filter(None, (w.strip() for w in word.split(","))):
            if part == "all":  # every type, speaking included (named, so it is sent)
                types.extend(_TYPE_NUMBERS.values())
                continue
            number = _TYPE_NUMBERS.get(part)
            if number is None:
                raise errors.invalid_field("type", f"unknown event type {errors.echo(part)!r}")
            types.append(number)
    labels = [label for label in query.getall("label", []) if label]
    if len(labels) > _MAX_LABELS:
        raise errors.invalid_field("label", f"at most {_MAX_LABELS} labels")
    types = list(dict.fromkeys(types))
    return pb.WatchAccountRequest(
        parent=f"accounts/{account}",
        cursor=cursor,
        friendly_name_prefix=query.get("prefix", ""),
        event_types=types,
        participant_labels=labels,
        # `attribute=role=agent`, repeated (checked upstream, as over gRPC).
        attributes=[pair for pair in query.getall("attribute", []) if pair],
    )


async def watch_events(request: web.Request) -> web.StreamResponse:
    account = incoming.segment(request, "account")
    authorization = _credentials(request)
    upstream = incoming.upstream(request)
    try:
        message = _watch_request(request, account)
        items = await upstream.watch_account(message, authorization)
    except RollcallError as error:
        return refusal(error, request)
    response = web.StreamResponse(
        headers={
            hdrs.CONTENT_TYPE: f"{CONTENT_TYPE}; charset=utf-8",
            hdrs.CACHE_CONTROL: "no-store",
            "X-Accel-Buffering": "no",  # a buffering proxy would hold events back
            "X-Content-Type-Options": "nosniff",
        }
    )
    streams = request.app[_STREAMS_KEY]
    task = asyncio.current_task()
    assert task is not None
    streams.tasks.add(task)
    share: _Share | None = None
    relayed = False  # _relay disposes of the items it is given
    try:
        await response.prepare(request)
        await response.write(f"retry: {RETRY_MS}\n\n".encode())
        scheme = (authorization or "").partition(" ")[0].lower()
        if request.transport is not None and scheme != "bearer":
            share = _Share(
                streams.fanout, _kind(account, authorization, message), request, response
            )
        while True:
            if not message.cursor:
                await response.write(frame("snapshot", {}))
            try:
                relayed = True
                resume = await _relay(items, response, share)
            except RollcallError as error:
                if error.reason != "CURSOR_EXPIRED":
                    await response.write(frame("stream-error", error_data(error)))
                    return response
                message.cursor = ""  # Rule 5: start over from a snapshot, in this response
            else:
                if resume is None:
                    return response
                message.cursor = resume  # Rule 9: let go by a shared stream
            try:
                items = await upstream.watch_account(message, authorization)
                relayed = False
            except RollcallError as error:
                await response.write(frame("stream-error", error_data(error)))
                return response
    except ConnectionError:
        return response  # the client left (Rule 6)
    finally:
        streams.tasks.discard(task)
        if not relayed:
            await _close(items)


def _kind(account: str, authorization: str | None, message: pb.WatchAccountRequest) -> Key:
    """What streams share one (Rule 9): the account, the credentials, the filters."""
    return (
        account,
        authorization,
        message.friendly_name_prefix,
        tuple(sorted(message.event_types)),
        tuple(sorted(message.participant_labels)),
        tuple(message.attributes),
    )


class _Share:
    """One connection's way into the gateway's shared streams (Rule 9)."""

    def __init__(
        self, fanout: Fanout, key: Key, request: web.Request, response: web.StreamResponse
    ) -> None:
        self.fanout = fanout
        self.key = key
        assert request.transport is not None
        self.transport = request.transport
        # How aiohttp began the body (chunked on HTTP/1.1), to write as it does.
        self.chunked = response.headers.get(hdrs.TRANSFER_ENCODING) == "chunked"

    async def follow(self, cursor: str, items: AsyncIterator[WatchItem]) -> str | None:
        """None when the stream is not shared here (read it on). Else `items`
        are no longer the caller's, and once the shared stream lets this
        connection go, the cursor to resume after (ConnectionResetError when
        its client left)."""
        follower = await self.fanout.follow(self.key, cursor, items, self.transport, self.chunked)
        if follower is None:
            return None
        try:
            resumed = await follower.done
        finally:
            self.fanout.leave(self.key, follower)
            if follower.parked is not None:
                await _close(follower.parked)
        if not resumed:
            raise ConnectionResetError("the client left")
        return follower.cursor


async def _relay(
    items: AsyncIterator[WatchItem], response: web.StreamResponse, share: _Share | None = None
) -> str | None:
    """Rule 8: events are held until the stream is about to wait; anything
    else (a snapshot's item, progress, a stream read over gRPC, which never
    marks its waits) goes out at once with what was held before it. Rule 9:
    at each wait the stream may become shared; then the cursor to resume
    after once the shared stream lets this one go (None: the stream ended)."""
    held: list[bytes] = []
    size = 0
    cursor = ""
    owned = True
    try:
        async for item in items:
            if type(item) is Idle:
                if held:
                    await response.write(b"".join(held))
                    held.clear()
                    size = 0
                if share is not None and cursor:
                    owned = False  # from here on the fanout's, unless it declines
                    resume = await share.follow(cursor, items)
                    if resume is not None:
                        return resume
                    owned = True
                continue
            framed = encode(item)
            held.append(framed)
            size += len(framed)
            cursor = item.cursor or cursor
            if type(item) is not AccountEvent or size >= _FLUSH_BYTES:
                await response.write(b"".join(held))
                held.clear()
                size = 0
        return None
    finally:
        try:
            if held:  # what came before a failure goes out before its stream-error
                await response.write(b"".join(held))
        finally:
            if owned:
                await _close(items)


async def _close(items: AsyncIterator[WatchItem]) -> None:
    close = getattr(items, "aclose", None)
    if close is not None:
        await close()


async def create_watch_token(request: web.Request) -> web.Response:
    """Mint a watch token with the caller's Basic credentials (never with a token)."""
    account = incoming.segment(request, "account")
    await incoming.read_form(request)  # an empty body or a form; nothing in it is read
    try:
        minted = await incoming.upstream(request).create_watch_token(
            pb.CreateWatchTokenRequest(parent=f"accounts/{account}"),
            incoming.authorization(request),
        )
    except RollcallError as error:
        return refusal(error, request)
    body = {
        "account_sid": account,
        "token": minted.token,
        "expires_at": iso(minted.expire_time),
        # Relative, so a browser whose clock is off still knows when to mint again.
        "expires_in": minted.ttl_seconds,
    }
    return web.json_response(body, status=201, headers={hdrs.CACHE_CONTROL: "no-store"})


async def _end_streams(app: web.Application) -> None:
    """At shutdown the streams end at once (Rule 6); their clients reconnect."""
    for task in list(app[_STREAMS_KEY].tasks):
        task.cancel()
    await app[_STREAMS_KEY].fanout.close()


def add_routes(app: web.Application) -> None:
    """Needs the participant routes' Upstream already in `app`."""
    app[_STREAMS_KEY] = _Open()
    app.on_shutdown.append(_end_streams)
    app.router.add_get(EVENTS, watch_events)
    app.router.add_post(TOKENS, create_watch_token)
