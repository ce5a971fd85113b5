"""The supervisor console in headless Chromium against a server process:
participants made through the API appear, the mute button mutes (in the API
and on the page), and after the server stops and starts again (same
database, same port) while changes are made another way, the page catches up
with each of them, with no duplicate and no stale row, without a reload.

ROLLCALL_CONSOLE_SCREENSHOT=1 also writes docs/console.png (the README's
picture) from the first test; no other run writes it.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc

from clients import RollcallClient
from rollcall.v1 import conference_service_pb2 as cpb
from rollcall.v1 import conference_service_pb2_grpc as cpb_grpc
from rollcall.v1 import participant_pb2
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, KEY_SECRET, KEY_SID, basic
from tests.e2e.process import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "console.png"
FROM = "+15005550006"
WAIT = 20.0
CONNECTED = participant_pb2.PARTICIPANT_STATUS_CONNECTED

# Every row and conference box on the page, as the page shows them.
_READ_PAGE = """
return Array.from(document.querySelectorAll('article.conference')).map(function (box) {
  return {
    sid: box.dataset.conferenceSid,
    name: box.dataset.friendlyName,
    rows: Array.from(box.querySelectorAll('tr.participant')).map(function (row) {
      return {
        call_sid: row.dataset.callSid,
        label: row.dataset.label,
        status: row.querySelector('.status').textContent,
        muted: row.querySelector('.muted').textContent === 'yes',
        hold: row.querySelector('.hold').textContent === 'yes',
        talk: row.querySelector('.talk').textContent,
        held: row.querySelector('.held').textContent,
        answered: row.querySelector('.answered').textContent,
        speaking: row.querySelector('.speaking').textContent === 'yes',
        attributes: JSON.parse(row.dataset.attributes || '{}'),
        role: row.querySelector('.role').textContent,
      };
    }),
  };
});
"""


@contextlib.contextmanager
def server(tmp_path: Path, **env: str) -> Iterator[ServerProcess]:
    process = ServerProcess(
        tmp_path / "console.sqlite3",
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


@contextlib.contextmanager
def client(process: ServerProcess) -> Iterator[RollcallClient]:
    api = RollcallClient(process.target, ACCOUNT_SID, AUTH_TOKEN, timeout=10)
    try:
        yield api
    finally:
        api.close()


def until(driver: Any, holds: Callable[[], bool], seconds: float = WAIT) -> None:
    """A bounded wait on a condition (Selenium's poll), failing with the page's log."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        WebDriverWait(driver, seconds, poll_frequency=0.05).until(lambda _: holds())
    except TimeoutException:
        log = driver.get_log("browser")
        raise AssertionError(f"never happened within {seconds} s; page log: {log}") from None


def page_state(driver: Any) -> list[dict[str, Any]]:
    return list(driver.execute_script(_READ_PAGE))


def rows(driver: Any) -> dict[str, dict[str, Any]]:
    """Call SID -> row, and no call SID or conference shown twice."""
    boxes = page_state(driver)
    assert len({b["sid"] for b in boxes}) == len(boxes), boxes
    found: dict[str, dict[str, Any]] = {}
    for box in boxes:
        for row in box["rows"]:
            assert row["call_sid"] not in found, boxes
            found[row["call_sid"]] = {**row, "conference": box["name"]}
    return found


def sign_in(driver: Any, process: ServerProcess, *, api_key: bool = False) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"http://127.0.0.1:{process.http_port}/console")
    driver.find_element(By.ID, "account").send_keys(ACCOUNT_SID)
    if api_key:
        driver.find_element(By.ID, "key").send_keys(KEY_SID)
    driver.find_element(By.ID, "secret").send_keys(KEY_SECRET if api_key else AUTH_TOKEN)
    driver.find_element(By.ID, "sign-in-button").click()
    until(driver, lambda: connection(driver) == "live")


def counted(driver: Any, what: str) -> int:
    """How many tokens the page minted or snapshots it began (body data-*)."""
    return int(driver.execute_script(f"return Number(document.body.dataset.{what} || 0);"))


def connection(driver: Any) -> str:
    from selenium.webdriver.common.by import By

    return str(driver.find_element(By.ID, "connection").text)


def end_conference(process: ServerProcess, conference_sid: str) -> None:
    with grpc.insecure_channel(process.target) as channel:
        cpb_grpc.ConferenceServiceStub(channel).UpdateConference(
            cpb.UpdateConferenceRequest(
                name=f"accounts/{ACCOUNT_SID}/conferences/{conference_sid}",
                status=participant_pb2.CONFERENCE_STATUS_COMPLETED,
            ),
            metadata=(("authorization", basic(ACCOUNT_SID, AUTH_TOKEN)),),
            timeout=10,
        )


def connected(api: RollcallClient, conference: str, label: str) -> bool:
    return api.fetch_participant(conference, label).status == CONNECTED


def test_participants_created_through_the_api_appear_within_two_seconds(
    tmp_path: Path, browser: Any
) -> None:
    with server(tmp_path) as process, client(process) as api:
        sign_in(browser, process, api_key=True)
        assert rows(browser) == {}
        made = [
            api.create_participant(name, from_endpoint=FROM, to_endpoint=to, label=label)
            for name, label, to in (
                ("desk-1", "agent-1", "+15551230501"),
                ("desk-1", "customer", "+15551230502"),
                ("desk-2", "agent-2", "+15551230503"),
                ("sales-7", "rep", "+15551230504"),
            )
        ]
        until(browser, lambda: set(rows(browser)) == {p.call_sid for p in made}, seconds=2)
        until(browser, lambda: all(r["status"] == "connected" for r in rows(browser).values()))
        shown = rows(browser)
        assert {(r["conference"], r["label"]) for r in shown.values()} == {
            ("desk-1", "agent-1"),
            ("desk-1", "customer"),
            ("desk-2", "agent-2"),
            ("sales-7", "rep"),
        }
        if os.environ.get("ROLLCALL_CONSOLE_SCREENSHOT") == "1":
            api.update_participant("desk-1", "customer", muted=True)
            api.update_participant("desk-2", "agent-2", hold=True)
            until(browser, lambda: rows(browser)[made[1].call_sid]["muted"])
            until(browser, lambda: rows(browser)[made[2].call_sid]["hold"])
            browser.save_screenshot(str(SCREENSHOT))


def test_pressing_mute_mutes_in_the_api_and_on_the_page(tmp_path: Path, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    with server(tmp_path) as process, client(process) as api:
        agent = api.create_participant(
            "floor", from_endpoint=FROM, to_endpoint="+15551230511", label="agent"
        )
        sign_in(browser, process)
        until(browser, lambda: rows(browser).get(agent.call_sid, {}).get("status") == "connected")
        assert rows(browser)[agent.call_sid]["muted"] is False
        row = browser.find_element(By.CSS_SELECTOR, f'tr[data-call-sid="{agent.call_sid}"]')
        row.find_element(By.CSS_SELECTOR, 'button[data-action="mute"]').click()
        until(browser, lambda: rows(browser)[agent.call_sid]["muted"])
        # The page shows what the stream said, after the change was committed.
        assert api.fetch_participant("floor", "agent").muted is True
        # And back.
        row.find_element(By.CSS_SELECTOR, 'button[data-action="mute"]').click()
        until(browser, lambda: not rows(browser)[agent.call_sid]["muted"])
        assert api.fetch_participant("floor", "agent").muted is False
        # Nothing the page did was refused (the policy) or failed.
        assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


def test_the_page_catches_up_after_a_server_restart(tmp_path: Path, browser: Any) -> None:
    with server(tmp_path) as process:
        with client(process) as api:
            made = {
                (name, label): api.create_participant(
                    name, from_endpoint=FROM, to_endpoint=to, label=label
                )
                for name, label, to in (
                    ("desk-1", "agent", "+15551230521"),
                    ("desk-1", "customer", "+15551230522"),
                    ("desk-2", "agent", "+15551230523"),
                )
            }
            for name, label in made:
                until(browser, lambda n=name, lb=label: connected(api, n, lb))  # type: ignore[misc]  # a default binds the loop value
        sign_in(browser, process)
        until(browser, lambda: len(rows(browser)) == 3)
        assert all(r["status"] == "connected" for r in rows(browser).values())
        browser.execute_script("window.rollcallSamePage = true;")
        # Stop the server: the page says so and keeps trying.
        assert process.terminate() == 0
        until(browser, lambda: connection(browser) == "reconnecting")
        # Meanwhile, through another path (gRPC, on a server with no REST port,
        # on the same database): a mute, a kick, a conference ended, one begun.
        side = ServerProcess(Path(tmp_path / "console.sqlite3"), ROLLCALL_SIM_RING_SECONDS="0")
        side.env["ROLLCALL_DATABASE"] = process.env["ROLLCALL_DATABASE"]
        side.log = tmp_path / "side.log"
        try:
            side.start()
            with client(side) as api:
                api.update_participant("desk-1", "agent", muted=True)
                api.delete_participant("desk-1", "customer")
                desk_2 = made[("desk-2", "agent")].conference_sid
                end_conference(side, desk_2)
                new = api.create_participant(
                    "desk-3", from_endpoint=FROM, to_endpoint="+15551230524", label="agent"
                )
                until(browser, lambda: connected(api, "desk-3", "agent"))
            assert side.terminate() == 0
        finally:
            side.close()
        # The server again, same database, same ports.
        process.env["ROLLCALL_HTTP_LISTEN"] = f"127.0.0.1:{process.http_port}"
        process.env["ROLLCALL_GRPC_LISTEN"] = f"127.0.0.1:{process.port}"
        process.start()
        agent = made[("desk-1", "agent")].call_sid

        def caught_up() -> bool:
            shown = rows(browser)
            return set(shown) == {agent, new.call_sid} and shown[agent]["muted"]

        until(browser, caught_up)
        until(browser, lambda: connection(browser) == "live")
        assert browser.execute_script("return window.rollcallSamePage === true;")
        # It resumed after its last cursor (Last-Event-ID): no second snapshot.
        assert counted(browser, "snapshots") == 1
        shown = rows(browser)
        assert {(r["conference"], r["label"]) for r in shown.values()} == {
            ("desk-1", "agent"),
            ("desk-3", "agent"),
        }
        assert shown[new.call_sid]["status"] == "connected"
        assert [b["name"] for b in page_state(browser)] == ["desk-1", "desk-3"]
        # And the API agrees with the page.
        with client(process) as api:
            assert api.fetch_participant("desk-1", "agent").muted is True
            live = [p.label for p in api.list_participants("desk-1").participants]
            assert live == ["agent"]
            # Live again: a change now arrives once.
            api.update_participant("desk-3", "agent", hold=True)
            until(browser, lambda: rows(browser)[new.call_sid]["hold"])
            assert len(rows(browser)) == 2


def test_an_expired_token_is_minted_again_and_the_stream_resumes(
    tmp_path: Path, browser: Any
) -> None:
    # Tokens good for a second: each stream ends WATCH_TOKEN_EXPIRED at its
    # first marker after that, and the page mints another and resumes.
    with (
        server(
            tmp_path, ROLLCALL_WATCH_TOKEN_SECONDS="1", ROLLCALL_WATCH_PROGRESS_SECONDS="0.2"
        ) as process,
        client(process) as api,
    ):
        agent = api.create_participant(
            "floor", from_endpoint=FROM, to_endpoint="+15551230531", label="agent"
        )
        sign_in(browser, process)
        until(browser, lambda: rows(browser).get(agent.call_sid, {}).get("status") == "connected")
        until(browser, lambda: counted(browser, "tokens") >= 3)
        for muted in (True, False, True):
            api.update_participant("floor", "agent", muted=muted)
            until(browser, lambda m=muted: rows(browser)[agent.call_sid]["muted"] is m)  # type: ignore[misc]  # a default binds the loop value
        until(browser, lambda: counted(browser, "tokens") >= 5)
        assert counted(browser, "snapshots") == 1
        assert list(rows(browser)) == [agent.call_sid]
        assert connection(browser) in ("live", "reconnecting")


def test_hold_kick_and_end_conference_from_the_page(tmp_path: Path, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    with server(tmp_path) as process, client(process) as api:
        agent = api.create_participant(
            "desk",
            from_endpoint=FROM,
            to_endpoint="+15551230541",
            label="agent",
            attributes={"role": "agent"},
        )
        customer = api.create_participant(
            "desk", from_endpoint=FROM, to_endpoint="+15551230542", label="customer"
        )
        sign_in(browser, process)
        until(browser, lambda: all(r["status"] == "connected" for r in rows(browser).values()))
        until(browser, lambda: len(rows(browser)) == 2)

        def press(call_sid: str, action: str) -> None:
            row = browser.find_element(By.CSS_SELECTOR, f'tr[data-call-sid="{call_sid}"]')
            row.find_element(By.CSS_SELECTOR, f'button[data-action="{action}"]').click()

        shown = rows(browser)[agent.call_sid]
        assert (shown["held"], shown["answered"], shown["speaking"]) == ("0:00 (0)", "-", False)
        assert shown["attributes"] == {"role": "agent"}
        assert re.fullmatch(r"\d+:\d\d", shown["talk"]), shown
        press(agent.call_sid, "hold")
        until(browser, lambda: rows(browser)[agent.call_sid]["hold"])
        # The hold's clock runs on the page from the server's hold_since.
        until(browser, lambda: rows(browser)[agent.call_sid]["held"].endswith(" (1)"))
        assert api.fetch_participant("desk", "agent").hold is True
        press(customer.call_sid, "kick")
        until(browser, lambda: set(rows(browser)) == {agent.call_sid})
        assert [p.label for p in api.list_participants("desk").participants] == ["agent"]
        box = browser.find_element(By.CSS_SELECTOR, "article.conference")
        box.find_element(By.CSS_SELECTOR, 'button[data-action="end"]').click()
        until(browser, lambda: page_state(browser) == [])
        # Ended: no one is left in it.
        assert api.list_participants(agent.conference_sid).participants == []
        assert browser.find_element(By.ID, "empty").is_displayed()


def test_monitor_barge_and_move_from_the_page(tmp_path: Path, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    with server(tmp_path) as process, client(process) as api:
        customer = api.create_participant(
            "line", from_endpoint=FROM, to_endpoint="+15551230551", label="customer"
        )
        boss = api.create_participant(
            "line", from_endpoint=FROM, to_endpoint="+15551230552", label="boss"
        )
        sign_in(browser, process)
        until(browser, lambda: len(rows(browser)) == 2)

        def press(call_sid: str, action: str) -> None:
            row = browser.find_element(By.CSS_SELECTOR, f'tr[data-call-sid="{call_sid}"]')
            row.find_element(By.CSS_SELECTOR, f'button[data-action="{action}"]').click()

        press(boss.call_sid, "monitor")
        until(browser, lambda: rows(browser)[boss.call_sid]["role"] == "monitor")
        assert rows(browser)[boss.call_sid]["muted"]  # one event: the role and its mute
        press(boss.call_sid, "monitor")  # now labelled Barge
        until(browser, lambda: rows(browser)[boss.call_sid]["role"] == "barge")
        assert not rows(browser)[boss.call_sid]["muted"]
        press(customer.call_sid, "move")
        prompt = browser.switch_to.alert
        prompt.send_keys("queue")
        prompt.accept()
        until(
            browser, lambda: rows(browser).get(customer.call_sid, {}).get("conference") == "queue"
        )
        assert rows(browser)[boss.call_sid]["conference"] == "line"
        assert api.fetch_participant("queue", "customer").call_sid == customer.call_sid
        assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
