"""A callback receiver: an HTTP server that records every callback it is sent and
answers with scripted statuses."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable

from aiohttp import web
from twilio.request_validator import RequestValidator

from tests.conftest import AUTH_TOKEN

WAIT = 10.0


@dataclasses.dataclass
class Hit:
    method: str
    path: str
    url: str  # the full URL as requested, query string included
    params: dict[str, str]  # the form body (POST) or the query (GET)
    headers: dict[str, str]
    status: int

    @property
    def delivered(self) -> bool:
        return 200 <= self.status < 300

    def signature_valid(self) -> bool:
        signed = self.params if self.method == "POST" else {}
        return bool(
            RequestValidator(AUTH_TOKEN).validate(
                self.url, signed, self.headers["X-Twilio-Signature"]
            )
        )


class Receiver:
    """An HTTP server that records every callback and answers as scripted."""

    def __init__(self) -> None:
        self.hits: list[Hit] = []
        self.script: list[int] = []  # statuses for the next requests
        self.status = 200  # then this one
        self.port = 0
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None

    async def start(self, port: int = 0) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def _handle(self, request: web.Request) -> web.Response:
        if request.method == "POST":
            params = {k: str(v) for k, v in (await request.post()).items()}
        else:
            params = dict(request.query)
        status = self.script.pop(0) if self.script else self.status
        hit = Hit(
            request.method,
            request.path,
            f"http://127.0.0.1:{self.port}{request.raw_path}",
            params,
            dict(request.headers),
            status,
        )
        async with self._changed:
            self.hits.append(hit)
            self._changed.notify_all()
        return web.Response(status=status)

    def delivered(self, path: str | None = None) -> list[Hit]:
        return [h for h in self.hits if h.delivered and (path is None or h.path == path)]

    async def wait(self, predicate: Callable[[], bool]) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), WAIT)

    async def wait_delivered(self, count: int, path: str | None = None) -> list[Hit]:
        await self.wait(lambda: len(self.delivered(path)) >= count)
        return self.delivered(path)
