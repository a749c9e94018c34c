"""The studio scenario: what the Digitakt and the Keystep send during a few bars.

Input A, Digitakt (clock master, 120 BPM): Start, 24 ppqn clock, a bass line on ch 1
(Minitaur) in 8ths with filter automation (CC74) in 16ths, chords alternating on ch 2 and
ch 3 (the two Rev2 parts), running status where a Digitakt uses it.
Input B, Keystep: keys on ch 1 (to record into the Digitakt), pitch-bend sweeps and
mod-wheel moves on its own channel (ch 1), with running status as the Keystep sends them.
`full_load` makes both inputs send at 100 % of the wire for a given time.
"""

from __future__ import annotations

import math

Event = tuple[int, bytes]

BPM = 120
CLOCK_US = int(60_000_000 / (BPM * 24))  # 20833 us


def digitakt(seconds: float, start_us: int = 100_000) -> list[Event]:
    events: list[Event] = [(start_us, b"\xfa")]
    end = start_us + int(seconds * 1e6)
    clock = 0
    t = start_us
    chord_roots = (48, 53, 55, 50)
    while t < end:
        events.append((t, b"\xf8"))
        beat, tick = divmod(clock, 24)
        if tick % 12 == 0:  # 8ths: bass on ch 1
            note = 36 + (3 if (clock // 12) % 4 == 2 else 0)
            events.append((t + 400, bytes([0x90, note, 100])))
            events.append((t + 400 + CLOCK_US * 9, bytes([0x80, note, 0])))
        if tick % 6 == 3:  # 16ths off the clock: filter automation on ch 1
            value = int(64 + 50 * math.sin(clock / 20.0))
            events.append((t + 2_000, bytes([0xB0, 74, value])))
        if tick == 0 and beat % 4 == 0:  # a chord each bar, Rev2 parts alternate
            bar = beat // 4
            ch = 1 + (bar % 2)  # ch 2 or 3 (0-based 1 or 2)
            root = chord_roots[bar % len(chord_roots)]
            on = bytes([0x90 | ch, root, 90, root + 4, 90, root + 7, 90])  # running status
            off = bytes([0x80 | ch, root, 0, root + 4, 0, root + 7, 0])
            events.append((t + 800, on))
            events.append((t + 800 + CLOCK_US * 88, off))
        clock += 1
        t = start_us + clock * CLOCK_US
    events.append((t, b"\xfc"))
    return _sorted(events)


def keystep(seconds: float, start_us: int = 300_000) -> list[Event]:
    events: list[Event] = []
    end = start_us + int(seconds * 1e6)
    t = start_us
    phrase = 0
    while t < end:
        # a few keys (to the Digitakt)
        for k, note in enumerate((60, 64, 67)):
            on = t + k * 150_000
            events.append((on, bytes([0x90, note, 80])))
            events.append((on + 120_000, bytes([0x80, note, 64])))
        # a pitch-bend sweep: 40 values in 400 ms, running status
        bend_start = t + 500_000
        for k in range(40):
            value = 8192 + int(6000 * math.sin(math.pi * k / 39))
            if k == 39:
                value = 8192
            data = bytes([value & 0x7F, value >> 7])
            events.append((bend_start + k * 10_000, (b"\xe0" if k == 0 else b"") + data))
        # mod wheel up and down
        mw_start = t + 1_000_000
        for k in range(20):
            value = int(127 * math.sin(math.pi * k / 19))
            events.append((mw_start + k * 15_000, bytes([0xB0, 1, value])))
        phrase += 1
        t += 1_600_000
    return _sorted(events)


def full_load(seconds: float, channel: int = 0, start_us: int = 0) -> list[Event]:
    """A source that never lets its wire rest: 3-byte messages back to back (no running
    status, so the output needs exactly the same bandwidth)."""
    events: list[Event] = []
    count = int(seconds * 1e6 / 960)
    data = bytearray()
    for k in range(count):
        if k % 2:
            data += bytes([0xB0 | channel, 74, k & 0x7F])
        else:
            data += bytes([0xE0 | channel, k & 0x7F, 64])
    events.append((start_us, bytes(data)))
    return events


def _sorted(events: list[Event]) -> list[Event]:
    events.sort(key=lambda e: e[0])
    return events
