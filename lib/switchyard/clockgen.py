"""CLK, the box's own MIDI clock: 24 clocks a quarter note at the preset file's tempo (or
the last tapped one), Start and Stop from the front panel (issue 22; docs/PRESETS.md).

Its bytes take the path of an input's realtime byte: ClockGen calls Router.realtime with
the source CLK, so the presets' CLK routes, clock divide, bar switching, the CLK LED and
the outputs' realtime lanes treat them as they treat the Digitakt's.

Timing. The loop polls the generator right after its ticks read, each pass (not in the
4 ms housekeeping: that would be 4 ms of jitter on a 20.8 ms clock). The k-th clock after
the origin is due at origin + k * 60 / (bpm * 24) s, worked out from k every time (whole
microseconds plus k * remainder // tempo), never by adding intervals, so no rounding error
adds up: every bpm10 clocks (25 s at any tempo) the origin moves on by exactly 25 s.

The time source. supervisor.ticks_ms() counts the 1/1024 s supervisor tick: ~1 ms steps,
too coarse for a clock whose intervals must stay within 250 us. time.monotonic_ns() on the
RP2040 reads the chip's 1 MHz timer (time_us_64) in 1/32768 s subticks: 30.5 us steps in
CircuitPython 10 (ports/raspberrypi/supervisor/port.c since 10.0.0). CircuitPython 9.1
and 9.2 compute the subticks from us % 977, which lags up to 0.45 ms before catching up
once a second; 9.0 and older have no subticks (976.6 us steps). So CLK wants
CircuitPython 10. The value is a long integer after 1.07 s of uptime (CircuitPython's
small integers hold 31 bits), so reading it allocates: the generator reads it only once
ticks_ms says the next clock is less than _GATE_MS away, and every other pass costs one
ticks comparison. Ways round it looked at: memorymap.AddressRange over the timer's
TIMERAWL reads IO registers only as aligned 4-byte slices, and a slice read makes a new
bytearray (ports/raspberrypi/common-hal/memorymap: a single index is a 1-byte read, refused
for IO); a PIO state machine counting microseconds into its RX FIFO needs no allocation
(readinto a preallocated array, 24 bits so the value stays a small integer) but runs
without ever stalling, which the simulator's PIO double would step instruction by
instruction.
"""

from switchyard.midi import const

try:
    from time import monotonic_ns
except ImportError:  # a MicroPython without it: the caller passes its own now_us
    monotonic_ns = None  # type: ignore[assignment]

_US_MASK = const(0x1FFFFFFF)  # fine time: us modulo 2**29 (537 s), small integers only
_US_HALF = const(0x10000000)
_MS_MASK = const(0x1FFFFFFF)  # supervisor.ticks_ms wraps at 2**29
_MS_HALF = const(0x10000000)
# 60 s / 24 clocks a beat in us, times 10 (tempo in tenths): bpm10 clocks take 25 s exactly
_US_PER_CLOCK_TENTHS = const(25000000)
_GATE_MS = const(3)
# Start goes this long before the clock it starts: on the wire ahead of it (a byte is
# 320 us), so that clock leaves on time rather than behind the FA
_START_LEAD_US = const(1000)  # read the fine clock from this long before a clock is due
_FAR_MS = const(0x8000000)  # a gate that stays shut (37 h; reopened then, harmlessly)
_TAP_TIMEOUT_MS = const(3100)  # a gap longer than a beat at 20 BPM starts a new series
_MAX_TAPS = const(16)  # a series longer than this starts again from its last tap
MIN_BPM10 = const(200)
MAX_BPM10 = const(3000)
_CLOCK = const(0xF8)
_START = const(0xFA)
_STOP = const(0xFC)


def monotonic_us():
    """us since power-up modulo 2**29, from time.monotonic_ns() (see the module's notes)."""
    return (monotonic_ns() // 1000) & _US_MASK


class ClockGen:
    """The clock of the box's own: poll() once a pass; start_stop() and tap() from the
    panel; bpm10 is the tempo in tenths of a BPM."""

    def __init__(self, realtime, source, bpm10, when_stopped, now_us, now_ms):
        self.realtime = realtime  # Router.realtime
        self.source = source  # router.CLK
        self.now_us = now_us
        self.when_stopped = when_stopped  # F8 while stopped too ("clock_when_stopped")
        self.running = False  # started (FA sent, FC not yet)
        self.start_pending = False  # FA goes just before the next clock
        self.stop_pending = False  # FC goes at the next pass
        self.ticking = when_stopped  # clocks going out now
        self.sent = 0  # clocks sent, modulo 2**30 (the simulator's summary)
        self.taps = 0
        self.first_tap = 0
        self.last_tap = 0
        self.bpm10 = MIN_BPM10
        self.q = 0  # us a clock, whole part
        self.r = 0  # and the remainder, in 1/bpm10 us
        self.origin = now_us()
        self.k = 0
        self.due = self.origin  # fine time of the next clock
        self.last = self.origin  # fine time the last clock was due
        self._period(bpm10)
        self.gate_ms = now_ms() if self.ticking else (now_ms() + _FAR_MS) & _MS_MASK

    # ---- the loop's part -------------------------------------------------------------

    def poll(self, now_ms):
        """Send what is due: one clock at most (a late one catches up a pass at a time)."""
        if ((now_ms - self.gate_ms) & _MS_MASK) >= _MS_HALF:
            return  # the next clock is more than _GATE_MS away: nothing to read
        if self.stop_pending:
            self.stop_pending = False
            self.running = False
            self.realtime(self.source, _STOP)
            self.ticking = self.when_stopped
        if not self.ticking and not self.start_pending:
            self.gate_ms = (now_ms + _FAR_MS) & _MS_MASK
            return
        now = self.now_us()
        if not self.ticking:  # started from silence: the first clock goes after the FA
            self.ticking = True
            self._anchor((now + _START_LEAD_US) & _US_MASK, 0)
        due = self.due
        if self.start_pending and ((now + _START_LEAD_US - due) & _US_MASK) < _US_HALF:
            self.start_pending = False
            self.running = True
            self.realtime(self.source, _START)
        if ((now - due) & _US_MASK) >= _US_HALF:
            return  # less than _GATE_MS to go: look again next pass
        self.realtime(self.source, _CLOCK)
        self.sent = (self.sent + 1) & 0x3FFFFFFF
        self.last = due
        self._advance()
        ahead = (self.due - now) & _US_MASK
        if ahead >= _US_HALF:
            self.gate_ms = now_ms  # late: the next one is due already
        else:
            self.gate_ms = (now_ms + ahead // 1000 - _GATE_MS) & _MS_MASK

    def _advance(self):
        k = self.k + 1
        if k >= self.bpm10:  # bpm10 clocks are 25 s exactly: move the origin, keep k small
            self.origin = (self.origin + _US_PER_CLOCK_TENTHS) & _US_MASK
            k = 0
        self.k = k
        self.due = (self.origin + k * self.q + (k * self.r) // self.bpm10) & _US_MASK

    def _anchor(self, at, k):
        """Count clocks from `at`: clock k after it is due next."""
        self.origin = at
        self.k = k - 1
        self._advance()

    def _period(self, bpm10):
        self.bpm10 = bpm10
        self.q = _US_PER_CLOCK_TENTHS // bpm10
        self.r = _US_PER_CLOCK_TENTHS % bpm10

    # ---- the panel's part --------------------------------------------------------------

    def set_tempo(self, bpm10, now_ms):
        """A new tempo from the next clock on: counted from the last clock's time."""
        if bpm10 < MIN_BPM10:
            bpm10 = MIN_BPM10
        elif bpm10 > MAX_BPM10:
            bpm10 = MAX_BPM10
        if bpm10 == self.bpm10:
            return
        self._period(bpm10)
        if self.ticking:
            self._anchor(self.last, 1)
            self.gate_ms = now_ms  # the next clock may be nearer now

    def start_stop(self, now_ms):
        """Start CLK (FA 1 ms before its next clock) or stop it (FC at once)."""
        if self.running or self.start_pending:
            self.start_pending = False
            self.stop_pending = self.running
        else:
            self.start_pending = True
        self.gate_ms = now_ms

    def tap(self, t_ms, now_ms):
        """A tap at t_ms (the key's own timestamp): two or more taps less than 3.1 s apart
        set the tempo to their mean interval, first to last."""
        if self.taps and ((t_ms - self.last_tap) & _MS_MASK) > _TAP_TIMEOUT_MS:
            self.taps = 0
        if self.taps >= _MAX_TAPS:
            self.taps = 1
            self.first_tap = self.last_tap
        if not self.taps:
            self.taps = 1
            self.first_tap = self.last_tap = t_ms
            return
        self.taps += 1
        self.last_tap = t_ms
        span = (t_ms - self.first_tap) & _MS_MASK
        if span:
            self.set_tempo((600000 * (self.taps - 1) + span // 2) // span, now_ms)
