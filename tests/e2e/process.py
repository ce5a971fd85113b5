"""Run `rollcall serve` as a real child process, for crash and signal tests."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from tests.conftest import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    KEY_SECRET,
    KEY_SID,
    OTHER_SID,
    OTHER_TOKEN,
    server_database,
)

_PORT = re.compile(r"gRPC on [0-9.]+:(\d+)")
_HTTP = re.compile(r"REST on port (\d+)")
_METRICS = re.compile(r"metrics on port (\d+)")


class ServerProcess:
    def __init__(self, database: Path, **env: str) -> None:
        self.env = {
            **os.environ,
            "ROLLCALL_DATABASE": server_database(database),
            "ROLLCALL_GRPC_LISTEN": "127.0.0.1:0",
            "ROLLCALL_HTTP_LISTEN": "",
            "ROLLCALL_METRICS_LISTEN": "127.0.0.1:0",
            "ROLLCALL_ACCOUNTS": f"{ACCOUNT_SID}:{AUTH_TOKEN},{OTHER_SID}:{OTHER_TOKEN}",
            "ROLLCALL_API_KEYS": f"{KEY_SID}:{KEY_SECRET}:{ACCOUNT_SID}",
            "ROLLCALL_SIM_CALLS_PER_SECOND": "0",
            **env,
        }
        self.proc: subprocess.Popen[str] | None = None
        self.port = 0
        # The REST and metrics ports the server bound (0: not served); set the
        # listen address to 127.0.0.1:0 and read them here, never pick a port
        # before the server binds it (another process may take it meanwhile).
        self.http_port = 0
        self.metrics_port = 0
        # Where the server's log lines (stderr) go; None: nowhere.
        self.log: Path | None = None
        self.banner: list[str] = []

    def start(self) -> int:
        self.close()
        self.port = 0
        stderr = self.log.open("a") if self.log is not None else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from clients.cli import main; raise SystemExit(main())",
                "serve",
            ],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        if not isinstance(stderr, int):
            stderr.close()  # the child holds its own descriptor
        assert self.proc.stdout is not None
        for line in self.proc.stdout:  # blocks until the banner (or exit)
            self.banner.append(line)
            match = _PORT.search(line)
            if match:
                self.port = int(match.group(1))
                http = _HTTP.search(line)
                metrics = _METRICS.search(line)
                self.http_port = int(http.group(1)) if http else 0
                self.metrics_port = int(metrics.group(1)) if metrics else 0
                break
        assert self.port, f"server did not start: {self.banner}"
        return self.port

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        self.close()

    def terminate(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=30)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
        self.proc = None
