"""Unit tests of service.gateway.participant_forms: the Participant Create, Update
and List forms, Rollcall's own fields among them."""

from __future__ import annotations

import pytest

from rollcall.v1 import enums_pb2
from rollcall.v1 import participant_service_pb2 as pb
from service.core.errors import RollcallError
from service.gateway import participant_forms
from tests.unit.gateway.participant_form_calls import NAME, PARENT, create, create_error, form


def test_every_create_field_of_the_table_is_a_request_field() -> None:
    wire_names = {f.wire for f in participant_forms.CREATE_FIELDS}
    proto_fields = {f.proto for f in participant_forms.CREATE_FIELDS}
    assert len(wire_names) == len(participant_forms.CREATE_FIELDS) == 52
    expected = set(pb.CreateParticipantRequest.DESCRIPTOR.fields_by_name) - {"parent", "request_id"}
    # Rollcall's own attributes come as `Attribute=key=value` (Rule 4), not from the table.
    assert proto_fields == expected - {"attributes", "alerts"}


def test_attributes_are_rollcalls_own_repeated_fields() -> None:
    created = create(("To", "+15558675310"), ("Attribute", "role=agent"), ("Attribute", "team=a"))
    assert dict(created.attributes) == {"role": "agent", "team": "a"}
    update = participant_forms.parse_update(
        form(("Attribute", "team="), ("ReplaceAttributes", "true")), name="n"
    )
    assert (dict(update.attributes), update.replace_attributes) == ({"team": ""}, True)
    listed = participant_forms.parse_list(
        form(("Attribute", "role=agent"), ("Muted", "true")), parent=PARENT
    )
    assert list(listed.request.attributes) == ["role=agent"]
    assert listed.filters == (("Muted", "true"), ("Attribute", "role=agent"))
    error = create_error(("To", "+15558675310"), ("Attribute", "no-equals-sign"))
    assert error.violations[0].field == "Attribute"


def test_alert_rules_are_rollcalls_own_create_fields() -> None:
    assert not create(("To", "+15558675310")).HasField("alerts")
    created = create(
        ("To", "+15558675310"),
        ("AlertHoldSeconds", "90"),
        ("AlertNoAgentSeconds", "12.5"),
        ("AlertAgentAttribute", "team=desk"),
        ("AlertEndConference", "true"),
    )
    assert created.alerts == pb.ConferenceAlerts(
        hold_seconds=90, no_agent_seconds=12.5, agent_attribute="team=desk", end_conference=True
    )
    error = create_error(("AlertEmptySeconds", "soon"), ("AlertEndConference", "maybe"))
    assert [v.field for v in error.violations] == ["AlertEmptySeconds", "AlertEndConference"]


def test_update_fields() -> None:
    request = participant_forms.parse_update(
        form(
            ("Muted", "false"),
            ("Hold", "true"),
            ("HoldUrl", "http://example.com/hold.xml"),
            ("HoldMethod", "get"),
            ("AnnounceUrl", ""),
            ("WaitUrl", ""),
            ("BeepOnExit", "True"),
            ("Coaching", "true"),
            ("CallSidToCoach", "CA" + "2" * 32),
            ("Unknown", "x"),
        ),
        name=NAME,
        etag='"7"',
    )
    assert request.name == NAME
    assert request.etag == '"7"'
    assert request.HasField("muted")
    assert request.muted is False
    assert request.hold is True
    assert request.hold_url == "http://example.com/hold.xml"
    assert request.hold_method == enums_pb2.HTTP_METHOD_GET
    assert request.HasField("announce_url")
    assert request.announce_url == ""
    assert request.HasField("wait_url")
    assert request.beep_on_exit is True
    assert request.coaching is True
    assert request.call_sid_to_coach == "CA" + "2" * 32
    assert not request.HasField("end_conference_on_exit")


def test_update_with_nothing_changes_nothing() -> None:
    request = participant_forms.parse_update(form(), name=NAME)
    assert request == pb.UpdateParticipantRequest(name=NAME)


def test_update_empty_call_sid_to_coach_is_absent() -> None:
    assert not participant_forms.parse_update(form(("CallSidToCoach", "")), name=NAME).HasField(
        "call_sid_to_coach"
    )


def test_list_defaults() -> None:
    query = participant_forms.parse_list(form(), parent=PARENT)
    assert query.request == pb.ListParticipantsRequest(parent=PARENT, page_size=50)
    assert (query.filters, query.page_size, query.page, query.page_token) == ((), 50, 0, "")


def test_list_filters_paging_and_their_uri_order() -> None:
    query = participant_forms.parse_list(
        form(
            ("PageToken", "tok"),
            ("Page", "2"),
            ("Coaching", "FALSE"),
            ("PageSize", "2"),
            ("Muted", "True"),
            ("Other", "ignored"),
        ),
        parent=PARENT,
    )
    assert query.request.muted is True
    assert query.request.coaching is False
    assert not query.request.HasField("hold")
    assert query.request.page_size == 2
    assert query.request.page_token == "tok"
    assert query.filters == (("Muted", "true"), ("Coaching", "false"))
    assert (query.page_size, query.page, query.page_token) == (2, 2, "tok")


def test_list_page_size_above_the_maximum_is_clamped() -> None:
    # list(limit=5000) makes the python SDK send PageSize=5000.
    query = participant_forms.parse_list(form(("PageSize", "5000")), parent=PARENT)
    assert query.page_size == query.request.page_size == 1000


@pytest.mark.parametrize(
    ("pairs", "field"),
    [
        ((("PageSize", "0"),), "PageSize"),
        ((("PageSize", "ten"),), "PageSize"),
        ((("Page", "-1"),), "Page"),
        ((("Page", "x"),), "Page"),
        ((("Muted", "maybe"),), "Muted"),
    ],
)
def test_bad_list_parameters(pairs: tuple[tuple[str, str], ...], field: str) -> None:
    with pytest.raises(RollcallError) as caught:
        participant_forms.parse_list(form(*pairs), parent=PARENT)
    assert caught.value.http_status == 400
    assert [v.field for v in caught.value.violations] == [field]
