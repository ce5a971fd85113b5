"""A fake Twilio-compatible carrier for tests: HTTP API, signed callbacks, faults on demand.

Written from Twilio's spec and webhook notes (independent of Rollcall's
gateway). It serves, on 127.0.0.1 and an ephemeral port, with HTTP Basic auth
(account SID + auth token, or an API key of the account):
  POST   /2010-04-01/Accounts/{AC}/Conferences/{CF or name}/Participants.json  (201)
  GET|POST|DELETE .../Conferences/{CF}/Participants/{CA or label}.json      (200/200/204)
  POST   .../Conferences/{CF}.json  Status=completed | AnnounceUrl            (200)
  GET    .../Conferences.json?FriendlyName=                                  (200)
  GET    .../Calls/{CA}.json                                                 (200)
It records every request, and sends the callbacks its Network queues, signed
with the account's auth token and carrying I-Twilio-Idempotency-Token, one at
a time: in order, reversed, twice, or not at all (`delivery`), or held until
`release()`. Faults are queued with `fail_next()` and consumed by the next
matching request: 429, 404, 500 (before or after placing the call), a dropped
connection (before or after placing it), or a hang until the carrier closes.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import dataclasses
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode

import aiohttp
from aiohttp import web
from twilio.request_validator import RequestValidator

from service.clock import ManualClock
from tests.fakes.carrier_state import (
    Call,
    Callback,
    Network,
    call_json,
    participant_json,
    sid,
)

PREFIX = "/2010-04-01/Accounts/{account}"
MAGIC = {
    ("To", "+15005550001"): (21217, "Phone number does not appear to be valid"),
    ("From", "+15005550001"): (21212, "Invalid From Number (caller ID)"),
}


@dataclasses.dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    form: list[tuple[str, str]]
    query: list[tuple[str, str]]
    user: str | None
    headers: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Delivered:
    callback: Callback
    status: int | None  # None: the receiver could not be reached


@dataclasses.dataclass
class Fault:
    # 429 | 404 | 500 | 500_after | drop | drop_after | hang | stall
    # (stall: answered normally once unstall() is called)
    kind: str
    method: str = "POST"
    path_endswith: str = "/Participants.json"


def _error(status: int, code: int, message: str) -> web.Response:
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return web.json_response(body, status=status)


class FakeCarrier:
    def __init__(
        self, accounts: dict[str, str], api_keys: dict[str, tuple[str, str]] | None = None
    ):
        self.accounts = dict(accounts)
        self.api_keys = dict(api_keys or {})
        self.clock = ManualClock()
        self.network = Network(self.clock, self._queue_callback)
        self.requests: list[Recorded] = []
        self.faults: deque[Fault] = deque()
        # Seconds a 429 fault asks the client to wait (Retry-After).
        self.retry_after = 1
        self.deliveries: list[Delivered] = []
        # in_order | reverse | twice | none
        self.delivery = "in_order"
        self.holding = False
        self._held: list[Callback] = []
        self._outbox: asyncio.Queue[Callback] = asyncio.Queue()
        self._closing = asyncio.Event()
        self._unstalled = asyncio.Event()
        self._arrived = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._sender: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- knobs ------------------------------------------------------------------

    def fail_next(self, kind: str, *, times: int = 1, method: str = "POST", path: str = "") -> None:
        for _ in range(times):
            self.faults.append(Fault(kind, method, path or "/Participants.json"))

    def release(self, *, reverse: bool = False) -> None:
        held, self._held = self._held, []
        for callback in reversed(held) if reverse else held:
            self._outbox.put_nowait(callback)

    def unstall(self) -> None:
        """Let every stalled request (and any later one) be answered."""
        self._unstalled.set()

    async def requested(self, predicate: Callable[[Recorded], bool]) -> Recorded:
        """The first request matching `predicate`, once it has arrived."""
        async with self._arrived:
            await self._arrived.wait_for(lambda: any(predicate(r) for r in self.requests))
        return next(r for r in self.requests if predicate(r))

    async def let_time_pass(self, seconds: float) -> None:
        await self.clock.advance(seconds)
        await self.settle()

    async def settle(self) -> None:
        """Wait until every queued callback has been sent (and answered)."""
        await self._outbox.join()

    def placed(self, method: str = "POST") -> list[Recorded]:
        return [
            r for r in self.requests if r.method == method and r.path.endswith("/Participants.json")
        ]

    def calls_to(self, to: str) -> list[Call]:
        return [c for c in self.network.calls.values() if c.to == to]

    # -- lifecycle ----------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/2010-04-01/Accounts/{account}/{rest:.*}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self._session = aiohttp.ClientSession()
        self._sender = asyncio.create_task(self._send_loop())

    async def close(self) -> None:
        self._closing.set()
        if self._sender is not None:
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- callbacks ---------------------------------------------------------------

    def _queue_callback(self, callback: Callback) -> None:
        if self.delivery == "none":
            return
        if self.holding or self.delivery == "reverse":
            self._held.append(callback)
            return
        self._outbox.put_nowait(callback)
        if self.delivery == "twice":
            self._outbox.put_nowait(callback)

    async def _send_loop(self) -> None:
        assert self._session is not None
        while True:
            callback = await self._outbox.get()
            try:
                token = self.accounts[callback.account_sid]
                headers = {
                    "Content-Type": "application/x-www-form-urlencoded",
                    "X-Twilio-Signature": RequestValidator(token).compute_signature(
                        callback.url, callback.params
                    ),
                    "I-Twilio-Idempotency-Token": callback.token,
                    "User-Agent": "TwilioProxy/1.1",
                }
                status: int | None
                try:
                    async with self._session.post(
                        callback.url, data=urlencode(callback.params), headers=headers
                    ) as response:
                        status = response.status
                except (aiohttp.ClientError, OSError):
                    status = None
                self.deliveries.append(Delivered(callback, status))
            finally:
                self._outbox.task_done()

    # -- HTTP ---------------------------------------------------------------------

    def _user(self, request: web.Request, account: str) -> str | None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return None
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        if user.startswith("SK"):
            secret, owner = self.api_keys.get(user, ("", ""))
            return user if secret and secret == password and owner == account else None
        return user if self.accounts.get(user) == password and user == account else None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        account = request.match_info["account"]
        rest = request.match_info["rest"]
        form = list((await request.post()).items()) if request.method == "POST" else []
        pairs = [(k, v) for k, v in form if isinstance(v, str)]
        user = self._user(request, account)
        self.requests.append(
            Recorded(
                request.method,
                request.path,
                pairs,
                list(parse_qsl(request.query_string)),
                user,
                dict(request.headers),
            )
        )
        async with self._arrived:
            self._arrived.notify_all()
        if user is None:
            return _error(401, 20003, "Authenticate")
        fault = self._fault(request)
        if fault == "429":
            limited = _error(429, 20429, "Too Many Requests")
            limited.headers["Retry-After"] = str(self.retry_after)
            return limited
        if fault == "500":
            return _error(500, 20500, "Internal Server Error")
        if fault == "404":
            return _error(404, 20404, "The requested resource was not found")
        if fault == "21220":
            # Twilio's error catalogue: a realtime operation (mute, hold,
            # announce) on a call that is no longer in progress.
            return _error(400, 21220, "Invalid call state")
        if fault == "drop":
            return self._drop(request)
        if fault == "hang":
            await self._closing.wait()
            return self._drop(request)
        if fault == "stall":
            await self._unstalled.wait()
        multi: dict[str, list[str]] = {}
        for k, v in pairs:
            multi.setdefault(k, []).append(v)
        response = self._route(request.method, account, rest, multi, request.query)
        if fault == "500_after":
            return _error(500, 20500, "Internal Server Error")
        if fault == "drop_after":
            return self._drop(request)
        return response

    def _fault(self, request: web.Request) -> str | None:
        if self.faults:
            head = self.faults[0]
            if head.method == request.method and request.path.endswith(head.path_endswith):
                return self.faults.popleft().kind
        return None

    @staticmethod
    def _drop(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.close()
        return web.Response(status=500)

    def _route(
        self, method: str, account: str, rest: str, form: dict[str, list[str]], query: Any
    ) -> web.Response:
        parts = rest.split("/")
        net = self.network
        if parts == ["Conferences.json"] and method == "GET":
            name = query.get("FriendlyName")
            found = [c for c in net.conferences.values() if c.account_sid == account]
            found = [c for c in found if name is None or c.friendly_name == name]
            return web.json_response(
                {
                    "conferences": [
                        {"sid": c.sid, "friendly_name": c.friendly_name, "status": c.status}
                        for c in found
                    ]
                }
            )
        if len(parts) == 2 and parts[0] == "Calls" and method == "POST" and "Twiml" in form:
            call = net.calls.get(parts[1].removesuffix(".json"))
            if call is None or call.account_sid != account or not call.live:
                return _error(404, 20404, "The requested resource was not found")
            try:
                net.redirect(call, form["Twiml"][0])
            except ValueError as exc:
                return _error(400, 21205, f"Unsupported TwiML: {exc}")
            return web.json_response(call_json(call))
        if (
            len(parts) == 2
            and parts[0] == "Calls"
            and parts[1].endswith(".json")
            and method == "GET"
        ):
            call = net.calls.get(parts[1][:-5])
            if call is None or call.account_sid != account:
                return _error(404, 20404, "The requested resource was not found")
            return web.json_response(call_json(call))
        if len(parts) == 2 and parts[0] == "Conferences" and parts[1].endswith(".json"):
            conf = net.conference_for(account, parts[1][:-5])
            if conf is None or method != "POST":
                return _error(404, 20404, "The requested resource was not found")
            announce = form.get("AnnounceUrl", [""])[0]
            if announce and conf.status == "completed":
                return _error(400, 20404, "Conference is not in progress")
            if form.get("Status") == ["completed"] and conf.status != "completed":
                net.end_conference(conf, "conference-ended-via-api")
            elif announce:
                # A conference-wide announcement: its end carries no CallSid.
                net.conference_event(conf, "announcement-end", None, AnnounceUrl=announce)
            return web.json_response({"sid": conf.sid, "status": conf.status})
        create = len(parts) == 3 and parts[2] == "Participants.json" and method == "POST"
        if create and parts[0] == "Conferences":
            return self._create(account, parts[1], form)
        if len(parts) == 4 and parts[0] == "Conferences" and parts[2] == "Participants":
            return self._instance(method, account, parts[1], parts[3][:-5], form)
        return _error(404, 20404, "The requested resource was not found")

    def _create(self, account: str, name: str, form: dict[str, list[str]]) -> web.Response:
        def one(key: str, default: str | None = None) -> str | None:
            return form.get(key, [default])[0]

        for (field, number), (code, message) in MAGIC.items():
            if one(field) == number:
                return _error(400, code, message)
        if not one("To") or not one("From"):
            return _error(400, 21201 if not one("To") else 21213, "To and From are required")
        net = self.network
        conf = net.open_conference(account, name, form)
        label = one("Label") or None
        if label and any(c.label == label for c in net.live_calls(conf)):
            return _error(400, 16026, "Participant label is in use by another participant")
        call = Call(
            sid("CA"),
            account,
            conf.sid,
            one("From") or "",
            one("To") or "",
            label,
            callback=one("StatusCallback"),
            events=set(" ".join(form.get("StatusCallbackEvent", ["completed"])).split()),
            muted=one("Muted", "false") == "true",
            # Twilio: Coaching defaults to false unless CallSidToCoach is given.
            coaching=one("Coaching", "true" if one("CallSidToCoach") else "false") == "true",
            call_sid_to_coach=one("CallSidToCoach"),
            end_conference_on_exit=one("EndConferenceOnExit", "false") == "true",
            start_conference_on_enter=one("StartConferenceOnEnter", "true") == "true",
            time_limit=int(one("TimeLimit", "14400") or 14400),
            timeout=int(one("Timeout", "60") or 60),
            date=self.clock.now(),
        )
        net.place(call)
        body = participant_json(call, self.clock.now())
        body["queue_time"] = "0"
        return web.json_response(body, status=201)

    def _instance(
        self, method: str, account: str, conference: str, key: str, form: dict[str, list[str]]
    ) -> web.Response:
        net = self.network
        conf = net.conferences.get(conference)
        calls = [] if conf is None or conf.account_sid != account else net.live_calls(conf)
        call = next((c for c in calls if key in (c.sid, c.label)), None)
        if conf is None or call is None:
            # The Participant resource "will not return results for
            # participants whose call has ended": 404 (code 20404) for those.
            return _error(404, 20404, "The requested resource was not found")
        if method == "GET":
            return web.json_response(participant_json(call, self.clock.now()))
        if method == "DELETE":
            net.end(call, "completed", "participant_updated_via_api")
            return web.Response(status=204)
        net.update(call, form)
        return web.json_response(participant_json(call, self.clock.now()))


@contextlib.asynccontextmanager
async def running(
    accounts: dict[str, str], api_keys: dict[str, tuple[str, str]] | None = None
) -> AsyncIterator[FakeCarrier]:
    carrier = FakeCarrier(accounts, api_keys)
    await carrier.start()
    try:
        yield carrier
    finally:
        await carrier.close()
