"""A throwaway PostgreSQL server for the tests, one per test session.

The rule it keeps: tests never touch a PostgreSQL they did not start. The
server runs from a fresh temporary directory as an unprivileged user
(PostgreSQL refuses to run as root), listens on a free 127.0.0.1 port and on a
socket in that directory, trusts local connections, and is stopped when the
session ends; each test gets its own fresh database. When the binaries are
missing, `scripts/postgres` installs them from Debian; if that fails, the
PostgreSQL tests fail (they never skip quietly), unless
ROLLCALL_TEST_POSTGRES=skip says so explicitly (local development only).
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import hashlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SUPERUSER = "rollcall"
_lock = threading.Lock()
_server: PostgresServer | None = None
# Whether the running test carries the `postgres` marker, kept by
# tests/conftest.py (None outside a test, e.g. in the benchmarks): a test that
# reaches the server without it is an error, so `-m "not postgres"` never
# starts PostgreSQL and never runs a test that needs it.
marked: bool | None = None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _bin_dir() -> str:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        done = subprocess.run(
            [str(ROOT / "scripts" / "postgres")], capture_output=True, text=True, check=False
        )
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not found:
            raise RuntimeError(f"PostgreSQL is not installed and could not be: {done.stderr}")
    return os.path.dirname(found[-1])


def _run_as() -> str | None:
    """The unprivileged user the server runs as (None: already unprivileged)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise RuntimeError("running as root and no unprivileged user (postgres, nobody) exists")


class PostgresServer:
    """durable=False (tests): no fsync. The benchmarks run it durable, like SQLite."""

    def __init__(self, *, durable: bool = False) -> None:
        self.bin = _bin_dir()
        self.user = _run_as()
        self.dir = Path(tempfile.mkdtemp(prefix="rollcall-pg-"))
        self.data = self.dir / "data"
        self.port = _free_port()
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)
        self._cmd(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
        )
        with open(self.data / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(
                "listen_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.dir}'\n"
                "max_connections = 300\nshared_buffers = 64MB\n"
            )
            if not durable:
                # A throwaway server: durability of the machine is not under test.
                conf.write("fsync = off\nfull_page_writes = off\n")
        # The port is free when picked, but another process may bind it before
        # the server does: then pick another.
        for attempt in range(5):
            try:
                self.start()
                break
            except subprocess.CalledProcessError:
                if attempt == 4:
                    raise
                self.port = _free_port()

    def _cmd(self, tool: str, *args: str) -> None:
        argv = [os.path.join(self.bin, tool), *args]
        if self.user is not None:
            argv = ["runuser", "-u", self.user, "--", *argv]
        subprocess.run(argv, check=True, capture_output=True, cwd=self.dir)

    def start(self) -> None:
        self._cmd(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.dir / "log"),
            "-o",
            f"-p {self.port}",
            "-w",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._cmd("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def dsn(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Creates the database if it does not exist yet; returns its DSN."""
        argv = [os.path.join(self.bin, "psql"), "-h", "127.0.0.1", "-p", str(self.port)]
        if not os.path.exists(argv[0]):
            argv[0] = shutil.which("psql") or "psql"
        # name is t_ and hex digits: nothing to quote.
        sql = f"SELECT 1 FROM pg_database WHERE datname = '{name}'"  # noqa: S608
        exists = subprocess.run(
            [*argv, "-U", SUPERUSER, "-d", "postgres", "-tAc", sql],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        if not exists:
            subprocess.run(
                [*argv, "-U", SUPERUSER, "-d", "postgres", "-c", f'CREATE DATABASE "{name}"'],
                check=True,
                capture_output=True,
            )
        return self.dsn(name)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


def server() -> PostgresServer:
    """The session's server, started on first use."""
    global _server
    if marked is False:
        raise RuntimeError(
            "this test uses the throwaway PostgreSQL server but is not marked postgres: "
            "add @pytest.mark.postgres (see the marker rules in tests/conftest.py)"
        )
    if os.environ.get("ROLLCALL_TEST_POSTGRES") == "skip":
        pytest.skip("ROLLCALL_TEST_POSTGRES=skip")
    with _lock:
        if _server is None:
            _server = PostgresServer()
            atexit.register(_server.close)
        return _server


def database_for(key: str) -> str:
    """A DSN of a fresh database named after key (the same key, the same database)."""
    name = "t_" + hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()[:20]
    return server().create_database(name)


def test_store() -> str:
    """Which store the end-to-end tests run on: ROLLCALL_TEST_STORE (sqlite or postgres)."""
    return os.environ.get("ROLLCALL_TEST_STORE", "sqlite")


test_store.__test__ = False  # type: ignore[attr-defined]
