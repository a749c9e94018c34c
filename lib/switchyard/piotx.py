"""PIO MIDI transmitter with a realtime lane that jumps the FIFO.

busio.UART.write returns once bytes sit in a 32-byte FIFO that no one can jump, and
adafruit_pio_uart's write spins until its FIFO drains. Here normal bytes go in by DMA
(background_write, returns at once) in batches of any size, while a realtime byte
(clock, start, stop...) is handed to the state machine through its Y register: the CPU
executes `set y, code` on the state machine (StateMachine.run), and the program checks Y
before every byte, so the realtime byte goes out as soon as the byte on the wire ends,
ahead of everything queued. A realtime byte therefore waits at most one byte time plus
5 PIO cycles (340 us), however deep the queue.

Realtime bytes are F8 FA FB FC FE FF: five high bits and three low bits. Y holds the
low three bits plus 8, so it is never 0 (0 = no request). As it sends a realtime byte
the program clears Y and pushes its value into the RX FIFO: the CPU reads it back to know
the Y slot is free again. Normal bytes push nothing.

A hold (Y = HOLD, 1) keeps the line idle: no byte starts, queued bytes wait in the FIFO.
CLK (switchyard.clockgen) holds the outputs its next clock goes to a little more than a
byte time before the clock is due, so the wire is free when the clock comes and it leaves
at once rather than up to 320 us late behind a byte; the clock's `set y, code` ends the
hold (`set y, 0` ends one without a byte). Y is read once a decision (into X), so a hold
set or ended while the program decides is seen whole at the next one, never half.

    .program switchyard_midi_tx
    .side_set 1 opt
    wait_loop:
        mov x, y               side 1       ; one look at Y: a realtime request, a hold or 0
        jmp !x check_fifo      side 1
        jmp x-- rt_or_hold     side 1       ; X = Y - 1: 0 for a hold (Y = 1)
    rt_or_hold:
        jmp !x wait_loop       side 1       ; held: no byte starts, the line stays idle
        set x, 2               side 1 [1]
        mov osr, y             side 0 [7]   ; start bit
    rt_bits:
        out pins, 1                         ; bits 0..2 from Y
        jmp x-- rt_bits [6]
        mov isr, y             side 1 [7]   ; bits 3..7 are 1
        set y, 0               side 1 [7]
        push noblock           side 1 [7]   ; Y is free again: tell the CPU
        nop                    side 1 [7]
        nop                    side 1 [7]
        jmp wait_loop          side 1 [1]   ; stop bit
    check_fifo:
        mov x, ~null                        ; all ones: what pull noblock gives when empty
        pull noblock
        mov x, ~osr                         ; 0 when the FIFO was empty
        jmp !x wait_loop
        set x, 7               side 0 [7]   ; start bit
    bitloop:
        out pins, 1                         ; 8 data bits, LSB first
        jmp x-- bitloop [6]
        jmp wait_loop          side 1 [1]   ; stop bit

Every byte, normal or realtime, is 80 cycles (10 bits at 8 cycles a bit) start to start
when they follow each other. An empty FIFO is seen without `mov x, status` (whose
configuration older CircuitPython releases accept but do not apply): `pull noblock` hands
over X, all ones, which no queued byte can be (8-bit DMA writes repeat the byte in every
lane, and 0xFF is realtime, sent through Y). Run it at 250 kHz with init = INIT (Y = 0).
tests/test_piotx.py assembles the source above with adafruit_pioasm, compares, and runs
the words on a small PIO emulator.
"""

import array

from switchyard.midi import const

BAUD = const(31250)
CYCLES_PER_BIT = const(8)
FREQUENCY = const(250000)  # BAUD * CYCLES_PER_BIT
PROGRAM = array.array(
    "H",
    [
        0xB822, 0x182E, 0x1843, 0x1820, 0xF922, 0xB7E2, 0x6001, 0x0646, 0xBFC2, 0xFF40,
        0x9F00, 0xBF42, 0xBF42, 0x1900, 0xA02B, 0x8080, 0xA02F, 0x0020, 0xF727, 0x6001,
        0x0653, 0x1900,
    ],
)
SIDESET_PIN_COUNT = const(1)
INIT = array.array("H", [0xE040])  # set y, 0
SET_Y = const(0xE040)  # `set y, <5-bit value>`, executed by StateMachine.run()
_REALTIME_FLAG = const(8)
HOLD = const(1)  # Y = HOLD: the program starts no byte until Y changes
HOLD_EXEC = array.array("H", [SET_Y | HOLD])
RELEASE_EXEC = array.array("H", [SET_Y])  # `set y, 0`: the hold ends, nothing is sent


def realtime_code(byte):
    """The Y value that makes the program send realtime `byte` (F8..FF)."""
    return (byte & 7) | _REALTIME_FLAG


def realtime_exec():
    """One preallocated `set y, code` program per realtime byte, indexed by byte & 7."""
    return tuple(array.array("H", [SET_Y | realtime_code(0xF8 | k)]) for k in range(8))
