"""Double of CircuitPython's `time`, on the virtual clock (active as `time` only inside
sim.install.firmware_time()).

Models:
- monotonic(): float seconds of the 1024 Hz supervisor tick (ms = ticks * 1000 // 1024),
  with CircuitPython's float precision: the value is a 32-bit float whose two lowest
  mantissa bits are dropped (MICROPY_OBJ_REPR_C), so after a few hours it only moves in
  steps of several ms, as on the chip.
- monotonic_ns(): integer ns as CircuitPython 10 computes it on the RP2040: the 1 MHz timer
  (time_us_64) in 1/32768 s subticks (ports/raspberrypi/supervisor/port.c
  port_get_raw_ticks), ticks of 32 subticks at 976562.5 ns and subticks at 30518 ns
  (shared-module/time/__init__.c), so it moves in ~30.5 us steps. (CircuitPython 9.1-9.2
  derive the subticks from us % 977 and lag up to 0.45 ms once a second; 9.0 has none.)
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
    return monotonic_ns_at(current().clock.now_us)


def monotonic_ns_at(now_us: int) -> int:
    """What monotonic_ns() returns at virtual time now_us."""
    all_subticks = now_us * 512 // 15625
    ticks, subticks = divmod(all_subticks, 32)
    return 976562 * ticks + ticks // 2 + 30518 * subticks


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
