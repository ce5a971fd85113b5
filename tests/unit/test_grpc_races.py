"""grpc's report of an answer sent to a call already over is demoted, nothing else."""

from __future__ import annotations

import logging
import sys

from grpc._cython.cygrpc import ExecuteBatchError

from service.grpc_races import GRPC_LOGGER, demote


def record(error: BaseException) -> logging.LogRecord:
    try:
        raise error
    except BaseException:
        exc_info = sys.exc_info()
    return logging.LogRecord(
        GRPC_LOGGER, logging.ERROR, __file__, 1, "Unexpected [%s] raised", ("x",), exc_info
    )


def test_an_answer_to_a_call_already_over_is_a_debug_line_without_traceback() -> None:
    logging.getLogger(GRPC_LOGGER).setLevel(logging.INFO)
    try:
        r = record(ExecuteBatchError("Failed execute_batch"))
        assert demote(r) is False  # below the logger's level: dropped
        assert r.levelno == logging.DEBUG and r.exc_info is None and r.exc_text is None
        assert "already over" in r.getMessage()
    finally:
        logging.getLogger(GRPC_LOGGER).setLevel(logging.NOTSET)


def test_other_grpc_errors_are_left_alone() -> None:
    r = record(RuntimeError("boom"))
    assert demote(r) is True
    assert r.levelno == logging.ERROR and r.exc_info is not None
    plain = logging.LogRecord(GRPC_LOGGER, logging.WARNING, __file__, 1, "warn", None, None)
    assert demote(plain) is True and plain.levelno == logging.WARNING
