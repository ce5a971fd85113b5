"""REST fuzz: hypothesis throws hostile requests at a real server's gateway.

One real Rollcall (in-process gateway, real SQLite, manual clock) runs on its
own thread and event loop; each example is one raw HTTP/1.1 request over a
real socket: random methods and paths around Twilio's URIs, hostile headers
(credentials of both accounts, garbage, non-ASCII, encodings), random form
fields and values, random and mis-encoded bodies. For every answer: no 5xx,
every error is Twilio's error document, a failed request changed nothing in
the database, and the server's log holds no traceback and no credential.
Examples are bounded (derandomized, a fixed count) so the suite stays fast.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import hashlib
import io
import json
import logging
import socket
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from xml.etree import ElementTree

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.app import App
from service.clock import ManualClock
from tests.conftest import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    KEY_SECRET,
    KEY_SID,
    OTHER_SID,
    OTHER_TOKEN,
    basic,
    make_settings,
)
from tests.gateway.rest_fuzz_strategies import FORM, hostile_requests, request

pytestmark = pytest.mark.slow

ERROR_KEYS = {"code", "message", "more_info", "status"}
SECRETS = (AUTH_TOKEN, OTHER_TOKEN, KEY_SECRET)
FUZZ = settings(
    max_examples=1000,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class LogCapture(logging.Handler):
    """Every record any logger of the process emits, formatted with its traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


class ServerThread:
    """A real server on its own loop and thread, so sync hypothesis tests can call it."""

    def __init__(self, tmp_path: Path) -> None:
        self.settings = make_settings(
            tmp_path,
            # Any callback URL a fuzzed create carries may reach nothing.
            callback_deny_networks="0.0.0.0/0,::/0",
            http_header_timeout_seconds=1.0,
            http_body_timeout_seconds=1.0,
            http_idle_timeout_seconds=0.5,
        )
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.app = App(self.settings, clock=ManualClock())

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=60)

    def __enter__(self) -> ServerThread:
        self.thread.start()
        self.run(self.app.start())
        assert self.app.http_port is not None
        self.port = self.app.http_port
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.run(self.app.stop(grace=0.5))
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)
            self.loop.close()

    def state(self) -> str:
        """A digest of everything a request could have changed."""
        with contextlib.closing(sqlite3.connect(self.settings.database)) as db:
            rows = [
                db.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()  # noqa: S608
                for table in ("conferences", "participants", "requests")
            ]
            rows.append(db.execute("SELECT COUNT(*) FROM events").fetchall())
        return hashlib.sha256(repr(rows).encode()).hexdigest()


@pytest.fixture(scope="module")
def capture() -> Iterator[LogCapture]:
    handler = LogCapture()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    # aiosqlite's DEBUG lines (every statement) only slow the suite down.
    quiet = logging.getLogger("aiosqlite")
    quiet_level = quiet.level
    quiet.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        quiet.setLevel(quiet_level)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, capture: LogCapture) -> Iterator[ServerThread]:
    with ServerThread(tmp_path_factory.mktemp("fuzz")) as running:
        yield running


@pytest.fixture(scope="module")
def seeded(server: ServerThread) -> dict[str, str]:
    """One participant to aim at: its conference and call SIDs and its label."""
    body = urlencode({"From": "+15005550006", "To": "+15551230000", "Label": "seed"}).encode()
    reply = exchange(
        server.port,
        request(
            "POST",
            f"/2010-04-01/Accounts/{ACCOUNT_SID}/Conferences/room/Participants.json",
            {"Authorization": basic(ACCOUNT_SID, AUTH_TOKEN), "Content-Type": FORM},
            body,
        ),
    )
    assert reply.status == 201, reply.body
    created = json.loads(reply.body)
    return {"conference": created["conference_sid"], "call": created["call_sid"]}


# -- raw HTTP ---------------------------------------------------------------------


class Reply:
    """A raw answer; status 0 when the server closed without one (a request head
    that never completed, dropped by the idle or header deadline)."""

    def __init__(self, raw: bytes) -> None:
        head, _, self.body = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1]) if raw else 0
        self.headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()


def exchange(port: int, data: bytes) -> Reply:
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return Reply(b"".join(chunks))


def assert_twilio_error(reply: Reply, method: str) -> None:
    if method == "HEAD":
        return  # no body to judge
    content_type = reply.headers.get("content-type", "")
    if "xml" in content_type:
        # Twilio's XML edition of the same four facts.
        root = ElementTree.fromstring(reply.body)  # noqa: S314 (our own server's answer)
        exception = root.find("RestException")
        assert exception is not None, reply.body
        assert exception.findtext("Status") == str(reply.status)
        assert exception.findtext("Code")
        assert exception.findtext("Message") is not None
        return
    if content_type.startswith("text/csv"):
        # The CSV edition: a header row of the four facts and one row.
        rows = list(csv.DictReader(io.StringIO(reply.body.decode())))
        assert len(rows) == 1, reply.body
        assert set(rows[0]) == {"Code", "Message", "MoreInfo", "Status"}, reply.body
        assert rows[0]["Status"] == str(reply.status)
        assert rows[0]["Code"]
        return
    assert content_type.startswith("application/json"), (reply.status, reply.body[:200])
    body = json.loads(reply.body)
    assert set(body) == ERROR_KEYS, body
    assert body["status"] == reply.status
    assert isinstance(body["code"], int)
    assert body["more_info"] == f"https://www.twilio.com/docs/errors/{body['code']}"


def assert_clean_log(capture: LogCapture, since: int = 0) -> None:
    """No traceback and no credential in what was logged after line `since`."""
    lines = capture.lines[since:]
    tracebacks = [line for line in lines if "Traceback" in line]
    assert tracebacks == [], tracebacks[:3]
    text = "\n".join(lines)
    for secret in SECRETS:
        assert secret not in text
    for user, password in (
        (ACCOUNT_SID, AUTH_TOKEN),
        (OTHER_SID, OTHER_TOKEN),
        (KEY_SID, KEY_SECRET),
    ):
        assert basic(user, password).split()[1] not in text


# -- the properties -----------------------------------------------------------------


def check(server: ServerThread, capture: LogCapture, method: str, raw: bytes) -> None:
    logged = len(capture.lines)
    before = server.state()
    reply = exchange(server.port, raw)
    assert reply.status < 500, (reply.status, reply.body[:300])
    if reply.status >= 400:
        assert_twilio_error(reply, method)
        assert server.state() == before, "a failed request changed the database"
    assert_clean_log(capture, logged)


def test_hostile_requests_get_typed_4xx_and_change_nothing(
    server: ServerThread, seeded: dict[str, str], capture: LogCapture
) -> None:
    @FUZZ
    @given(hostile_requests(seeded))
    def run(case: tuple[str, bytes]) -> None:
        check(server, capture, *case)

    run()


def test_random_bytes_on_the_wire_get_twilio_json(
    server: ServerThread, capture: LogCapture
) -> None:
    @settings(FUZZ, max_examples=400)
    @given(st.binary(min_size=1, max_size=400).map(lambda b: b + b"\r\n\r\n"))
    def run(raw: bytes) -> None:
        check(server, capture, "GET", raw)

    run()
