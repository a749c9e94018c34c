"""Double of `keypad` (Keys, Event, EventQueue), ported from shared-module/keypad/
__init__.c, Keys.c and EventQueue.c.

Keys claims its pins through digitalio (pull-up when value_when_pressed is False,
pull-down otherwise, if pull=True) and is scanned from the supervisor tick, independent
of the firmware's loop: at construction, then whenever the 1024 Hz raw tick reaches
next_scan (interval_ticks = int(interval * 1024)). keypad_debounce(): each key has a
counter in [-threshold, threshold] that starts at 0; a key changes state when the counter
crosses zero, i.e. after debounce_threshold consecutive scans that disagree with its state
(so a key held while Keys is created reports no press, and its release then reports a
release). reset() sets every counter to -threshold and scans at once, so held keys report
a press. Events carry supervisor.ticks_ms() of the scan. A full queue drops the new event
and sets overflowed. Scans wait while interrupts are disabled (an NVM write).
Left out: KeyMatrix, ShiftRegisterKeys, the event-handler hook.
"""

from __future__ import annotations

from collections import deque

from sim.chip import Chip, Pin, current
from sim.doubles import DEINITED, check_pin
from sim.doubles.digitalio import DigitalInOut, Pull

KEY_NUM_MASK = (1 << 15) - 1


class Event:
    def __init__(self, key_number: int = 0, pressed: bool = True, timestamp: int | None = None):
        if not 0 <= key_number <= KEY_NUM_MASK:
            raise ValueError(f"key_number must be 0-{KEY_NUM_MASK}")
        self._key_number = int(key_number)
        self._pressed = bool(pressed)
        self._timestamp = current().ticks_ms() if timestamp is None else int(timestamp)

    @property
    def key_number(self) -> int:
        return self._key_number

    @property
    def pressed(self) -> bool:
        return self._pressed

    @property
    def released(self) -> bool:
        return not self._pressed

    @property
    def timestamp(self) -> int:
        return self._timestamp

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Event)
            and other._key_number == self._key_number
            and other._pressed == self._pressed
        )

    def __hash__(self) -> int:
        return self._key_number | (0x8000 if self._pressed else 0)

    def __repr__(self) -> str:
        state = "pressed" if self._pressed else "released"
        return f"<Event: key_number {self._key_number} {state}>"


class EventQueue:
    def __init__(self, max_events: int) -> None:
        self._events: deque[tuple[int, bool, int]] = deque()
        self._max = max_events
        self._overflowed = False

    def _record(self, key_number: int, pressed: bool, timestamp: int) -> bool:
        if len(self._events) >= self._max:
            self._overflowed = True
            return False
        self._events.append((key_number, pressed, timestamp))
        return True

    def get(self) -> Event | None:
        if not self._events:
            return None
        key, pressed, ts = self._events.popleft()
        return Event(key, pressed, ts)

    def get_into(self, event: Event) -> bool:
        if not self._events:
            return False
        key, pressed, ts = self._events.popleft()
        event._key_number, event._pressed, event._timestamp = key, pressed, ts
        return True

    def clear(self) -> None:
        self._events.clear()
        self._overflowed = False

    def __len__(self) -> int:
        return len(self._events)

    def __bool__(self) -> bool:
        return bool(self._events)

    @property
    def overflowed(self) -> bool:
        return self._overflowed


class Keys:
    def __init__(
        self,
        pins: object,
        *,
        value_when_pressed: bool,
        pull: bool = True,
        interval: float = 0.020,
        max_events: int = 64,
        debounce_threshold: int = 1,
    ) -> None:
        chip = current()
        pin_list = list(pins)  # type: ignore[call-overload]
        for pin in pin_list:
            check_pin(pin, "pin")
        if not 1 <= debounce_threshold <= 127:
            raise ValueError("debounce_threshold must be 1-127")
        if max_events < 1:
            raise ValueError("max_events must be >= 1")
        if not 0.0 <= interval <= 1000.0:
            raise ValueError("interval must be 0.0-1000.0")
        dios: list[DigitalInOut] = []
        try:
            for pin in pin_list:
                dio = DigitalInOut(pin)
                if pull:
                    dio.pull = Pull.DOWN if value_when_pressed else Pull.UP
                dios.append(dio)
        except Exception:
            for dio in dios:
                dio.deinit()
            raise
        self._chip: Chip | None = chip
        self._dios = dios
        self._pins: list[Pin] = pin_list
        self._value_when_pressed = bool(value_when_pressed)
        self._threshold = int(debounce_threshold)
        self._counters = [0] * len(dios)
        self._interval_ticks = int(interval * 1024)
        self._events = EventQueue(int(max_events))
        self._gen = 0
        self._scan_now()

    def _live(self) -> Chip:
        if self._chip is None:
            raise ValueError(DEINITED)
        return self._chip

    def _scan_now(self) -> None:
        chip = self._live()
        # the tick interrupt runs once per raw tick and scans when now >= next_scan_ticks
        next_tick = chip.raw_ticks() + max(self._interval_ticks, 1)
        self._scan(chip.ticks_ms())
        gen = self._gen
        chip.clock.schedule(chip.raw_tick_time_us(next_tick), lambda: self._tick(gen))

    def _tick(self, gen: int) -> None:
        if gen != self._gen or self._chip is None:
            return
        self._chip.run_irq(lambda: self._tick_now(gen))

    def _tick_now(self, gen: int) -> None:
        if gen == self._gen and self._chip is not None:
            self._scan_now()

    def _scan(self, timestamp: int) -> None:
        for key, dio in enumerate(self._dios):
            now_pressed = dio.value == self._value_when_pressed
            if self._debounce(key, now_pressed):
                self._events._record(key, now_pressed, timestamp)

    def _debounce(self, key: int, pressed: bool) -> bool:
        counters, threshold = self._counters, self._threshold
        if pressed:
            if counters[key] < threshold:
                counters[key] += 1
                if counters[key] == 0:
                    counters[key] = threshold
                    return True
        elif counters[key] > -threshold:
            counters[key] -= 1
            if counters[key] == 0:
                counters[key] = -threshold
                return True
        return False

    def reset(self) -> None:
        self._live()
        self._counters = [-self._threshold] * len(self._dios)
        self._gen += 1
        self._scan_now()

    def deinit(self) -> None:
        if self._chip is None:
            return
        self._gen += 1
        for dio in self._dios:
            dio.deinit()
        self._chip = None

    def __enter__(self) -> Keys:
        return self

    def __exit__(self, *exc: object) -> None:
        self.deinit()

    @property
    def key_count(self) -> int:
        self._live()
        return len(self._dios)

    @property
    def events(self) -> EventQueue:
        self._live()
        return self._events
