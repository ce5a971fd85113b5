"""Keeps credentials out of every log record the process writes, from any logger.

Rule 1: `install()` replaces the log record factory, so a record is scrubbed when
        it is made, before any handler or filter sees it; its exception text is
        scrubbed too (rendered once into `exc_text`).
Rule 2: a record loses the user and password of a URL; anything after `Basic` or
        `Bearer` up to the end of the quoted value or line; the value of an
        `access_token` query parameter (a watch token in a request line); and
        every registered secret of 4 characters or more, verbatim or inside base64.
Rule 3: grpcio's "Invalid encoding on b'...'" (a client's header that is not UTF-8)
        becomes one DEBUG line without the value or a traceback.
Rule 4: fields passed as `extra` are set after the record is made, so the JSON
        formatter scrubs each line it writes as well.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
from typing import Any

REDACTED = "[redacted]"

# A scheme word, then everything up to a closing quote, a comma or a line end.
_SCHEME = re.compile(r"(?i)\b(basic|bearer)(\s|\\t|\\x[0-9a-f]{2})+[^'\"\n,;}]*")
# user:password@ in a URL.
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s'\"]*@")
# access_token=VALUE in a query string, raw or percent-encoded `=`.
_ACCESS_TOKEN = re.compile(r"(?i)\b(access_token(?:=|%3d))[^&\s'\"#;,]*")
_GRPC_BAD_ENCODING = "Invalid encoding on "
_GRPC_LOGGER = "grpc._cython.cygrpc"

_lock = threading.Lock()
_secrets: set[str] = set()
_secret_pattern: re.Pattern[str] | None = None
_secret_forms: tuple[str, ...] = ()
_installed = False


def _base64_cores(secret: bytes) -> set[str]:
    """Substrings every base64 encoding of text containing `secret` contains,
    for each of the three alignments the secret can start at."""
    cores: set[str] = set()
    for shift in range(3):
        encoded = base64.b64encode(b"\x00" * shift + secret).decode()
        # Drop the characters that mix in neighbouring bytes on either side.
        start = 4 * ((shift + 2) // 3)
        end = len(encoded) - 4
        core = encoded[start:end]
        if len(core) >= 8:
            cores.add(core)
    return cores


def register_secret(secret: str) -> None:
    """Never let `secret` (or its base64 forms) appear in a log record."""
    global _secret_pattern, _secret_forms
    if len(secret) < 4:
        return
    with _lock:
        if secret in _secrets:
            return
        _secrets.add(secret)
        forms: set[str] = set()
        for known in _secrets:
            forms.add(known)
            forms |= _base64_cores(known.encode())
        ordered = sorted(forms, key=len, reverse=True)
        _secret_pattern = re.compile("|".join(re.escape(form) for form in ordered))
        _secret_forms = tuple(ordered)


def scrub(text: str) -> str:
    """`text` without credentials. (Cheap substring checks first: this runs on
    every log line.)"""
    lowered = text.lower()
    if "basic" in lowered or "bearer" in lowered:
        text = _SCHEME.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    if "access_token" in lowered:
        text = _ACCESS_TOKEN.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    if "@" in text and "://" in text:
        text = _USERINFO.sub(lambda m: f"{m.group(1)}{REDACTED}@", text)
    pattern, forms = _secret_pattern, _secret_forms
    if pattern is not None and any(form in text for form in forms):
        text = pattern.sub(REDACTED, text)
    return text


def _clean(record: logging.LogRecord) -> None:
    if record.name == _GRPC_LOGGER and str(record.msg).startswith(_GRPC_BAD_ENCODING):
        # grpcio's cygrpc._decode: the argument is a raw client header value.
        raw = record.args[0] if isinstance(record.args, tuple) and record.args else b""
        size = len(raw) if isinstance(raw, bytes | str) else 0
        record.msg = f"metadata value is not UTF-8 ({size} bytes, {REDACTED})"
        record.args = None
        record.exc_info = None
        record.exc_text = None
        record.levelno = logging.DEBUG
        record.levelname = logging.getLevelName(logging.DEBUG)
        return
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: keep what the logger would show
        message = f"{record.msg!r} % {record.args!r}"
    cleaned = scrub(message)
    if cleaned != message or record.args:
        record.msg = cleaned
        record.args = None
    if record.exc_info and record.exc_info[0] is not None:
        formatted = logging.Formatter().formatException(record.exc_info)
        record.exc_text = scrub(formatted)


def install() -> None:
    """Scrub every log record made in this process from now on (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
        make = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = make(*args, **kwargs)
            _clean(record)
            return record

        logging.setLogRecordFactory(factory)
        # The logger checked its level before the record was demoted.
        logging.getLogger(_GRPC_LOGGER).addFilter(_enabled)


def _enabled(record: logging.LogRecord) -> bool:
    return logging.getLogger(record.name).isEnabledFor(record.levelno)
