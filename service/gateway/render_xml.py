"""Resources, list pages and errors as Twilio's 2010-04-01 XML.

Rule 1: an XML document is the JSON representation of the same response, renamed
        as Twilio's 2010 samples show it, so the two never disagree on a value.
Rule 2: the root is `<TwilioResponse>`; a resource is one element (`<Participant>`)
        whose children are its JSON keys in CamelCase (`call_sid` -> `<CallSid>`),
        in order, with `true`/`false`, an empty element for null and nested
        elements for a nested object; an error is `<RestException>`.
Rule 3: a list is `<Participants page pagesize start end uri firstpageuri
        nextpageuri previouspageuri>` around one element per record (no numpages,
        total or lastpageuri: Twilio itself dropped them).
Rule 4: resource URIs drop the `.json` suffix; page URIs keep the caller's suffix.
Rule 5: characters XML 1.0 cannot carry become U+FFFD, so the document always parses.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from xml.etree import ElementTree as ET

CONTENT_TYPE = "application/xml"

# Page keys that become attributes of the list element, in Twilio's order.
_PAGE_ATTRIBUTES = (
    ("page", "page"),
    ("page_size", "pagesize"),
    ("start", "start"),
    ("end", "end"),
    ("uri", "uri"),
    ("first_page_uri", "firstpageuri"),
    ("next_page_uri", "nextpageuri"),
    ("previous_page_uri", "previouspageuri"),
)


# Everything outside XML 1.0's Char production.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def camel(key: str) -> str:
    """`call_sid_to_coach` -> `CallSidToCoach`."""
    return "".join(part[:1].upper() + part[1:] for part in key.split("_"))


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("\ufffd", str(value))


def _resource_uri(value: str) -> str:
    return value.removesuffix(".json")


def _fill(element: ET.Element, record: Mapping[str, Any]) -> None:
    for key, value in record.items():
        child = ET.SubElement(element, camel(key))
        if isinstance(value, Mapping):
            _fill(
                child, {k: _resource_uri(v) if isinstance(v, str) else v for k, v in value.items()}
            )
            continue
        if key == "uri" and isinstance(value, str):
            value = _resource_uri(value)
        child.text = _text(value)


def _document(body: ET.Element) -> bytes:
    root = ET.Element("TwilioResponse")
    root.append(body)
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode").encode()
    )


def resource(name: str, record: Mapping[str, Any]) -> bytes:
    """`<TwilioResponse><Participant>...</Participant></TwilioResponse>`."""
    element = ET.Element(name)
    _fill(element, record)
    return _document(element)


def page(list_name: str, item_name: str, body: Mapping[str, Any], records_key: str) -> bytes:
    """One list page; `body` is the JSON page envelope."""
    element = ET.Element(list_name)
    for key, attribute in _PAGE_ATTRIBUTES:
        element.set(attribute, _text(body.get(key)) or "")
    for record in body[records_key]:
        _fill(ET.SubElement(element, item_name), record)
    return _document(element)


def error(body: Mapping[str, Any]) -> bytes:
    """Twilio's error JSON as `<RestException>`."""
    element = ET.Element("RestException")
    for key in ("code", "message", "more_info", "status"):
        if key in body:
            ET.SubElement(element, camel(key)).text = _text(body[key])
    return _document(element)
