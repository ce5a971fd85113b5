"""A TCP port on 127.0.0.1 where nothing listens, for tests of refused connections."""

from __future__ import annotations

import socket

# Bound but never listening: a connection is refused, and no other process can
# take the port while the tests run (a port merely closed again could be).
_held: list[socket.socket] = []


def closed_port() -> int:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    _held.append(sock)
    return int(sock.getsockname()[1])
