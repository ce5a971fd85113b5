"""A TCP proxy that can play dead, for tests of frozen links.

Rule 1: until frozen it forwards bytes both ways, and a close on one side
closes the other.
Rule 2: freeze() makes every connection open at that moment dead without
closing anything: neither of its sockets is read or written again (what a
crashed NAT or a paused VM looks like to both ends). Data already read and
not yet forwarded is dropped.
Rule 3: connections made after freeze() are accepted and held, never read,
until admit(); from then on they and every later one are forwarded as usual.
Frozen connections stay frozen until close().
Rule 4: given a `source` (another loopback address, 127.0.0.2), it connects
to the target from there, so the target sees its clients at that address.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import cast

_CHUNK = 65536


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(_CHUNK):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    writer.close()


def _reading(writer: asyncio.StreamWriter) -> asyncio.ReadTransport:
    """The transport under a TCP stream, which reads as well (StreamWriter
    types it as only a WriteTransport)."""
    return cast(asyncio.ReadTransport, writer.transport)


class _Link:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.upstream: asyncio.StreamWriter | None = None
        self.pumps: list[asyncio.Task[None]] = []
        self.frozen = False

    def writers(self) -> list[asyncio.StreamWriter]:
        return [w for w in (self.writer, self.upstream) if w is not None]

    def freeze(self) -> None:
        self.frozen = True
        for pump in self.pumps:
            pump.cancel()
        for writer in self.writers():
            _reading(writer).pause_reading()


class FreezableProxy:
    """127.0.0.1:<port> -> `target` (host:port). Use `async with`."""

    def __init__(self, target: str, *, source: str | None = None) -> None:
        self._source = source
        host, _, port = target.rpartition(":")
        self._host, self._port = host, int(port)
        self._server: asyncio.Server | None = None
        self._links: list[_Link] = []
        self._held: list[_Link] = []
        self._holding = False
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def connections(self) -> int:
        """Connections accepted so far (frozen, held and live)."""
        return len(self._links)

    async def __aenter__(self) -> FreezableProxy:
        self._server = await asyncio.start_server(self._accepted, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _accepted(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        link = _Link(reader, writer)
        self._links.append(link)
        if self._holding:
            _reading(writer).pause_reading()
            self._held.append(link)
            return
        await self._forward(link)

    async def _forward(self, link: _Link) -> None:
        try:
            local = None if self._source is None else (self._source, 0)
            up_reader, link.upstream = await asyncio.open_connection(
                self._host, self._port, local_addr=local
            )
        except OSError:
            link.writer.close()
            return
        if link.frozen:  # frozen while it was connecting upstream
            link.freeze()
            return
        _reading(link.writer).resume_reading()
        link.pumps = [
            asyncio.create_task(_pump(link.reader, link.upstream)),
            asyncio.create_task(_pump(up_reader, link.writer)),
        ]

    def freeze(self) -> None:
        """Rule 2 for every open connection; hold new ones (Rule 3)."""
        self._holding = True
        for link in self._links:
            if link not in self._held:
                link.freeze()

    def admit(self) -> None:
        """Forward held connections and every later one (frozen ones stay so)."""
        self._holding = False
        held, self._held = self._held, []
        for link in held:
            task = asyncio.create_task(self._forward(link))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        pumps = [pump for link in self._links for pump in link.pumps]
        for task in [*pumps, *self._tasks]:
            task.cancel()
        for link in self._links:
            for writer in link.writers():
                writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in [*pumps, *self._tasks]:
            with contextlib.suppress(asyncio.CancelledError):
                await task
