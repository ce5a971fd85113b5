"""Ctrl-C ends a CLI command at once, even when the signal lands on another
thread than the one running the event loop (as grpc's threads make likely)."""

from __future__ import annotations

import asyncio
import signal
import sys
import textwrap
from pathlib import Path

from tests.poll import eventually

ROOT = Path(__file__).resolve().parents[3]
WAIT = 20.0

# A command asleep on a quiet stream: nothing wakes its loop for an hour. The
# main thread blocks SIGINT, so the kernel hands it to the other thread, as it
# may hand it to any of grpc's.
_CHILD = textwrap.dedent(
    """
    import asyncio, signal, sys, threading
    from clients.interrupt import run_interruptibly

    threading.Thread(target=threading.Event().wait, daemon=True).start()
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})

    async def quiet_stream() -> None:
        try:
            print("watching", flush=True)
            await asyncio.sleep(3600)
        finally:
            print("cleaned up", flush=True)

    try:
        run_interruptibly(quiet_stream())
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        sys.exit(130)
    """
)


def _asleep(pid: int) -> bool:
    """Whether the child's main thread sleeps (in its selector): a signal that
    found it still running Python would be seen without any wakeup. The state
    follows the parenthesised command name."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rpartition(")")[2].split()[0] == "S"


async def test_ctrl_c_delivered_to_another_thread_ends_the_command() -> None:
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _CHILD, cwd=ROOT, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert child.stdout is not None
        assert await asyncio.wait_for(child.stdout.readline(), WAIT) == b"watching\n"
        await eventually(lambda: _asleep(child.pid), "the child goes to sleep", WAIT)
        child.send_signal(signal.SIGINT)
        out, _ = await asyncio.wait_for(child.communicate(), WAIT)
    finally:
        if child.returncode is None:
            child.kill()
        await child.wait()
    assert child.returncode == 130
    assert out.decode().splitlines() == ["cleaned up", "interrupted"]
