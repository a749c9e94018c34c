"""A microsecond counter on a PIO state machine: CLK's fine time (switchyard.clockgen),
read without allocating.

time.monotonic_ns() makes a long integer on every read after 1.07 s of uptime, and in
CircuitPython 9.1-9.2 it lags up to 0.45 ms before catching up once a second;
supervisor.ticks_ms() moves in ~1 ms steps. This state machine counts X down once a
microsecond (a 4-cycle loop at 4 MHz: the divider is exact at 125 and 200 MHz, so the
count keeps the crystal's time) and pushes the low 24 bits of X after every count; while
the RX FIFO is full the pushes are dropped. A read empties the FIFO and takes the next
word, pushed within a microsecond: two C calls, a preallocated array, and a value below
2**24, a small integer. The count wraps every 16.7 s (2**24 us); clockgen's arithmetic is
modulo that, and no interval it measures comes near 8.4 s.

    .program switchyard_us_clock
    .wrap_target
        jmp x-- count          ; X counts down, one a microsecond (4 cycles at 4 MHz)
    count:
        mov isr, null
        in x, 24               ; its low 24 bits: a small integer on the CPU
        push noblock           ; dropped while the RX FIFO is full
    .wrap

Run it with in_shift_right=False (the bits go in from the right, the value as it is).
tests/test_usclock.py assembles the source above, compares, and runs the words on the
cycle emulator and on the simulator's rp2pio double.
"""

import array

from switchyard.midi import const

FREQUENCY = const(4000000)  # 4 cycles a count
MASK = const(0xFFFFFF)
PROGRAM = array.array("H", [0x0041, 0xA0C3, 0x4038, 0x8000])


class UsClock:
    """now_us(): microseconds modulo 2**24 from the state machine `sm` running PROGRAM."""

    def __init__(self, sm):
        self.sm = sm
        self.word = array.array("L", [0])

    def now_us(self):
        sm = self.sm
        sm.clear_rxfifo()
        sm.readinto(self.word)
        return -self.word[0] & MASK


def make(rp2pio):
    """The counter on a free state machine (no pins), or None when none is free."""
    try:
        sm = rp2pio.StateMachine(PROGRAM, frequency=FREQUENCY, in_shift_right=False)
    except RuntimeError:  # "All state machines in use"
        return None
    return UsClock(sm)
