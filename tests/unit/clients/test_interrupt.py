"""Ctrl-C ends a CLI command at once, even when the signal lands on another
thread than the one running the event loop (as grpc's threads make likely)."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

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


def _until_asleep(pid: int) -> None:
    """Until the child's main thread sleeps (in its selector): a signal that
    found it still running Python would be seen without any wakeup."""
    stat = Path(f"/proc/{pid}/stat")
    deadline = time.monotonic() + WAIT
    # The state follows the parenthesised command name.
    while stat.read_text().rpartition(")")[2].split()[0] != "S":
        assert time.monotonic() < deadline, "the child never went to sleep"
        time.sleep(0.01)  # nothing to wait on in another process


def test_ctrl_c_delivered_to_another_thread_ends_the_command() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == "watching\n"
        _until_asleep(child.pid)
        child.send_signal(signal.SIGINT)
        out, _ = child.communicate(timeout=WAIT)
    finally:
        child.kill()
        child.wait()
    assert child.returncode == 130
    assert out.splitlines() == ["cleaned up", "interrupted"]
