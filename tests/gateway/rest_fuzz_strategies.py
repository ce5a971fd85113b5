"""Hypothesis strategies for the REST fuzz suite: hostile raw HTTP/1.1 requests.

Requests are built as bytes (so headers can hold anything but CR and LF) around
Twilio's Participant URIs, with the test accounts' real, wrong and malformed
credentials, random form fields and values, and bodies that are random, or
compressed, or claim an encoding they do not have.
"""

from __future__ import annotations

import gzip
import zlib
from urllib.parse import quote, urlencode

from hypothesis import strategies as st

from tests.conftest import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    KEY_SECRET,
    KEY_SID,
    OTHER_SID,
    OTHER_TOKEN,
    basic,
)

FORM = "application/x-www-form-urlencoded"


def request(
    method: str, target: str, headers: dict[str, str] | list[tuple[str, str]], body: bytes = b""
) -> bytes:
    items = list(headers.items()) if isinstance(headers, dict) else headers
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in items]
    lines += [f"Content-Length: {len(body)}", "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


FIELDS = [
    "From",
    "To",
    "StatusCallback",
    "StatusCallbackMethod",
    "StatusCallbackEvent",
    "Label",
    "Timeout",
    "Record",
    "Muted",
    "Hold",
    "HoldUrl",
    "HoldMethod",
    "AnnounceUrl",
    "Beep",
    "StartConferenceOnEnter",
    "EndConferenceOnExit",
    "WaitUrl",
    "WaitMethod",
    "EarlyMedia",
    "MaxParticipants",
    "ConferenceRecord",
    "ConferenceTrim",
    "ConferenceStatusCallback",
    "ConferenceStatusCallbackEvent",
    "Coaching",
    "CallSidToCoach",
    "TimeLimit",
    "CallerId",
    "CallReason",
    "Region",
    "Byoc",
    "SipAuthUsername",
    "AmdStatusCallback",
    "MachineDetection",
    "PageSize",
    "Page",
    "PageToken",
    "include_ended",
    "BeepOnExit",
]
VALUES = [
    "",
    "true",
    "false",
    "TRUE",
    "0",
    "-1",
    "1e400",
    "99999999999999999999",
    "+15005550006",
    "+15551230000",
    "+15005550001",
    "client:alice",
    "sip:a@b.c",
    "http://127.0.0.1:9/cb",
    "http://[::1]/cb",
    "https://192.0.2.1/x",
    "not a url",
    "GET",
    "POST",
    "PUT",
    "initiated ringing answered completed",
    "start end join leave",
    "CA" + "0" * 32,
    "CF" + "f" * 32,
    "a/b",
    "%2F",
    "PT" + "A" * 40,
    "\x00",
    "\u202e",
    "ä" * 200,
    "x" * 5000,
]

text = st.text(max_size=60)
field_values = st.one_of(st.sampled_from(VALUES), text, st.integers().map(str))
form_pairs = st.lists(
    st.tuples(st.one_of(st.sampled_from(FIELDS), text), field_values), max_size=14
)


@st.composite
def paths(draw: st.DrawFn, seed: dict[str, str]) -> str:
    segment = st.one_of(
        text.map(lambda s: quote(s, safe="")),
        st.from_regex(r"[A-Za-z0-9%._~!$&'()*+,;=:@-]{0,30}", fullmatch=True),
    )
    account = draw(st.sampled_from([ACCOUNT_SID, OTHER_SID, "AC" + "9" * 32]) | segment)
    conference = draw(st.sampled_from(["room", seed["conference"], "CF" + "1" * 32]) | segment)
    participant = draw(st.sampled_from([seed["call"], "seed", "CA" + "2" * 32]) | segment)
    suffix = draw(st.sampled_from([".json", ".json", ".json", ".xml", ".csv", ""]))
    base = f"/2010-04-01/Accounts/{account}/Conferences/{conference}"
    shape = draw(st.integers(0, 4))
    if shape == 0:
        path = f"{base}/Participants{suffix}"
    elif shape == 1:
        path = f"{base}/Participants/{participant}{suffix}"
    elif shape == 2:
        path = "/" + "/".join(draw(st.lists(segment, max_size=8)))
    elif shape == 3:
        path = f"{base}/Participants/{participant}/{draw(segment)}{suffix}"
    else:
        path = draw(
            st.sampled_from(
                [
                    "/",
                    "//",
                    "/2010-04-01",
                    "/2010-04-01/Accounts.json",
                    "/..%2f..%2fetc/passwd",
                    "/metrics",
                    "*",
                ]
            )
        )
    query = draw(st.none() | form_pairs.map(lambda pairs: urlencode(pairs)))
    return path if not query else f"{path}?{query}"


header_value = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=80
)
authorizations = st.one_of(
    st.just(basic(ACCOUNT_SID, AUTH_TOKEN)),
    st.just(basic(OTHER_SID, OTHER_TOKEN)),
    st.just(basic(KEY_SID, KEY_SECRET)),
    st.just(basic(ACCOUNT_SID, "wrong")),
    st.just("Basic " + "é" * 10),
    st.just("Bearer x"),
    header_value.map(lambda v: "Basic " + v),
    header_value,
)


@st.composite
def hostile_requests(draw: st.DrawFn, seed: dict[str, str]) -> tuple[str, bytes]:
    method = draw(
        st.sampled_from(
            ["GET", "POST", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS", "PROPFIND"]
        )
    )
    headers: list[tuple[str, str]] = []
    auth = draw(st.none() | authorizations)
    if auth is not None:
        headers.append(("Authorization", auth))
    kind = draw(st.sampled_from(["form", "form", "bytes", "none"]))
    if kind == "form":
        body = urlencode(draw(form_pairs)).encode()
    elif kind == "bytes":
        body = draw(st.binary(max_size=300))
    else:
        body = b""
    content_type = draw(
        st.sampled_from(
            [
                FORM,
                FORM,
                FORM + "; charset=latin-1",
                FORM + "; charset=nope",
                "application/json",
                "multipart/form-data; boundary=x",
                None,
            ]
        )
        | header_value
    )
    if content_type is not None:
        headers.append(("Content-Type", content_type))
    encoding = draw(st.sampled_from([None, None, "gzip", "deflate", "gzip-fake", "br", "x"]))
    if encoding == "gzip":
        body = gzip.compress(body)
    elif encoding == "deflate":
        body = zlib.compress(body)
    if encoding is not None:
        headers.append(("Content-Encoding", encoding.removesuffix("-fake")))
    for name in draw(
        st.lists(
            st.sampled_from(
                [
                    "Idempotency-Key",
                    "If-Match",
                    "X-Twilio-Client",
                    "Accept",
                    "Accept-Encoding",
                    "Expect",
                    "X-Forwarded-For",
                ]
            ),
            max_size=3,
        )
    ):
        headers.append((name, draw(header_value)))
    extra = st.from_regex(r"X-[A-Za-z0-9-]{1,20}", fullmatch=True)
    headers += draw(st.lists(st.tuples(extra, header_value), max_size=4))
    target = draw(paths(seed))
    return method, request(method, target, headers, body)
