"""A filter on grpcio's logger for answers it could not send because the caller had gone.

Rule 1: grpc.aio's report of an ExecuteBatchError (the client cancelled, or its
        deadline passed, as the handler finished) becomes one DEBUG line without a
        traceback: such a call changed nothing the handler had not already done.
Rule 2: every other record of that logger is left as it is.
"""

from __future__ import annotations

import logging
import threading

GRPC_LOGGER = "grpc._cython.cygrpc"
_lock = threading.Lock()
_installed = False


def demote(record: logging.LogRecord) -> bool:
    """The filter: False drops the record, True keeps it (perhaps demoted)."""
    error = record.exc_info[1] if record.exc_info else None
    if error is None or type(error).__name__ != "ExecuteBatchError":
        return True
    record.levelno = logging.DEBUG
    record.levelname = logging.getLevelName(logging.DEBUG)
    record.msg = "could not send an answer: the call was already over (cancelled or timed out)"
    record.args = None
    record.exc_info = None
    record.exc_text = None
    return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


def install() -> None:
    """Idempotent."""
    global _installed
    with _lock:
        if not _installed:
            _installed = True
            logging.getLogger(GRPC_LOGGER).addFilter(demote)
