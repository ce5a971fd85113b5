"""Unit tests of the 2010 edition's pieces: XML and CSV rendering, the
conference day filters, and page numbers over page tokens."""

from __future__ import annotations

import datetime
from collections.abc import Sized
from xml.etree import ElementTree as ET

import pytest
from multidict import MultiDict

from rollcall.v1 import participant_pb2
from rollcall.v1 import participant_service_pb2 as pb
from service.core.errors import RollcallError
from service.gateway import conference_forms, forms, paging, render_csv, render_xml


def test_xml_names_order_and_nulls() -> None:
    record = {"call_sid_to_coach": None, "muted": True, "queue_time": "12", "uri": "/a/b.json"}
    root = ET.fromstring(render_xml.resource("Participant", record))  # noqa: S314
    assert root.tag == "TwilioResponse"
    element = root[0]
    assert [(c.tag, c.text) for c in element] == [
        ("CallSidToCoach", None),
        ("Muted", "true"),
        ("QueueTime", "12"),
        ("Uri", "/a/b"),
    ]


def test_xml_error_is_rest_exception() -> None:
    body = {"code": 20404, "message": "gone & <away>", "more_info": "u", "status": 404}
    element = ET.fromstring(render_xml.error(body))[0]  # noqa: S314
    assert element.tag == "RestException"
    assert element.findtext("Message") == "gone & <away>"  # escaped, then parsed back


def test_csv_quotes_and_header_without_rows() -> None:
    text = render_csv.table([{"label": 'a "b", c', "hold": False, "x": None}]).decode()
    assert text == 'Label,Hold,X\r\n"a ""b"", c",false,\r\n'
    assert render_csv.table([], ["call_sid", "muted"]) == b"CallSid,Muted\r\n"


def _stamp(request: object, field: str) -> datetime.datetime:
    return getattr(request, field).ToDatetime(tzinfo=datetime.UTC)


def test_day_filters_intersect_as_half_open_ranges() -> None:
    query = conference_forms.parse_list(
        MultiDict({"DateCreated>": "2024-01-01", "DateCreated<": "2024-01-31"}),
        account_sid="AC" + "a" * 32,
    )
    request = query.request
    assert _stamp(request, "created_at_or_after") == datetime.datetime(
        2024, 1, 1, tzinfo=datetime.UTC
    )
    assert _stamp(request, "created_before") == datetime.datetime(2024, 2, 1, tzinfo=datetime.UTC)
    assert query.filters == (("DateCreated<", "2024-01-31"), ("DateCreated>", "2024-01-01"))
    one_day = conference_forms.parse_list(
        MultiDict({"DateUpdated": "2024-03-05", "Status": "In-Progress"}),
        account_sid="AC" + "a" * 32,
    ).request
    assert _stamp(one_day, "updated_before") - _stamp(one_day, "updated_at_or_after") == (
        datetime.timedelta(days=1)
    )
    assert one_day.status != 0


@pytest.mark.parametrize(
    "query", [{"DateCreated": "2024-1-5"}, {"DateCreated<": "yesterday"}, {"Status": "open"}]
)
def test_bad_list_filters_are_refused(query: dict[str, str]) -> None:
    with pytest.raises(RollcallError) as caught:
        conference_forms.parse_list(MultiDict(query), account_sid="AC" + "a" * 32)
    assert [v.field for v in caught.value.violations] == list(query)


async def test_page_numbers_walk_in_steps_of_at_most_1000() -> None:
    total = 2500
    sizes: list[int] = []

    async def call(request: pb.ListParticipantsRequest) -> pb.ListParticipantsResponse:
        """A list of `total` records whose page token is the next record's index."""
        start = int(request.page_token or 0)
        sizes.append(request.page_size)
        end = min(start + request.page_size, total)
        return pb.ListParticipantsResponse(
            participants=[participant_pb2.Participant() for _ in range(end - start)],
            next_page_token=str(end) if end < total else "",
        )

    def records(r: pb.ListParticipantsResponse) -> Sized:
        return r.participants

    def next_token(r: pb.ListParticipantsResponse) -> str:
        return r.next_page_token

    request = pb.ListParticipantsRequest(page_size=50)
    assert await paging.token_for_offset(call, request, 2100, records, next_token) == "2100"
    assert sizes == [1000, 1000, 100]
    assert await paging.token_for_offset(call, request, 0, records, next_token) == ""
    assert await paging.token_for_offset(call, request, 2500, records, next_token) is None
    assert await paging.token_for_offset(call, request, 9000, records, next_token) is None


def test_xml_always_parses_even_with_control_characters() -> None:
    record = {"friendly_name": "bell\x07room", "uri": "/x?a=1&b=\x01"}
    element = ET.fromstring(render_xml.resource("Conference", record))[0]  # noqa: S314
    assert element.findtext("FriendlyName") == "bell\ufffdroom"
    page = {"uri": "/p?x=\x02", "page": 0, "items": []}
    listed = ET.fromstring(render_xml.page("Items", "Item", page, "items"))[0]  # noqa: S314
    assert listed.get("uri") == "/p?x=\ufffd"


@pytest.mark.parametrize(("word", "muted"), [("yes", False), ("TRUE", True), ("0", False)])
def test_update_muted_is_false_unless_true(word: str, muted: bool) -> None:
    request = forms.parse_update(MultiDict({"Muted": word}), name="n")
    assert request.HasField("muted") and request.muted is muted
    assert not forms.parse_update(MultiDict({"Muted": ""}), name="n").HasField("muted")


def test_other_update_booleans_still_refuse_non_booleans() -> None:
    with pytest.raises(RollcallError):
        forms.parse_update(MultiDict({"Hold": "yes"}), name="n")
    with pytest.raises(RollcallError):
        forms.parse_create(MultiDict({"Muted": "yes"}), parent="p")
