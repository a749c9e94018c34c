"""PIO MIDI transmitter that reports every byte it has sent.

busio.UART.write returns as soon as bytes sit in a 32-byte FIFO and has no way to tell how
many are still queued, and adafruit_pio_uart's write spins until its FIFO drains. This
program sends 8N1 at 8 PIO cycles a bit and pushes one word into the RX FIFO as each byte's
stop bit begins, so the firmware knows exactly how many bytes are still in hardware and
keeps at most one queued behind the one on the wire (a clock byte waits <= 2 byte times).

    .program switchyard_uart_tx_ack
    .side_set 1 opt
        pull       side 1 [6]   ; stop bit / idle high until the next byte
        set x, 7   side 0 [7]   ; start bit
    bitloop:
        out pins, 1             ; 8 data bits, LSB first
        jmp x-- bitloop [6]
        push noblock side 1     ; stop bit begins: report one byte sent

tests/test_piotx.py assembles the source above with adafruit_pioasm and compares.
"""

import array

try:
    from micropython import const
except ImportError:  # CPython

    def const(x):  # type: ignore[no-untyped-def]
        return x


BAUD = const(31250)
CYCLES_PER_BIT = const(8)
FREQUENCY = const(250000)  # BAUD * CYCLES_PER_BIT
PROGRAM = array.array("H", [0x9EA0, 0xF727, 0x6001, 0x0642, 0x9800])
SIDESET_PIN_COUNT = const(1)
