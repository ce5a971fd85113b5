"""XML rendering of the 2010 edition (service.gateway.render_xml): names, order,
nulls, errors as RestException, control characters."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from service.gateway import render_xml


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


def test_xml_always_parses_even_with_control_characters() -> None:
    record = {"friendly_name": "bell\x07room", "uri": "/x?a=1&b=\x01"}
    element = ET.fromstring(render_xml.resource("Conference", record))[0]  # noqa: S314
    assert element.findtext("FriendlyName") == "bell\ufffdroom"
    page = {"uri": "/p?x=\x02", "page": 0, "items": []}
    listed = ET.fromstring(render_xml.page("Items", "Item", page, "items"))[0]  # noqa: S314
    assert listed.get("uri") == "/p?x=\ufffd"
