"""Double of CircuitPython's `time`, on the virtual clock (active as `time` only inside
sim.install.firmware_time()).

Models:
- monotonic(): float seconds of the 1024 Hz supervisor tick (ms = ticks * 1000 // 1024),
  with CircuitPython's float precision: the value is a 32-bit float whose two lowest
  mantissa bits are dropped (MICROPY_OBJ_REPR_C), so after a few hours it only moves in
  steps of several ms, as on the chip.
- monotonic_ns(): integer ns at the 1/32768 s resolution of the RP2040 port's subticks.
- sleep(s): rounds to whole ms (common_hal_time_delay_ms) and advances the virtual clock by
  that much, firing every event in between (interrupts keep running during a sleep).
- time(): seconds since 1970, starting at 2000-01-01 00:00:00 (the RTC's reset value);
  localtime(), mktime(), struct_time.
Left out: time zones (localtime is UTC, as on CircuitPython), alarm-based light sleep.
"""

from __future__ import annotations

import calendar
import struct
import time as _host_time

from sim.chip import current

struct_time = _host_time.struct_time
RTC_EPOCH = 946684800  # 2000-01-01 00:00:00 UTC


def _repr_c_float(value: float) -> float:
    """A float as MICROPY_OBJ_REPR_C stores it: float32, two low mantissa bits dropped."""
    (bits,) = struct.unpack("<I", struct.pack("<f", value))
    (out,) = struct.unpack("<f", struct.pack("<I", bits & ~3))
    return out


def _f32(value: float) -> float:
    return struct.unpack("<f", struct.pack("<f", value))[0]


def monotonic() -> float:
    ms = current().ticks_ms64()
    return _repr_c_float(_f32(_f32(float(ms)) / 1000.0))


def monotonic_ns() -> int:
    subticks = current().clock.now_us * 32768 // 1_000_000
    return subticks * 1_000_000_000 // 32768


def sleep(seconds: float) -> None:
    msecs = int(1000.0 * float(seconds) + 0.5)
    if seconds < 0 or msecs < 0:
        raise ValueError("sleep length must be non-negative")
    current().clock.advance(msecs * 1000)


def time() -> int:
    return RTC_EPOCH + current().clock.now_us // 1_000_000


def localtime(secs: int | None = None) -> struct_time:
    return _host_time.gmtime(time() if secs is None else int(secs))


def mktime(t: struct_time | tuple) -> int:
    return calendar.timegm(tuple(t)[:6] + (0, 0, 0))
