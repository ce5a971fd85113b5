"""Twilio's 2010 representations over raw HTTP against the real server.

No suffix and `.xml` answer XML in the 2010 samples' shapes (parsed with a
real XML parser), `.csv` answers CSV with a header row, every operation
works on every suffix, DELETE is 204 whatever the suffix, errors come back
as `<RestException>`; `Page=N` without a token starts at record N*PageSize;
Update's Muted reads anything but true as false; 16028 replaces a bare 400.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any
from xml.etree import ElementTree as ET

import aiohttp
import pytest

from tests import conftest as server_conftest
from tests.gateway.conftest import basic
from tests.gateway.schemas import LIST_VALIDATOR, PARTICIPANT_VALIDATOR

ACCOUNT = server_conftest.ACCOUNT_SID
BASE = f"/2010-04-01/Accounts/{ACCOUNT}/Conferences"
PARTICIPANT_ELEMENTS = [
    "AccountSid",
    "CallSid",
    "Label",
    "ConferenceSid",
    "DateCreated",
    "DateUpdated",
    "EndConferenceOnExit",
    "Muted",
    "Hold",
    "Status",
    "StartConferenceOnEnter",
    "Coaching",
    "CallSidToCoach",
    "QueueTime",
    "Uri",
]
LIST_ATTRIBUTES = {
    "page",
    "pagesize",
    "start",
    "end",
    "uri",
    "firstpageuri",
    "nextpageuri",
    "previouspageuri",
}


@pytest.fixture
async def http(harness: server_conftest.Harness) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(
        base_url=harness.http_base,
        headers={"Authorization": basic(ACCOUNT, server_conftest.AUTH_TOKEN)},
    ) as session:
        yield session


def xml_body(text: str) -> ET.Element:
    root = ET.fromstring(text)  # noqa: S314 - our own server under test
    assert root.tag == "TwilioResponse"
    assert len(root) == 1
    return root[0]


async def add(http: aiohttp.ClientSession, room: str, suffix: str = ".json", **fields: str) -> Any:
    data = {"From": "+15005550006", "To": "+15558670001", **fields}
    async with http.post(f"{BASE}/{room}/Participants{suffix}", data=data) as response:
        assert response.status == 201, await response.text()
        return await response.text()


@pytest.mark.parametrize("suffix", ["", ".xml"])
async def test_xml_resource_list_and_error(http: aiohttp.ClientSession, suffix: str) -> None:
    created = xml_body(await add(http, "xmlroom", suffix, Label="agent"))
    assert created.tag == "Participant"
    assert [child.tag for child in created] == PARTICIPANT_ELEMENTS
    values = {child.tag: child.text for child in created}
    assert values["Muted"] == "false" and values["Label"] == "agent"
    assert values["CallSidToCoach"] is None  # null is an empty element
    call_sid, conference_sid = values["CallSid"], values["ConferenceSid"]
    assert values["Uri"] == f"{BASE}/{conference_sid}/Participants/{call_sid}"  # no suffix

    async with http.get(f"{BASE}/{conference_sid}/Participants/agent{suffix}") as response:
        assert response.status == 200
        assert response.content_type == "application/xml"
        fetched = xml_body(await response.text())
    assert {child.tag: child.text for child in fetched}["CallSid"] == call_sid

    async with http.get(f"{BASE}/xmlroom/Participants{suffix}?PageSize=1") as response:
        page = xml_body(await response.text())
    assert page.tag == "Participants"
    assert set(page.attrib) == LIST_ATTRIBUTES
    assert (page.get("page"), page.get("pagesize"), page.get("start"), page.get("end")) == (
        "0",
        "1",
        "0",
        "0",
    )
    assert page.get("uri") == f"{BASE}/xmlroom/Participants{suffix}?PageSize=1&Page=0"
    assert page.get("nextpageuri") == "" and page.get("previouspageuri") == ""
    assert [item.tag for item in page] == ["Participant"]

    async with http.post(
        f"{BASE}/{conference_sid}/Participants/agent{suffix}", data={"Muted": "true"}
    ) as response:
        assert {c.tag: c.text for c in xml_body(await response.text())}["Muted"] == "true"

    async with http.get(f"{BASE}/{conference_sid}/Participants/nobody{suffix}") as response:
        assert response.status == 404
        assert response.content_type == "application/xml"
        error = xml_body(await response.text())
    assert error.tag == "RestException"
    assert [c.tag for c in error] == ["Code", "Message", "MoreInfo", "Status"]
    assert error.findtext("Code") == "20404" and error.findtext("Status") == "404"

    async with http.delete(f"{BASE}/{conference_sid}/Participants/agent{suffix}") as response:
        assert response.status == 204
        assert await response.read() == b""


async def test_xml_conference_and_csv(http: aiohttp.ClientSession) -> None:
    await add(http, "csvroom")
    await add(http, "csvroom", To="+15558670002")
    async with http.get(f"{BASE}/csvroom") as response:
        conference = xml_body(await response.text())
    assert conference.tag == "Conference"
    assert conference.findtext("Status") == "init"
    sid = conference.findtext("Sid")
    assert conference.findtext("SubresourceUris/Participants") == f"{BASE}/{sid}/Participants"
    async with http.get(f"{BASE}.xml?FriendlyName=csvroom") as response:
        conferences = xml_body(await response.text())
    assert conferences.tag == "Conferences"
    assert [c.findtext("Sid") for c in conferences] == [sid]

    async with http.get(f"{BASE}/csvroom/Participants.csv") as response:
        assert response.content_type == "text/csv"
        rows = list(csv.DictReader(io.StringIO(await response.text())))
    assert len(rows) == 2
    assert list(rows[0]) == PARTICIPANT_ELEMENTS
    assert {row["Muted"] for row in rows} == {"false"}
    async with http.get(f"{BASE}/csvroom/Participants.csv?Muted=true") as response:
        assert (await response.text()).splitlines() == [",".join(PARTICIPANT_ELEMENTS)]
    async with http.get(f"{BASE}.csv?FriendlyName=csvroom") as response:
        rows = list(csv.DictReader(io.StringIO(await response.text())))
    assert [row["Sid"] for row in rows] == [sid]
    assert rows[0]["SubresourceUrisParticipants"].endswith(f"{sid}/Participants.json")

    key = rows[0]["Sid"]
    call = (await (await http.get(f"{BASE}/{key}/Participants.json")).json())["participants"][0]
    async with http.delete(f"{BASE}/{key}/Participants/{call['call_sid']}.csv") as response:
        assert response.status == 204
    async with http.post(f"{BASE}/{key}.csv", data={"Status": "completed"}) as response:
        rows = list(csv.DictReader(io.StringIO(await response.text())))
    assert rows[0]["Status"] == "completed"
    async with http.get(f"{BASE}/{key}/Participants/nobody.csv") as response:
        assert response.status == 404
        rows = list(csv.DictReader(io.StringIO(await response.text())))
    assert rows == [
        {
            "Code": "20404",
            "Message": f"The requested resource {BASE}/{key}/Participants/nobody.csv was not found",
            "MoreInfo": "https://www.twilio.com/docs/errors/20404",
            "Status": "404",
        }
    ]


async def test_page_numbers_without_a_token(
    http: aiohttp.ClientSession, harness: server_conftest.Harness
) -> None:
    calls = [
        (
            await (
                await http.post(
                    f"{BASE}/paged/Participants.json",
                    data={"From": "+15005550006", "To": f"+1555867{n:04d}"},
                )
            ).json()
        )["call_sid"]
        for n in range(5)
    ]
    for page, expected in ((0, calls[0:2]), (1, calls[2:4]), (2, calls[4:5]), (3, [])):
        async with http.get(f"{BASE}/paged/Participants.json?PageSize=2&Page={page}") as response:
            body = await response.json()
        LIST_VALIDATOR.validate(body)
        assert [p["call_sid"] for p in body["participants"]] == expected
        assert body["page"] == page
        if expected:
            assert (body["start"], body["end"]) == (2 * page, 2 * page + len(expected) - 1)
        assert (body["next_page_uri"] is not None) == (page < 2)
        if body["next_page_uri"]:
            async with http.get(body["next_page_uri"]) as response:
                following = await response.json()
            assert [p["call_sid"] for p in following["participants"]] == calls[
                2 * page + 2 : 2 * page + 4
            ]
    async with http.get(f"{BASE}/paged/Participants.xml?PageSize=2&Page=1") as response:
        page_element = xml_body(await response.text())
    assert (page_element.get("start"), page_element.get("end")) == ("2", "3")
    for n in range(3):
        await http.post(
            f"{BASE}/pagedconf{n}/Participants.json",
            data={"From": "+15005550006", "To": "+15558670001"},
        )
    async with http.get(f"{BASE}.json?PageSize=1&Page=1&FriendlyName=pagedconf1") as response:
        assert (await response.json())["conferences"] == []
    async with http.get(f"{BASE}.json?PageSize=1&Page=2") as response:
        body = await response.json()
    assert [c["friendly_name"] for c in body["conferences"]] == ["pagedconf0"]
    assert (body["start"], body["end"]) == (2, 2)


async def test_update_muted_reads_anything_but_true_as_false(http: aiohttp.ClientSession) -> None:
    created = await (
        await http.post(
            f"{BASE}/lenient/Participants.json",
            data={"From": "+15005550006", "To": "+15558670001", "Muted": "true"},
        )
    ).json()
    path = f"{BASE}/lenient/Participants/{created['call_sid']}.json"
    for word, muted in (("yes", False), ("TRUE", True), ("1", False), ("True", True)):
        async with http.post(path, data={"Muted": word}) as response:
            assert response.status == 200, await response.text()
            body = await response.json()
        PARTICIPANT_VALIDATOR.validate(body)
        assert body["muted"] is muted
    async with http.post(path, data={"Hold": "yes"}) as response:
        assert response.status == 400  # Hold is not documented that way


async def test_missing_call_sid_to_coach_is_16028(http: aiohttp.ClientSession) -> None:
    async with http.post(
        f"{BASE}/coached/Participants.json",
        data={"From": "+15005550006", "To": "+15558670001", "Coaching": "true"},
    ) as response:
        assert response.status == 400
        assert (await response.json())["code"] == 16028
    created = await (
        await http.post(
            f"{BASE}/coached/Participants.json",
            data={"From": "+15005550006", "To": "+15558670001"},
        )
    ).json()
    async with http.post(
        f"{BASE}/coached/Participants/{created['call_sid']}.json", data={"Coaching": "true"}
    ) as response:
        assert response.status == 400
        assert (await response.json())["code"] == 16028


async def test_xml_401_keeps_www_authenticate(harness: server_conftest.Harness) -> None:
    async with (
        aiohttp.ClientSession(base_url=harness.http_base) as anonymous,
        anonymous.get(f"{BASE}/anyroom/Participants") as response,
    ):
        assert response.status == 401
        assert response.headers["WWW-Authenticate"] == 'Basic realm="Twilio API"'
        error = xml_body(await response.text())
    assert (error.findtext("Code"), error.findtext("Status")) == ("20003", "401")
