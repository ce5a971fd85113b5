"""How long calls wait in grpc's queue before a handler sees them, measured by probes.

grpc.aio takes calls from grpc core one at a time per method, on the event
loop; when the loop is saturated, calls wait in core's per-method queue, where
no handler, interceptor or admission counts them, and grpc gives no arrival
time. So the server measures that wait the only way it can: it sends itself a
probe call of the same method, through its own port, and sees when the probe
comes out of the queue.

Rule 1: while a unary method has calls (health excepted), a probe of it is sent
        at most every `interval` seconds, each marked with this process's secret
        and a sequence number; a probe is answered at once, first thing in the
        method's wrapper (service.rpc.front: no log line, no metrics, no
        admission, no door).
Rule 2: core's queue is first in, first out: a call taken from it now arrived
        before every probe still queued behind it, so it has waited at least as
        long as the oldest probe still outstanding (`waited`). That is a lower
        bound, never a stale figure: once the queue empties, every probe has
        come out, and the wait reads 0 again.
Rule 3: a probe lost (its call failed) stops counting; a call that merely
        carries the probe header without the secret is an ordinary call.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hmac
import ipaddress
import itertools
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any

import grpc

log = logging.getLogger("rollcall.queue_probe")

PROBE_HEADER = "rollcall-queue-probe"
HEALTH = "/grpc.health.v1.Health/"
# The longest a probe may take before it is given up (it is still counted
# until then: it is the evidence of a long queue).
_PROBE_TIMEOUT_SECONDS = 60.0
_CONNECT_SECONDS = 5.0


def own_target(listen: str, port: int) -> str:
    """Where this process reaches the gRPC port it bound (`listen`'s host, or
    loopback when it listens on every address; a Unix socket as it is)."""
    if listen.startswith("unix"):
        return listen
    host = listen.rpartition(":")[0].strip("[]") or "127.0.0.1"
    with contextlib.suppress(ValueError):
        if ipaddress.ip_address(host).is_unspecified:
            host = "127.0.0.1"
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class QueueProbe:
    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._secret = secrets.token_hex(16)
        self._seq = itertools.count(1)
        # method -> (sequence number, sent at) of its probes still queued, oldest first
        self._outstanding: dict[str, collections.deque[tuple[int, float]]] = {}
        self._last_sent: dict[str, float] = {}
        # method -> its probes sent and not seen coming out (lost ones included)
        self._unseen: collections.Counter[str] = collections.Counter()
        self._channel: grpc.aio.Channel | None = None
        self._calls: dict[str, Callable[..., Any]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.sent = 0

    async def start(self, target: str) -> None:
        """Probe through `target`, this server's own port; if it cannot be
        reached, nothing is probed (and nothing refused for waiting)."""
        channel = grpc.aio.insecure_channel(
            target,
            options=[("grpc.use_local_subchannel_pool", 1), ("grpc.enable_retries", 0)],
        )
        try:
            await asyncio.wait_for(channel.channel_ready(), timeout=_CONNECT_SECONDS)
        except TimeoutError:
            log.warning("cannot reach the server's own port: queue waits go unmeasured")
            await channel.close()
            return
        self._channel = channel

    async def close(self) -> None:
        """No more probes; those outstanding are abandoned."""
        channel, self._channel = self._channel, None
        for task in list(self._tasks):
            task.cancel()
        if channel is not None:
            await channel.close()
        self._outstanding.clear()

    def waited(self, method: str) -> float:
        """Rule 2: at least how long a call of `method` taken now has waited."""
        queued = self._outstanding.get(method)
        if not queued:
            return 0.0
        return time.monotonic() - queued[0][1]

    def came_out(self, method: str, context: Any) -> bool:
        """Whether this call of `method` is one of our probes (Rule 1), noted
        as out of the queue; any other call (Rule 3) is served as usual. Its
        metadata is read only while a probe of `method` may still come out
        (sent, not seen since: a lost one too)."""
        if not self._unseen.get(method):
            return False
        for key, value in context.invocation_metadata() or ():
            if key == PROBE_HEADER:
                seq = self._verified(value)
                if seq is not None:
                    self._came_out(method, seq)
                    return True
        return False

    def maybe_send(self, method: str) -> None:
        """A unary call of `method` (health excepted) was taken: probe it (Rule 1)."""
        if self._channel is not None:
            self._maybe_send(method)

    def _verified(self, value: str | bytes) -> int | None:
        text = value.decode() if isinstance(value, bytes) else value
        secret, _, seq = text.partition(".")
        if not hmac.compare_digest(secret, self._secret) or not seq.isdigit():
            return None
        return int(seq)

    def _came_out(self, method: str, seq: int) -> None:
        self._unseen[method] -= 1
        queued = self._outstanding.get(method)
        # First in, first out: an older probe not yet out is lost.
        while queued and queued[0][0] <= seq:
            queued.popleft()

    def _maybe_send(self, method: str) -> None:
        now = time.monotonic()
        if now - self._last_sent.get(method, float("-inf")) < self.interval:
            return
        self._last_sent[method] = now
        seq = next(self._seq)
        self._outstanding.setdefault(method, collections.deque()).append((seq, now))
        self._unseen[method] += 1
        task = asyncio.ensure_future(self._send(method, seq))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, method: str, seq: int) -> None:
        channel = self._channel
        if channel is None:
            return
        call = self._calls.get(method)
        if call is None:
            call = self._calls[method] = channel.unary_unary(method)
        self.sent += 1
        try:
            await call(
                b"",
                metadata=((PROBE_HEADER, f"{self._secret}.{seq}"),),
                timeout=_PROBE_TIMEOUT_SECONDS,
            )
        except (grpc.aio.AioRpcError, grpc.aio.UsageError):
            pass  # lost (Rule 3): the server stopping, or the probe timed out
        finally:
            queued = self._outstanding.get(method)
            if queued and any(s == seq for s, _ in queued):
                self._outstanding[method] = collections.deque((s, t) for s, t in queued if s != seq)
