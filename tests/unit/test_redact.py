"""Log scrubbing: credentials in any form never survive a log record."""

from __future__ import annotations

import base64
import logging
import re

from service import redact


def test_scheme_credentials_and_url_passwords_are_scrubbed() -> None:
    cases = {
        "Authorization: Basic QUM6dG9rZW4=": "Authorization: Basic [redacted]",
        "b'Basic\\tQUM6dG9rZW4=\\xff'": "b'Basic [redacted]'",
        '{"authorization": "Bearer abc.def"}': '{"authorization": "Bearer [redacted]"}',
        "to https://user:pw@example.com/cb": "to https://[redacted]@example.com/cb",
    }
    for raw, expected in cases.items():
        assert redact.scrub(raw) == expected


def test_access_tokens_in_query_strings_are_scrubbed() -> None:
    cases = {
        '"GET /rollcall/v1/accounts/AC1/events?access_token=WTab-_c9 HTTP/1.1" 200': (
            '"GET /rollcall/v1/accounts/AC1/events?access_token=[redacted] HTTP/1.1" 200'
        ),
        "events?prefix=d&ACCESS_TOKEN=WTx&type=participant-mute": (
            "events?prefix=d&ACCESS_TOKEN=[redacted]&type=participant-mute"
        ),
        # Percent-encoded: all of what follows goes (an encoded & ends nothing).
        "u?access_token%3DWTx%26more": "u?access_token%3D[redacted]",
        "{'access_token=WTx'}": "{'access_token=[redacted]'}",
    }
    for raw, expected in cases.items():
        assert redact.scrub(raw) == expected


def test_registered_secrets_are_scrubbed_verbatim_and_inside_base64() -> None:
    secret = "s3cr3t-registered-for-the-test"
    redact.register_secret(secret)
    for prefix in ("", "A", "AC1:", "ACxx:"):
        encoded = base64.b64encode(f"{prefix}{secret}".encode()).decode()
        assert secret not in redact.scrub(f"x {secret} y")
        scrubbed = redact.scrub(f"value {encoded} end")
        # Whatever survives of the base64 cannot be decoded back to the secret.
        assert encoded not in scrubbed and "[redacted]" in scrubbed


def test_grpc_bad_encoding_record_is_one_redacted_debug_line() -> None:
    redact.install()
    record = logging.getLogRecordFactory()(
        "grpc._cython.cygrpc",
        logging.ERROR,
        __file__,
        1,
        "Invalid encoding on %s",
        (b"Basic QUM6dG9rZW4=\xff",),
        (UnicodeDecodeError, UnicodeDecodeError("utf-8", b"\xff", 0, 1, "bad"), None),
    )
    assert record.levelno == logging.DEBUG
    assert record.exc_info is None
    assert record.getMessage() == "metadata value is not UTF-8 (19 bytes, [redacted])"


def test_json_lines_stay_valid_json_and_extras_are_scrubbed() -> None:
    import json

    from service.rpc.interceptors import JsonFormatter

    redact.install()
    record = logging.getLogger("t").makeRecord(
        "t",
        logging.INFO,
        __file__,
        1,
        'quoted "Basic QUM6dG9rZW4=" and a \\ backslash',
        (),
        None,
        extra={"url": "https://u:pw@example.com/cb", "nested": {"h": ["Bearer abc"]}},
    )
    data = json.loads(JsonFormatter().format(record))
    assert data["msg"] == 'quoted "Basic [redacted]" and a \\ backslash'
    assert data["url"] == "https://[redacted]@example.com/cb"
    assert data["nested"] == {"h": ["Bearer [redacted]"]}


def test_request_log_fields_are_scrubbed_too() -> None:
    """The fields of the per-request lines (service.gateway.observe,
    service.rpc.interceptors) pass the same scrubbing as any `extra`."""
    import json

    from service.rpc.interceptors import JsonFormatter

    redact.install()
    redact.register_secret("s3cret-in-a-field")
    record = logging.getLogger("rollcall.http").makeRecord(
        "rollcall.http",
        logging.INFO,
        __file__,
        1,
        "http",
        (),
        None,
        extra={
            "resource": "/2010-04-01/Accounts/AC1/s3cret-in-a-field",
            "query": "PageSize=5&access_token=WTabc.def",
            "request_id": "Bearer abc",
            "trace_id": None,
        },
    )
    data = json.loads(JsonFormatter().format(record))
    assert data["resource"] == "/2010-04-01/Accounts/AC1/[redacted]"
    assert data["query"] == "PageSize=5&access_token=[redacted]"
    assert data["request_id"] == "Bearer [redacted]"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", data["time"])
