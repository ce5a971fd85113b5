"""A watch stream's progress timer: a marker once the stream has sent nothing for an interval.

Rule 1: quiet is counted from when the stream last sent something, not from
        when it last woke: a filtered stream that passes nothing still gets its
        marker on time.
Rule 2: a busy stream sets about one timer per interval, not one per event: the
        timer stays armed while the stream wakes and idles again, and re-arms
        for what is left when it fires early.
Rule 3: times come from the injected clock.
"""

from __future__ import annotations

import asyncio

from service.clock import Clock, Timer


class Beat:
    """One stream's progress timer: resolves its wait False once the stream has
    sent nothing for `seconds`.

    Quiet is counted from when the stream went idle after it last sent
    something (`spoke`), not from when it last woke: a filtered stream on a
    busy conference wakes for every event and may pass none, and still gets
    its marker on time, so a client can treat silence as a dead stream. The
    timer is armed when the stream first goes idle and stays armed while the
    stream wakes and idles again; when it fires early (the stream spoke since),
    it re-arms for what is left. So a busy stream sets about one timer per
    interval, not one per event.
    """

    __slots__ = ("_clock", "_seconds", "_since", "_timer", "spoke", "waiter")

    def __init__(self, clock: Clock, seconds: float) -> None:
        self._clock = clock
        self._seconds = seconds
        self._since = 0.0
        self._timer: Timer | None = None
        self.waiter: asyncio.Future[bool] | None = None
        # Set by the stream whenever it sends something; read at its next idle.
        self.spoke = True

    def idle(self, waiter: asyncio.Future[bool]) -> None:
        self.waiter = waiter
        now = self._clock.now()
        if self.spoke:
            self._since = now
            self.spoke = False
        if self._timer is None:
            left = self._since + self._seconds - now
            if left > 1e-6:
                self._timer = self._clock.call_later(left, self._due)
            else:  # quiet for an interval already (it was busy passing nothing)
                waiter.set_result(False)

    def due(self) -> bool:
        """While the stream is busy (not idle): whether a marker is due now."""
        now = self._clock.now()
        if self.spoke:
            self._since = now
            self.spoke = False
            return False
        return now - self._since >= self._seconds

    def _due(self) -> None:
        self._timer = None
        waiter = self.waiter
        if waiter is None or waiter.done():
            return  # busy: armed again when it next goes idle
        left = self._since + self._seconds - self._clock.now()
        if left > 1e-6:  # not yet (a microsecond early is on time: float rounding)
            self._timer = self._clock.call_later(left, self._due)
        else:
            waiter.set_result(False)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
