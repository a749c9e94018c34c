"""CLK, the box's own MIDI clock: 24 clocks a quarter note at the preset file's tempo (or
the last tapped one), Start and Stop from the front panel (issue 22; docs/PRESETS.md).

Its bytes take the path of an input's realtime byte: ClockGen calls Router.realtime with
the source CLK, so the presets' CLK routes, clock divide, bar switching, the CLK LED and
the outputs' realtime lanes treat them as they treat the Digitakt's.

Timing. The loop looks at the generator right after its ticks read each pass, and after
each output write (a pass that writes to several outputs is long: the clock must not wait
for the rest of them). The k-th clock after the origin is due at origin + k * 60 /
(bpm * 24) s, worked out from k every time (whole microseconds plus k * remainder //
tempo), never by adding intervals, so no rounding error adds up: every bpm10 clocks (25 s
at any tempo) the origin moves on by exactly 25 s.

The wire kept free. A clock due while a byte is on an output's wire would wait up to
320 us for it. So a byte time and one and a half passes before a clock is due, the
generator holds the PIO outputs it goes to (Router.clock_hold, switchyard.piotx's hold:
no new byte starts, the one on the wire ends); the clock ends the hold where it goes, and
release() ends it where it did not (a divided route skipped it, a SysEx held it back).
A stop or a new tempo releases at once. The hold starts at most _MAX_LEAD_US ahead, and
a clock due within _EARLY_US goes at once (the next look would be later than that).
While the outputs are held the loop reads no input either (App._pause_inputs): a
message's parse and routing is one call of ~0.2 ms on the Pico, which the clock would wait
for; the bytes wait in the UART's ring (or with the USB host) until the clock has gone.
The price: a note on an output CLK goes to may wait for the hold and the clock (studio
with CLK: latency p99 1.8 ms, against 1.35 ms without the hold).

The time source: switchyard.usclock, a PIO state machine counting microseconds, read by
two C calls into a preallocated array (no allocation, 1 us steps, in every CircuitPython
release). The fine time is modulo 2**24 us (16.7 s); no interval here comes near half of
it. Without a free state machine it is time.monotonic_ns(), which is worse on each count:
a long integer made at every read after 1.07 s of uptime (CircuitPython's small integers
hold 31 bits), 30.5 us steps in CircuitPython 10, a lag of up to 0.45 ms once a second in
9.1 and 9.2 (subticks from us % 977), 976.6 us steps in 9.0. supervisor.ticks_ms() moves
in ~1 ms steps: the generator reads the fine time only once ticks_ms says the next clock
is less than _GATE_MS away, and every other look costs one ticks comparison. Also looked
at: memorymap.AddressRange over the timer's TIMERAWL reads IO registers only as aligned
4-byte slices, and a slice read makes a new bytearray (ports/raspberrypi/common-hal/
memorymap: a single index is a 1-byte read, refused for IO).
"""

from switchyard.midi import const

try:
    from time import monotonic_ns
except ImportError:  # a MicroPython without it: the caller passes its own now_us
    monotonic_ns = None  # type: ignore[assignment]

_US_MASK = const(0xFFFFFF)  # fine time: us modulo 2**24 (16.7 s; switchyard.usclock)
_US_HALF = const(0x800000)
_MS_MASK = const(0x1FFFFFFF)  # supervisor.ticks_ms wraps at 2**29
_MS_HALF = const(0x10000000)
# 60 s / 24 clocks a beat in us, times 10 (tempo in tenths): bpm10 clocks take 25 s exactly
_US_PER_CLOCK_TENTHS = const(25000000)
_GATE_MS = const(3)
# Hold the outputs (piotx's hold) when the clock is due within a byte and one and a half
# gaps between looks: the byte on the wire (320 us, plus the program's 6 cycles) ends
# before the clock, and the look that holds, longer by its holds, is not the one that
# sends it. Never more than _MAX_LEAD_US ahead: a held wire carries nothing.
_WIRE_US = const(350)
_MAX_LEAD_US = const(450)
_MAX_GAP_US = const(1500)  # a longer gap between two reads is not the loop's
# A clock due within this is sent now: the next look is further off (a look that reads
# takes ~60 us at 200 MHz), so now is nearer its time.
_EARLY_US = const(30)
# A read finding the clock further off than this shuts the gate until about this long
# before it: a read costs ~46 us at 200 MHz, and every look with the gate open reads.
_REGATE_US = const(2500)
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
    """us since power-up modulo 2**24, from time.monotonic_ns(): the time source when no
    state machine is left for switchyard.usclock (see the module's notes)."""
    return (monotonic_ns() // 1000) & _US_MASK


class ClockGen:
    """The clock of the box's own: poll() once a pass; start_stop() and tap() from the
    panel; bpm10 is the tempo in tenths of a BPM."""

    def __init__(self, realtime, source, bpm10, when_stopped, now_us, now_ms,
                 hold=None, release=None, pause=None, resume=None):
        self.realtime = realtime  # Router.realtime
        self.source = source  # router.CLK
        # Router.clock_hold / clock_release: the wire kept free for the next clock
        self.hold = hold
        self.release = release
        self.held = -1  # the mask of outputs held for the next clock; -1: none
        # App._pause_inputs / _resume_inputs: the inputs left alone while the outputs are
        # held, so no message's parse stands between the clock and its look
        self.pause = pause
        self.resume = resume
        self.paused = False
        self.read_at = 0  # fine time of the last read
        self.lead = _MAX_LEAD_US  # hold this long (us) before a clock is due
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
        # The fine time is first read at the first look (the clocks count from there), not
        # here: building the box reads no clock.
        self.anchored = False
        self.origin = 0
        self.k = 0
        self.due = 0  # fine time of the next clock
        self.last = 0  # fine time the last clock was due
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
            self.unhold()
        if not self.ticking and not self.start_pending:
            self.gate_ms = (now_ms + _FAR_MS) & _MS_MASK
            return
        now = self.now_us()
        if not self.anchored:  # the first look: a clock that runs from power-up starts now
            self.anchored = True
            self._anchor(now, 0)
        if not self.ticking:  # started from silence: the first clock goes after the FA
            self.ticking = True
            self._anchor((now + _START_LEAD_US) & _US_MASK, 0)
        due = self.due
        if self.start_pending and ((now + _START_LEAD_US - due) & _US_MASK) < _US_HALF:
            self.start_pending = False
            self.running = True
            self.realtime(self.source, _START)
        ahead = (due - now) & _US_MASK
        gap = (now - self.read_at) & _US_MASK
        self.read_at = now
        # not yet: look again at the next look
        if ahead < _US_HALF and ahead > _EARLY_US:
            if gap < _MAX_GAP_US:
                lead = _WIRE_US + gap + (gap >> 1)
                self.lead = lead if lead < _MAX_LEAD_US else _MAX_LEAD_US
            if ahead <= self.lead:  # the wire held and the inputs left, once a clock
                if self.held < 0 and self.hold is not None:
                    self.held = self.hold(self.source)
                if not self.paused and self.pause is not None:
                    self.paused = True
                    self.pause()
            elif ahead > _REGATE_US:  # far yet: read again ~2.5 ms before it, not every look
                self.gate_ms = (now_ms + (ahead - _REGATE_US) // 1000) & _MS_MASK
            return
        self.realtime(self.source, _CLOCK)
        self.unhold()  # where the clock did not go, and the inputs
        self.sent = (self.sent + 1) & 0x3FFFFFFF
        self.last = due
        self._advance()
        ahead = (self.due - now) & _US_MASK
        if ahead >= _US_HALF:
            self.gate_ms = now_ms  # late: the next one is due already
        else:
            self.gate_ms = (now_ms + ahead // 1000 - _GATE_MS) & _MS_MASK

    def unhold(self):
        """The next clock moved or will not come: the held outputs start bytes again, the
        inputs are read again."""
        if self.held >= 0:
            self.release(self.held)
            self.held = -1
        if self.paused:
            self.paused = False
            self.resume()

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
        self.unhold()
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
