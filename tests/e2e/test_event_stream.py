"""End to end: the account watch as Server-Sent Events from a server process,
read over real HTTP: snapshot then events, resuming by Last-Event-ID, keepalive
comments, Basic credentials and watch tokens (what they open and what they do
not), CORS off by default and on for a named origin, and no token in the log."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, KEY_SECRET, KEY_SID, OTHER_SID, OTHER_TOKEN
from tests.e2e.process import ServerProcess
from tests.sse import WAIT, EventStream

ALLOWED = "http://console.example:8443"


@contextlib.contextmanager
def server(tmp_path: Path, **env: str) -> Iterator[ServerProcess]:
    process = ServerProcess(
        tmp_path / "events.sqlite3",
        ROLLCALL_HTTP_LISTEN="127.0.0.1:0",
        ROLLCALL_SIM_RING_SECONDS="0",
        **env,
    )
    process.log = tmp_path / "server.log"
    try:
        process.start()
        yield process
    finally:
        process.close()


class Rest:
    """The server's REST gateway, as a server-side client calls it."""

    def __init__(self, session: aiohttp.ClientSession, process: ServerProcess) -> None:
        self.session = session
        self.base = f"http://127.0.0.1:{process.http_port}"

    def auth(self, user: str = ACCOUNT_SID, password: str = AUTH_TOKEN) -> dict[str, str]:
        return {"Authorization": aiohttp.encode_basic_auth(user, password)}

    def events_url(self, account: str = ACCOUNT_SID) -> str:
        return f"{self.base}/rollcall/v1/accounts/{account}/events"

    async def create(self, conference: str, label: str, to: str, **more: str) -> dict[str, Any]:
        url = (
            f"{self.base}/2010-04-01/Accounts/{ACCOUNT_SID}/Conferences/{conference}"
            "/Participants.json"
        )
        form = {"From": "+15005550006", "To": to, "Label": label, **more}
        async with self.session.post(url, data=form, headers=self.auth()) as response:
            assert response.status == 201, await response.text()
            return dict(await response.json())

    async def update(self, conference_sid: str, key: str, **form: str) -> dict[str, Any]:
        url = (
            f"{self.base}/2010-04-01/Accounts/{ACCOUNT_SID}/Conferences/{conference_sid}"
            f"/Participants/{key}.json"
        )
        async with self.session.post(url, data=form, headers=self.auth()) as response:
            assert response.status == 200, await response.text()
            return dict(await response.json())

    async def end(self, conference_sid: str) -> None:
        url = f"{self.base}/2010-04-01/Accounts/{ACCOUNT_SID}/Conferences/{conference_sid}.json"
        async with self.session.post(url, data={"Status": "completed"}, headers=self.auth()) as r:
            assert r.status == 200, await r.text()

    async def mint(self, account: str = ACCOUNT_SID, password: str = AUTH_TOKEN) -> dict[str, Any]:
        url = f"{self.base}/rollcall/v1/accounts/{account}/watch-tokens"
        async with self.session.post(url, headers=self.auth(account, password)) as response:
            assert response.status == 201, await response.text()
            return dict(await response.json())

    @contextlib.asynccontextmanager
    async def watch(
        self,
        account: str = ACCOUNT_SID,
        *,
        headers: dict[str, str] | None = None,
        auth: dict[str, str] | None = None,
        **params: str,
    ) -> AsyncIterator[EventStream]:
        # The stream has no end, but its headers come at once: bounded.
        response = await asyncio.wait_for(
            self.session.get(
                self.events_url(account),
                params=params,
                headers={**(auth or {}), **(headers or {})},
                timeout=aiohttp.ClientTimeout(total=None, sock_read=None),
            ),
            WAIT,
        )
        assert response.status == 200, await response.text()
        assert response.headers["Content-Type"].startswith("text/event-stream")
        stream = EventStream(response)
        try:
            yield stream
        finally:
            stream.close()

    async def refused(self, url: str, method: str = "GET", **kwargs: Any) -> dict[str, Any]:
        async with self.session.request(method, url, **kwargs) as response:
            assert response.status == 401, (response.status, await response.text())
            return dict(await response.json())


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


def _status(stream: EventStream, call_sid: str) -> str | None:
    """A participant's latest status on `stream` (snapshot, then changes)."""
    status = None
    for item in stream.snapshot.values():
        for p in item["participants"]:
            if p["call_sid"] == call_sid:
                status = p["status"]
    for change in stream.changes():
        p = change["participant"]
        if p is not None and p["call_sid"] == call_sid:
            status = p["status"]
    return status


async def settled(stream: EventStream, *participants: dict[str, Any]) -> None:
    """Until every participant's call is connected on `stream`: no call
    progress is left to arrive later."""
    for p in participants:
        while _status(stream, p["call_sid"]) != "connected":
            await stream.next()


async def until_type(stream: EventStream, conference_sid: str, kind: str) -> int:
    while True:
        change = (await stream.until("change")).json
        if change["conference"]["sid"] == conference_sid and change["type"] == kind:
            return int(change["revision"])


def positions(stream: EventStream) -> dict[str, int]:
    """The revision `stream` has reached in each conference."""
    at = {sid: int(item["revision"]) for sid, item in stream.snapshot.items()}
    for sid, revisions in stream.revisions.items():
        at[sid] = max(at.get(sid, 0), *revisions)
    return at


async def test_snapshot_then_events(tmp_path: Path, session: aiohttp.ClientSession) -> None:
    with server(tmp_path) as process:
        rest = Rest(session, process)
        agent = await rest.create("desk-1", "agent", "+15551230401")
        await rest.create("desk-1", "customer", "+15551230402")
        other = await rest.create("desk-2", "agent", "+15551230403")
        async with rest.watch(auth=rest.auth()) as stream:
            opening = await stream.next()
            assert opening.retry is not None
            assert (await stream.next()).event == "snapshot"  # drop what you hold
            done = await stream.until("snapshot-complete")
            assert done.json == {"conferences": 2}
            assert done.id and done.id.startswith("AW")
            assert set(stream.snapshot) == {agent["conference_sid"], other["conference_sid"]}
            desk = stream.snapshot[agent["conference_sid"]]
            assert desk["conference"]["friendly_name"] == "desk-1"
            assert {p["label"] for p in desk["participants"]} == {"agent", "customer"}
            assert all(b.id is None for b in stream.blocks if b.event == "conference")
            await rest.update(agent["conference_sid"], "agent", Muted="true")
            at = await until_type(stream, agent["conference_sid"], "participant-mute")
            mute = stream.blocks[-1]
            assert mute.id and mute.id != done.id
            assert mute.json["participant"]["call_sid"] == agent["call_sid"]
            assert mute.json["participant"]["muted"] is True
            # Every event of the conference after the snapshot's revision, once, in order.
            revisions = stream.revisions[agent["conference_sid"]]
            assert revisions == list(range(desk["revision"] + 1, at + 1))
            # A conference begun after the snapshot arrives from its first event.
            new = await rest.create("desk-3", "agent", "+15551230404")
            await stream.until_revision(new["conference_sid"], 1)


async def test_resume_with_last_event_id_sends_exactly_the_missing_events_once(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    with server(tmp_path) as process:
        rest = Rest(session, process)
        one = await rest.create("one", "a", "+15551230411")
        two = await rest.create("two", "a", "+15551230412")
        # A stream open throughout: what happened, to compare with.
        async with rest.watch(auth=rest.auth()) as truth:
            await truth.until("snapshot-complete")
            await settled(truth, one, two)
            async with rest.watch(auth=rest.auth()) as first:
                await first.until("snapshot-complete")
                await rest.update(one["conference_sid"], "a", Muted="true")
                await until_type(first, one["conference_sid"], "participant-mute")
                cursor, at = first.last_id, positions(first)
            # While nobody watches: more in both, a conference begun and ended.
            await rest.update(one["conference_sid"], "a", Muted="false")
            await rest.update(two["conference_sid"], "a", Hold="true")
            brief = await rest.create("brief", "a", "+15551230413")
            await rest.end(brief["conference_sid"])
            await until_type(truth, one["conference_sid"], "participant-unmute")
            await until_type(truth, two["conference_sid"], "participant-hold")
            await until_type(truth, brief["conference_sid"], "conference-end")
            missed = {
                sid: [r for r in revisions if r > at.get(sid, 0)]
                for sid, revisions in truth.revisions.items()
            }
            missed = {sid: revisions for sid, revisions in missed.items() if revisions}
            assert set(missed) == {s["conference_sid"] for s in (one, two, brief)}
            async with rest.watch(auth=rest.auth(), headers={"Last-Event-ID": cursor}) as resumed:
                for sid, revisions in missed.items():
                    await resumed.until_revision(sid, revisions[-1])
                assert all(b.event not in ("snapshot", "conference") for b in resumed.blocks)
                assert resumed.revisions == missed
                assert missed[brief["conference_sid"]][0] == 1
                # And live from there, once.
                await rest.update(one["conference_sid"], "a", Muted="true")
                live = await until_type(resumed, one["conference_sid"], "participant-mute")
                assert resumed.revisions[one["conference_sid"]] == [
                    *missed[one["conference_sid"]],
                    live,
                ]
                newest = resumed.last_id
        # The query parameter resumes as the header does (for clients that set
        # no headers), and the header wins over it: EventSource's reconnect
        # sends the newer cursor in the header beside the URL it began with.
        async with rest.watch(auth=rest.auth(), lastEventId=newest) as by_query:
            await rest.update(one["conference_sid"], "a", Muted="false")
            unmuted = await until_type(by_query, one["conference_sid"], "participant-unmute")
            assert by_query.revisions == {one["conference_sid"]: [unmuted]}
            newest = by_query.last_id
        async with rest.watch(
            auth=rest.auth(), headers={"Last-Event-ID": newest}, lastEventId=cursor
        ) as both:
            await rest.update(two["conference_sid"], "a", Hold="false")
            unheld = await until_type(both, two["conference_sid"], "participant-unhold")
            assert both.revisions == {two["conference_sid"]: [unheld]}


async def test_streams_of_one_kind_share_and_other_filters_never_do(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    """Two clients of one account and filters at one cursor share one stream
    (gateway.fanout); a client with other filters gets only its own; one
    leaving stops no one."""
    with server(tmp_path) as process:
        rest = Rest(session, process)
        sales = await rest.create("sales-1", "a", "+15551230431")
        support = await rest.create("support-1", "a", "+15551230432")
        async with (
            rest.watch(auth=rest.auth()) as first,
            rest.watch(auth=rest.auth()) as second,
            rest.watch(auth=rest.auth(), prefix="sales-") as only_sales,
        ):
            streams = (first, second, only_sales)
            for stream in streams:
                await stream.until("snapshot-complete")
            await settled(first, sales, support)
            await settled(second, sales, support)
            await settled(only_sales, sales)
            # Each stream's snapshot may be taken at another point of the calls'
            # progress: what is compared is what each got after settling.
            marks = {id(s): {c: len(r) for c, r in s.revisions.items()} for s in streams}

            def since(stream: EventStream) -> dict[str, list[int]]:
                mark = marks[id(stream)]
                got = {c: r[mark.get(c, 0) :] for c, r in stream.revisions.items()}
                return {c: r for c, r in got.items() if r}

            await rest.update(support["conference_sid"], "a", Muted="true")
            await rest.update(sales["conference_sid"], "a", Muted="true")
            muted = {}
            for stream in (first, second):
                muted[support["conference_sid"]] = await until_type(
                    stream, support["conference_sid"], "participant-mute"
                )
                await until_type(stream, sales["conference_sid"], "participant-mute")
            await until_type(only_sales, sales["conference_sid"], "participant-mute")
            assert since(first) == since(second)
            assert set(only_sales.revisions) == {sales["conference_sid"]}
            assert since(only_sales) == {
                sales["conference_sid"]: since(first)[sales["conference_sid"]]
            }
            second.close()
            await rest.update(support["conference_sid"], "a", Muted="false")
            unmuted = await until_type(first, support["conference_sid"], "participant-unmute")
            assert first.revisions[support["conference_sid"]][-2:] == [
                muted[support["conference_sid"]],
                unmuted,
            ]
            # The filtered stream never saw the other conference's change.
            await rest.update(sales["conference_sid"], "a", Muted="false")
            await until_type(only_sales, sales["conference_sid"], "participant-unmute")
            assert set(only_sales.revisions) == {sales["conference_sid"]}


async def test_keepalive_comments_carry_the_cursor(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    with server(tmp_path, ROLLCALL_WATCH_PROGRESS_SECONDS="0.2") as process:
        rest = Rest(session, process)
        async with rest.watch(auth=rest.auth()) as stream:
            done = await stream.until("snapshot-complete")
            for _ in range(3):
                marker = await stream.until("progress")
                assert marker.comments == ["keepalive"]
                assert marker.id == done.id  # nothing happened: the same position
            agent = await rest.create("quiet", "agent", "+15551230421")
            await stream.until_revision(agent["conference_sid"], 1)
            marker = await stream.until("progress")
            assert marker.id == stream.last_id


async def test_basic_credentials_and_api_keys(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    with server(tmp_path) as process:
        rest = Rest(session, process)
        async with rest.watch(auth=rest.auth(KEY_SID, KEY_SECRET)) as stream:
            await stream.until("snapshot-complete")
        url = rest.events_url()
        wrong = await rest.refused(url, headers=rest.auth(ACCOUNT_SID, "not-the-token"))
        assert wrong["reason"] == "CREDENTIALS_INVALID"
        assert (await rest.refused(url))["code"] == 20003
        # Another account's credentials find no such account here.
        async with session.get(url, headers=rest.auth(OTHER_SID, OTHER_TOKEN)) as response:
            assert response.status == 404
            assert (await response.json())["code"] == 20404


async def test_a_watch_token_watches_and_does_nothing_else(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    with server(tmp_path) as process:
        rest = Rest(session, process)
        agent = await rest.create("desk-1", "agent", "+15551230431")
        minted = await rest.mint()
        token = minted["token"]
        assert minted["account_sid"] == ACCOUNT_SID
        assert minted["expires_in"] == 300
        async with rest.watch(access_token=token) as stream:
            await stream.until("snapshot-complete")
            assert set(stream.snapshot) == {agent["conference_sid"]}
            await rest.update(agent["conference_sid"], "agent", Muted="true")
            await stream.until_revision(agent["conference_sid"], stream.snapshot[
                agent["conference_sid"]]["revision"] + 1)  # fmt: skip
        async with rest.watch(headers={"Authorization": f"Bearer {token}"}) as stream:
            await stream.until("snapshot-complete")
        # Nothing but watching: not the Twilio routes, not another token.
        twilio = f"{rest.base}/2010-04-01/Accounts/{ACCOUNT_SID}/Conferences"
        participants = f"{twilio}/{agent['conference_sid']}/Participants.json"
        await rest.refused(participants, params={"access_token": token})
        await rest.refused(participants, headers={"Authorization": f"Bearer {token}"})
        await rest.refused(
            f"{participants[: -len('.json')]}/agent.json",
            "POST",
            data={"Muted": "false"},
            headers={"Authorization": f"Bearer {token}"},
        )
        await rest.refused(f"{twilio}.json", headers=rest.auth(ACCOUNT_SID, token))
        tokens = f"{rest.base}/rollcall/v1/accounts/{ACCOUNT_SID}/watch-tokens"
        again = await rest.refused(tokens, "POST", headers={"Authorization": f"Bearer {token}"})
        assert again["reason"] == "CREDENTIALS_INVALID"
        await rest.refused(tokens, "POST", params={"access_token": token})
        # Forged, damaged, cut short: refused, typed.
        for forged in ("WTnot-a-token", token[:-4], token[:20] + "A" + token[21:], "x"):
            refused = await rest.refused(rest.events_url(), params={"access_token": forged})
            assert refused["reason"] == "WATCH_TOKEN_INVALID", forged
        # The token never reaches the log (the access log's request line included).
        assert process.log is not None
        log = process.log.read_text()
        assert "access_token=[redacted]" in log
        assert token not in log


async def test_an_expired_watch_token_is_refused(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    # Tokens good for no time at all: each is expired when it is first used.
    with server(tmp_path, ROLLCALL_WATCH_TOKEN_SECONDS="0") as process:
        rest = Rest(session, process)
        token = (await rest.mint())["token"]
        refused = await rest.refused(rest.events_url(), params={"access_token": token})
        assert refused["reason"] == "WATCH_TOKEN_EXPIRED"
        assert refused["status"] == 401


async def test_another_accounts_token_sees_nothing_of_this_one(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    with server(tmp_path, ROLLCALL_WATCH_PROGRESS_SECONDS="0.5") as process:
        rest = Rest(session, process)
        mine = await rest.create("mine", "agent", "+15551230441")
        theirs = (await rest.mint(OTHER_SID, OTHER_TOKEN))["token"]
        # On this account's URL it finds no such account.
        async with session.get(rest.events_url(), params={"access_token": theirs}) as response:
            assert response.status == 404
        # On its own, nothing of this account, then or later.
        async with rest.watch(OTHER_SID, access_token=theirs) as stream:
            done = await stream.until("snapshot-complete")
            assert done.json == {"conferences": 0}
            await rest.update(mine["conference_sid"], "agent", Muted="true")
            await rest.create("mine-2", "agent", "+15551230442")
            # Its next marker (at most a progress interval away) covers those
            # changes: every event up to it has been sent, and none was.
            await stream.until("progress")
            assert stream.revisions == {}
            assert stream.snapshot == {}


async def test_cors_is_off_by_default(tmp_path: Path, session: aiohttp.ClientSession) -> None:
    with server(tmp_path) as process:
        rest = Rest(session, process)
        origin = {"Origin": ALLOWED}
        async with rest.watch(auth=rest.auth(), headers=origin) as stream:
            assert "Access-Control-Allow-Origin" not in stream.response.headers
        async with session.options(
            rest.events_url(), headers={**origin, "Access-Control-Request-Method": "GET"}
        ) as preflight:
            assert "Access-Control-Allow-Origin" not in preflight.headers
            assert preflight.status >= 400


async def test_cors_for_a_named_origin_only(tmp_path: Path, session: aiohttp.ClientSession) -> None:
    with server(
        tmp_path, ROLLCALL_HTTP_CORS_ORIGINS=f"{ALLOWED}, https://other.example"
    ) as process:
        rest = Rest(session, process)
        async with rest.watch(auth=rest.auth(), headers={"Origin": ALLOWED}) as stream:
            assert stream.response.headers["Access-Control-Allow-Origin"] == ALLOWED
            assert "Origin" in stream.response.headers.getall("Vary")
            assert "Access-Control-Allow-Credentials" not in stream.response.headers
        async with rest.watch(auth=rest.auth(), headers={"Origin": "http://evil.example"}) as s:
            assert "Access-Control-Allow-Origin" not in s.response.headers
        preflight_headers = {
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization",
        }
        tokens = f"{rest.base}/rollcall/v1/accounts/{ACCOUNT_SID}/watch-tokens"
        async with session.options(tokens, headers={"Origin": ALLOWED, **preflight_headers}) as ok:
            assert ok.status == 204
            assert ok.headers["Access-Control-Allow-Origin"] == ALLOWED
            assert "Authorization" in ok.headers["Access-Control-Allow-Headers"]
            assert "POST" in ok.headers["Access-Control-Allow-Methods"]
        async with session.options(
            tokens, headers={"Origin": "http://evil.example", **preflight_headers}
        ) as no:
            assert no.status == 403
            assert "Access-Control-Allow-Origin" not in no.headers
        # Errors carry it too, so the page can read why it was refused.
        async with session.get(rest.events_url(), headers={"Origin": ALLOWED}) as refused:
            assert refused.status == 401
            assert refused.headers["Access-Control-Allow-Origin"] == ALLOWED
