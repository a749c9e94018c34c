"""UART, PIO and USB MIDI behind one small interface.

Inputs:  readinto(buf) -> number of bytes (0 when none); never blocks.
DIN out: room() -> bytes the port takes now without blocking or queueing deep in hardware;
         `buf` is a staging bytearray the pacer fills; send(n) hands over its first n bytes.
USB out: write(view, n) -> bytes the host took (0..n); never blocks.

The engine never imports busio, rp2pio or usb_midi: app.py builds these wrappers around
the real objects (or the simulator's doubles), so the engine also runs under MicroPython.
"""

from switchyard.midi import const

_PIO_BATCH = const(16)  # must match merge._PIO_BATCH
_UART_DEPTH_MB = const(4000)  # busio.UART estimate: 4 bytes (milli-bytes), see UartOut
_MB_PER_MS = const(3125)  # 31250 baud, 10 bits a byte: 3.125 bytes per ms
_TICKS_MASK = const(0x1FFFFFFF)  # supervisor.ticks_ms wraps at 2**29


class UartIn:
    """busio.UART receive side.

    A byte that arrived since the last interrupt sits in the UART's hardware FIFO, which
    readinto() only copies to the ring buffer *after* reading the ring (UART.c), so with
    timeout=0 it would come one pass late. in_waiting copies the FIFO first, and is a
    cheaper call than readinto when nothing came.
    """

    def __init__(self, uart):
        self.uart = uart

    def readinto(self, buf):
        uart = self.uart
        if not uart.in_waiting:
            return 0
        n = uart.readinto(buf)
        return n if n else 0


class UsbIn:
    """usb_midi.ports[0]: the computer's MIDI, as a byte stream."""

    def __init__(self, port_in):
        self.port_in = port_in

    def readinto(self, buf):
        n = self.port_in.readinto(buf)
        return n if n else 0


class PioOut:
    """A DIN output on the switchyard.piotx program: realtime bytes jump the queue.

    Holds the state machine and what is made once for it: two DMA batch buffers (one is
    filled while DMA reads the other), a view of each for every batch length, the RX
    words the program pushes back, and one `set y` program per realtime byte.
    merge.PioOutput does the per-pass work on these fields directly.
    """

    def __init__(self, state_machine):
        from switchyard import piotx

        self.sm = state_machine
        self.acks = bytearray(4)
        # 3 bytes of slack: the pacer stores whole 4-byte ring words (merge.py)
        self.buf = bytearray(_PIO_BATCH + 3)
        self.views = tuple(memoryview(self.buf)[:k] for k in range(_PIO_BATCH + 1))
        self.buf2 = bytearray(_PIO_BATCH + 3)
        self.views2 = tuple(memoryview(self.buf2)[:k] for k in range(_PIO_BATCH + 1))
        self.rt_exec = piotx.realtime_exec()
        self.hold_exec = piotx.HOLD_EXEC  # CLK's clear wire (merge.PioOutput.hold)
        self.release_exec = piotx.RELEASE_EXEC


class UartOut:
    """A DIN output on busio.UART TX, paced by supervisor.ticks_ms.

    busio.UART.write returns once the bytes are in the 32-byte FIFO and cannot tell how
    many are still queued, and the only allocation-free clock is ticks_ms (1 ms = 3.125
    bytes). The estimate of the FIFO level is therefore off by up to about 3 bytes, so a
    realtime byte may wait up to ~7 byte times (2.2 ms): PioOut is the default driver.
    """

    def __init__(self, uart, ticks_ms):
        self.uart = uart
        self.ticks_ms = ticks_ms
        self.level = 0  # estimated FIFO level, in milli-bytes
        self.last = ticks_ms()
        self.buf = bytearray(4)
        self.views = tuple(memoryview(self.buf)[:k] for k in range(5))

    def room(self):
        now = self.ticks_ms()
        elapsed = (now - self.last) & _TICKS_MASK
        if elapsed:
            self.last = now
            if elapsed > 100:
                self.level = 0
            else:
                self.level -= elapsed * _MB_PER_MS
                if self.level < 0:
                    self.level = 0
        return (_UART_DEPTH_MB - self.level) // 1000

    def send(self, n):
        self.uart.write(self.views[n])
        self.level += n * 1000


class UsbOut:
    """usb_midi.ports[1]: whole messages; a slow or absent host never blocks the loop."""

    def __init__(self, port_out):
        self.port_out = port_out

    def write(self, view, n):
        wrote = self.port_out.write(view)
        return wrote if wrote else 0
