"""Virtual clock of the simulator: integer microseconds and a queue of timed events.

Nothing in the simulator reads the host's clock. The hardware doubles schedule their
future (a byte's stop bit, a PIO pull, a key scan) here; blocking calls of the firmware
(a UART read with a timeout, a full FIFO, time.sleep) advance this clock, which fires
every event that falls inside the wait, in time order.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable


class VirtualClock:
    """A monotonic microsecond clock with scheduled callbacks.

    Events at the same time fire in the order they were scheduled. A callback may schedule
    further events (at or after the time it fires); it must not advance the clock itself.
    """

    def __init__(self) -> None:
        self.now_us: int = 0
        self._queue: list[tuple[int, int, Callable[[], None]]] = []
        self._cancelled: set[int] = set()
        self._live: set[int] = set()
        self._seq = 0
        self._firing = False
        self.fired = 0  # events fired so far (the runner asks whether a pass saw one)

    def schedule(self, t_us: int, fn: Callable[[], None]) -> int:
        """Call fn() when the clock reaches t_us; returns a handle for cancel()."""
        t_us = int(t_us)
        if t_us < self.now_us:
            raise ValueError(
                f"cannot schedule an event at {t_us} us: the clock is already at {self.now_us} us"
            )
        self._seq += 1
        handle = self._seq
        heapq.heappush(self._queue, (t_us, handle, fn))
        self._live.add(handle)
        return handle

    def cancel(self, handle: int) -> None:
        """Forget a scheduled event; cancelling one that already fired is a no-op."""
        if handle in self._live:
            self._live.discard(handle)
            self._cancelled.add(handle)

    def _drop_cancelled(self) -> None:
        queue = self._queue
        while queue and queue[0][1] in self._cancelled:
            self._cancelled.discard(heapq.heappop(queue)[1])

    def next_event_us(self) -> int | None:
        """Time of the earliest pending event, or None when nothing is scheduled."""
        self._drop_cancelled()
        return self._queue[0][0] if self._queue else None

    def pending(self) -> int:
        """Number of events still scheduled."""
        return len(self._live)

    def advance_to(self, t_us: int) -> None:
        """Fire every event with time <= t_us in time order, then set now_us = t_us."""
        t_us = int(t_us)
        if t_us < self.now_us:
            raise ValueError(f"the clock never goes backwards: {t_us} us < {self.now_us} us")
        if self._firing:
            raise RuntimeError("an event callback tried to advance the virtual clock")
        queue = self._queue
        self._firing = True
        try:
            while True:
                self._drop_cancelled()
                if not queue or queue[0][0] > t_us:
                    break
                when, handle, fn = heapq.heappop(queue)
                self._live.discard(handle)
                self.now_us = when
                self.fired += 1
                fn()
        finally:
            self._firing = False
        self.now_us = t_us

    def advance(self, dt_us: int) -> None:
        """advance_to(now_us + dt_us)."""
        if dt_us < 0:
            raise ValueError(f"the clock never goes backwards: dt_us={dt_us}")
        self.advance_to(self.now_us + int(dt_us))

    def run_next(self) -> bool:
        """Advance to the next event and fire it (and any at the same time); False if none."""
        t = self.next_event_us()
        if t is None:
            return False
        self.advance_to(t)
        return True
