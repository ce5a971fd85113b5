"""Helpers for the hostile-input tests: a server whose log is captured, a raw
HTTP/2 client that sends what grpcio's client refuses to, and log checks."""

from __future__ import annotations

import base64
import contextlib
import socket
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import h2.config
import h2.connection
import h2.events
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from service.core.errors import DOMAIN
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, KEY_SECRET, KEY_SID, OTHER_SID, OTHER_TOKEN
from tests.e2e.process import _PORT, ServerProcess

_MAIN = "from clients.cli import main; raise SystemExit(main())"
SECRETS = (AUTH_TOKEN, OTHER_TOKEN, KEY_SECRET)


def credential_forms() -> list[str]:
    """Every form a configured credential could take in a log line."""
    forms = list(SECRETS)
    for user, secret in (
        (ACCOUNT_SID, AUTH_TOKEN),
        (OTHER_SID, OTHER_TOKEN),
        (KEY_SID, KEY_SECRET),
    ):
        forms.append(base64.b64encode(f"{user}:{secret}".encode()).decode())
        forms.append(base64.b64encode(secret.encode()).decode().rstrip("="))
    return forms


def assert_clean_log(text: str) -> None:
    """No traceback and no credential, in any form, anywhere in `text`."""
    assert "Traceback" not in text, text[-4000:]
    for form in credential_forms():
        assert form not in text, f"credential in the log: {form[:6]}..."


class LoggedServer:
    """`rollcall serve` as a child process with its stderr (the log) in a file."""

    def __init__(self, tmp_path: Path, **env: str) -> None:
        self.log_path = tmp_path / "server.log"
        self.env = ServerProcess(tmp_path / "rollcall.sqlite3", **env).env
        self.proc: subprocess.Popen[str] | None = None
        self.port = 0
        self.banner: list[str] = []

    def start(self) -> int:
        with self.log_path.open("a") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", _MAIN, "serve"],
                env=self.env,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.banner.append(line)
            match = _PORT.search(line)
            if match:
                self.port = int(match.group(1))
                break
        assert self.port, f"server did not start: {self.banner} {self.log()}"
        return self.port

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> str:
        """Stop (SIGTERM, then wait) and return the whole log and stdout."""
        if self.proc is not None:
            self.proc.terminate()
            assert self.proc.stdout is not None
            self.banner.append(self.proc.stdout.read())  # ends when the process does
            self.proc.stdout.close()
            self.proc.wait(timeout=30)
            self.proc = None
        return self.log()


@contextlib.contextmanager
def logged_server(tmp_path: Path, **env: str) -> Iterator[LoggedServer]:
    server = LoggedServer(tmp_path, **env)
    server.start()
    try:
        yield server
    finally:
        if server.proc is not None:
            server.proc.kill()
            server.proc.communicate(timeout=30)


def h2_call(
    port: int, path: bytes, headers: list[tuple[bytes, bytes]], body: bytes = b""
) -> dict[bytes, bytes]:
    """One gRPC call over a raw HTTP/2 connection, with headers sent as given
    (no validation); returns the response headers and trailers merged."""
    config = h2.config.H2Configuration(
        client_side=True,
        header_encoding=None,
        validate_outbound_headers=False,
        normalize_outbound_headers=False,
    )
    conn = h2.connection.H2Connection(config)
    conn.initiate_connection()
    stream = conn.get_next_available_stream_id()
    conn.send_headers(
        stream,
        [
            (b":method", b"POST"),
            (b":scheme", b"http"),
            (b":path", path),
            (b":authority", b"127.0.0.1"),
            (b"content-type", b"application/grpc"),
            (b"te", b"trailers"),
            *headers,
        ],
    )
    conn.send_data(stream, b"\x00" + struct.pack(">I", len(body)) + body, end_stream=True)
    out: dict[bytes, bytes] = {}
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(conn.data_to_send())
        done = False
        while not done:
            data = sock.recv(65536)
            if not data:
                break
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived | h2.events.TrailersReceived):
                    out.update(dict(event.headers))
                if isinstance(event, h2.events.StreamEnded | h2.events.StreamReset):
                    done = True
            sock.sendall(conn.data_to_send())
    return out


def error_info(error: grpc.RpcError) -> error_details_pb2.ErrorInfo | None:
    """The ErrorInfo of a failed call (None when it has none)."""
    status = rpc_status.from_call(error)
    if status is None:
        return None
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            return info
    return None


def assert_typed(error: grpc.RpcError) -> error_details_pb2.ErrorInfo:
    """A typed client error: not INTERNAL or UNKNOWN, with our ErrorInfo."""
    code = error.code()
    assert code not in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN), (
        code,
        error.details(),
    )
    info = error_info(error)
    assert info is not None, (code, error.details())
    assert info.domain == DOMAIN and info.reason
    assert "http_status" in info.metadata
    return info
