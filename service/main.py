"""`rollcall serve`: run the service until SIGTERM or SIGINT, then exit 0.

Rule 1: a signal starts a graceful stop (App.stop: health NOT_SERVING while still
        serving for drain_seconds, then new calls refused UNAVAILABLE and in-flight
        RPCs finish within grace_seconds), and the process exits 0.
Rule 2: any failure to start (a port in use, a database that cannot be opened, a
        bug of ours alike) closes what did open, threads included, and exits 1
        with the reason on stderr in one line; its traceback is logged at DEBUG only.
Rule 3: logging is JSON lines on stderr, scrubbed of credentials (service.redact).
Rule 4: tracing starts if the OTEL_* environment asks for it (service.tracing),
        and what it buffered is sent before the process exits.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import sys
import threading

from service import keys, redact, tracing
from service.app import App
from service.config import Settings
from service.rpc.interceptors import JsonFormatter

# The cyclic garbage collector's thresholds for a server (gc.set_threshold).
# A request allocates hundreds of short-lived objects (messages, rows, dicts)
# that reference counting frees on its own; with Python's default (700, 10,
# 10) the collector still walked the young ones every 700 allocations, and
# the older generations far more often than they gain garbage. Measured on
# `bench` Create c=64 (the most allocating call): about 15% more requests
# per second with these, in A/B runs on the same machine.
GC_THRESHOLDS = (20_000, 50, 50)

log = logging.getLogger("rollcall.main")


class StartFailed(Exception):
    """The service could not start; the message is the one line to tell why."""


def _reason(exc: BaseException) -> str:
    """`exc` in one line: its own words for the kinds a setting commonly causes
    (a port in use, a bad value), else its type's name and its words."""
    words = " ".join(str(exc).split())
    if isinstance(exc, OSError | ValueError | RuntimeError) and words:
        return words
    kind = type(exc)
    name = (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )
    return f"{name}: {words}" if words else name


def tune_garbage_collector() -> None:
    """Once started: what start-up built (modules, settings, the app) lives
    as long as the process, so it is collected once and then frozen out of
    every later collection; and the thresholds above apply."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def configure_logging(level: str) -> None:
    redact.install()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


async def _threads_ended(before: set[threading.Thread]) -> None:
    """Until every thread started since `before` has ended, the loop still
    running to take their last results: a worker that outlives the loop (such
    as aiosqlite's, finishing the close of a connection that failed to open)
    would otherwise print its own traceback. A thread that never ends would
    keep the process from exiting anyway."""
    loop = asyncio.get_running_loop()
    await loop.shutdown_default_executor()
    left = [t for t in threading.enumerate() if t not in before and not t.daemon]
    if not left:
        return
    ended = loop.create_future()

    def join() -> None:
        for thread in left:
            thread.join()
        loop.call_soon_threadsafe(ended.set_result, None)

    threading.Thread(target=join, name="rollcall-start-failed", daemon=True).start()
    await ended


async def start(settings: Settings) -> App:
    """A started App; StartFailed (from the cause) if anything at all fails,
    once what did open is closed again (the store's threads, sockets)."""
    before = set(threading.enumerate())
    app: App | None = None
    try:
        app = App(settings)
        await app.start()
    except Exception as exc:
        log.debug("start failed", exc_info=True)
        try:
            if app is not None:
                await app.stop(grace=0)
            await _threads_ended(before)
        except Exception:
            log.debug("closing after a failed start failed too", exc_info=True)
        raise StartFailed(_reason(exc)) from exc
    except BaseException:
        if app is not None:
            await app.stop(grace=0)
        raise
    return app


async def serve(settings: Settings) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    app = await start(settings)
    tune_garbage_collector()
    lines = [
        f"rollcall: gRPC on {settings.grpc_listen.rsplit(':', 1)[0]}:{app.grpc_port}"
        + (f", REST on port {app.http_port}" if app.http_port else "")
        + (f", metrics on port {app.metrics_port}" if app.metrics_port else "")
    ]
    if app.demo is not None:
        # A generated token is shown once, by the first start that serves with it.
        if app.demo.show:
            shown = f"auth token {app.demo.auth_token} (shown only now)"
        elif app.demo.configured:
            shown = "(auth token as configured)"
        else:
            shown = f"(auth token as shown when it was generated; {keys.RENEW_HINT})"
        lines.append(f"rollcall: demo account {app.demo.account_sid} {shown}")
    print("\n".join(lines), flush=True)
    await stop.wait()
    await app.stop()
    return 0


def run(settings: Settings) -> int:
    configure_logging(settings.log_level)
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop is optional off Linux
        pass
    try:
        tracing.configure()
    except ValueError as bad:
        print(f"rollcall: cannot start: {bad}", file=sys.stderr)
        return 1
    try:
        return asyncio.run(serve(settings))
    except StartFailed as failed:
        print(f"rollcall: cannot start: {failed}", file=sys.stderr)
        return 1
    finally:
        tracing.shutdown()
