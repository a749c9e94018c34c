"""Double of `busio` (UART only), following ports/raspberrypi/common-hal/busio/UART.c,
shared-bindings/busio/UART.c and MicroPython's py/stream.c.

Construction, as on the chip:
- pins are checked free first (rx, then tx, rts, cts, rs485_dir): ValueError("GP1 in use");
- the UART instance comes from the pins: ((gpio + 4) // 8) % 2, and every pin must sit at
  its function slot (gpio % 4: 0 TX, 1 RX, 2 CTS, 3 RTS) of that instance, else
  ValueError("Invalid pins"). UART0: TX GP0/12/16/28, RX GP1/13/17 (and GPIO29);
  UART1: TX GP4/8/20/24, RX GP5/9/21/25;
- one object per instance: a second one on the same instance raises
  ValueError("UART peripheral in use") (there are only two, so a third UART always
  does); deinit() frees the pins and the instance; any use after deinit raises.

Receive: a byte the wire delivers (chip.feed) lands in the 32-byte hardware RX FIFO. The
RX interrupt (threshold 4 bytes, RXIFLSEL=0 as the Pico SDK sets it, or the receive
timeout after 32 idle bit times) copies the FIFO into the ring buffer of
receiver_buffer_size bytes. When the ring is full the bytes wait in the FIFO; when the
FIFO is full too, each new byte is lost (PL011 overrun: the newest are dropped) and
counted in chip.rx_overflow[rx pin]. in_waiting and read() also move the FIFO into the
ring, as UART.c does. read()/readinto() follow common_hal_busio_uart_read + mp_stream_rw:
what the ring holds is returned; with timeout > 0 the call then busy-waits (advancing the
virtual clock, firing events) for the rest until no byte came for `timeout` seconds
(measured on the 1024 Hz tick in whole ms); when nothing at all was read the result is
None (timeout=0 never waits). readinto() takes no length argument (ValueError, as the
real one). A byte that arrives while the UART's baudrate is off by more than 3 % from the
wire's 31250, or with another frame format than 8N1, is counted in
chip.rx_framing_errors and dropped (the real UART would deliver garbage).

Transmit: the PL011 has a 32-byte TX FIFO and a shift register: a byte written to an idle
line starts at once, bytes leave back to back (10 bits at baudrate: 320 us at 31250),
write() returns as soon as the last byte is in the FIFO and busy-waits (advancing the
clock) while the FIFO is full, so on an idle line 33 bytes return at once and every byte
past that costs one byte time. Each byte's start time goes to chip.wire_log[tx pin].
There is no out_waiting (AttributeError, as on the chip).
Left out: breaks (the scenario feeds 0x00 bytes), parity/framing error flags, RS485
direction timing, hardware flow control, I2C and SPI.
"""

from __future__ import annotations

from collections import deque

from sim.chip import WIRE_BYTE_US, Chip, Pin, current
from sim.doubles import DEINITED, check_pin

HW_FIFO = 32
RX_IRQ_LEVEL = 4
WIRE_BAUD = 31250


class _ParityValue:
    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return "busio.UART.Parity." + self._name


class _Parity:
    ODD = _ParityValue("ODD")
    EVEN = _ParityValue("EVEN")


def _validate_range(value: int, low: int, high: int, name: str) -> int:
    if not low <= value <= high:
        raise ValueError(f"{name} must be {low}-{high}")
    return value


class UART:
    """busio.UART on the RP2040/RP2350 PL011 (see the module docstring)."""

    Parity = _Parity

    def __init__(
        self,
        tx: Pin | None = None,
        rx: Pin | None = None,
        *,
        rts: Pin | None = None,
        cts: Pin | None = None,
        rs485_dir: Pin | None = None,
        rs485_invert: bool = False,
        baudrate: int = 9600,
        bits: int = 8,
        parity: object = None,
        stop: int = 1,
        timeout: float = 1,
        receiver_buffer_size: int = 64,
    ) -> None:
        chip = current()
        self._chip: Chip = chip
        self._tx: Pin | None = None
        self._rx: Pin | None = None
        # shared-bindings: pins are checked free in this order
        named = ((rx, "rx"), (tx, "tx"), (rts, "rts"), (cts, "cts"), (rs485_dir, "rs485_dir"))
        for obj, name in named:
            if obj is not None:
                check_pin(obj, name)
                if not chip.is_free(obj):
                    raise ValueError(f"{obj._name} in use")
        if tx is None and rx is None:
            raise ValueError("tx and rx cannot both be None")
        given = [p for p in (tx, rx, rts, cts, rs485_dir) if p is not None]
        if len({p._number for p in given}) != len(given):
            raise ValueError("Invalid pins")
        bits = _validate_range(int(bits), 5, 9, "bits")
        receiver_buffer_size = _validate_range(
            int(receiver_buffer_size), 1, 0xFFFF, "receiver_buffer_size"
        )
        if parity is not _Parity.ODD and parity is not _Parity.EVEN:
            parity = None
        stop = _validate_range(int(stop), 1, 2, "stop")
        timeout = float(timeout)
        _validate_range(int(timeout), 0, 100, "timeout")
        # common-hal
        if bits > 8:
            raise ValueError("bits must be <= 8")
        if int(baudrate) < 1:
            raise ValueError("baudrate must be >= 1")
        uart_id = (((tx if tx is not None else rx)._number + 4) // 8) % 2  # type: ignore[union-attr]
        for pin, slot in ((tx, 0), (rx, 1), (cts, 2), (rts, 3)):
            if pin is not None and not (
                pin._number % 4 == slot and ((pin._number + 4) // 8) % 2 == uart_id
            ):
                raise ValueError("Invalid pins")
        if chip._uarts[uart_id] is not None:
            raise ValueError("UART peripheral in use")
        for pin in given:
            chip.claim(pin, f"busio.UART{uart_id}")
        chip._uarts[uart_id] = self
        self._uart_id = uart_id
        self._tx = tx
        self._rx = rx
        self._extra_pins = [p for p in (rts, cts, rs485_dir) if p is not None]
        self._bits = bits
        self._parity = parity
        self._stop = stop
        self._baudrate = int(baudrate)
        self._timeout_ms = int(timeout * 1000)
        self._gen = 0
        # transmitter
        self._tx_fifo: deque[int] = deque()
        self._tx_busy = False
        # receiver
        self._ring: deque[int] = deque()
        self._ring_size = receiver_buffer_size
        self._rx_fifo: deque[int] = deque()
        self._irq_masked = False
        self._last_rx_us = 0
        self._rt_pending = False
        if rx is not None:
            chip._rx_listeners[rx._number] = self._rx_byte

    # --- lifetime -----------------------------------------------------------------------
    def deinited(self) -> bool:
        return self._tx is None and self._rx is None

    def _check(self) -> Chip:
        if self._tx is None and self._rx is None:
            raise ValueError(DEINITED)
        return self._chip

    def deinit(self) -> None:
        if self.deinited():
            return
        chip = self._chip
        self._gen += 1
        if self._rx is not None and chip._rx_listeners.get(self._rx._number) == self._rx_byte:
            del chip._rx_listeners[self._rx._number]
        for pin in [self._tx, self._rx, *self._extra_pins]:
            if pin is not None:
                chip.release(pin)
        chip._uarts[self._uart_id] = None
        self._tx = None
        self._rx = None
        self._tx_fifo.clear()
        self._ring.clear()
        self._rx_fifo.clear()

    def __enter__(self) -> UART:
        return self

    def __exit__(self, *exc: object) -> None:
        self.deinit()

    # --- properties ---------------------------------------------------------------------
    @property
    def baudrate(self) -> int:
        self._check()
        return self._baudrate

    @baudrate.setter
    def baudrate(self, value: int) -> None:
        self._check()
        self._baudrate = int(value)

    @property
    def timeout(self) -> float:
        self._check()
        return self._timeout_ms / 1000.0

    @timeout.setter
    def timeout(self, value: float) -> None:
        self._check()
        _validate_range(int(float(value)), 0, 100, "timeout")
        self._timeout_ms = int(float(value) * 1000)

    @property
    def in_waiting(self) -> int:
        self._chip.work("poll")  # first: the clock moves to when the CPU looks
        self._check()
        self._copy_into_ring()
        return len(self._ring)

    def reset_input_buffer(self) -> None:
        self._check()
        self._ring.clear()
        self._rx_fifo.clear()

    # --- receive ------------------------------------------------------------------------
    def _frame_bits(self) -> int:
        return 1 + self._bits + (1 if self._parity is not None else 0) + self._stop

    def _rx_matches_wire(self) -> bool:
        return (
            abs(self._baudrate - WIRE_BAUD) * 100 <= 3 * WIRE_BAUD
            and self._bits == 8
            and self._parity is None
        )

    def _rx_byte(self, byte: int) -> None:
        chip = self._chip
        assert self._rx is not None
        if not self._rx_matches_wire():
            chip.rx_framing_errors[self._rx._number] += 1
            return
        if len(self._rx_fifo) >= HW_FIFO:
            chip.rx_overflow[self._rx._number] += 1
            return
        self._rx_fifo.append(byte)
        self._last_rx_us = chip.clock.now_us
        if len(self._rx_fifo) >= RX_IRQ_LEVEL:
            self._interrupt()
        if not self._rt_pending:
            self._rt_pending = True
            chip.clock.schedule(self._last_rx_us + self._rt_us(), self._rx_timeout(self._gen))

    def _rt_us(self) -> int:
        return -(-32 * 1_000_000 // self._baudrate)

    def _rx_timeout(self, gen: int):  # noqa: ANN202
        def fire() -> None:
            if gen != self._gen:
                return
            self._rt_pending = False
            if not self._rx_fifo:
                return
            due = self._last_rx_us + self._rt_us()
            if self._chip.clock.now_us >= due:
                self._interrupt()
            else:
                self._rt_pending = True
                self._chip.clock.schedule(due, self._rx_timeout(gen))

        return fire

    def _interrupt(self) -> None:
        if not self._irq_masked:
            self._chip.run_irq(self._irq_handler)

    def _irq_handler(self) -> None:
        if not self._irq_masked and not self.deinited():
            self._copy_into_ring()

    def _copy_into_ring(self) -> None:
        ring, fifo = self._ring, self._rx_fifo
        while fifo and len(ring) < self._ring_size:
            ring.append(fifo.popleft())

    def _read_once(self, size: int) -> bytes | None:
        """common_hal_busio_uart_read(): None stands for EAGAIN."""
        chip = self._check()
        if self._rx is None:
            raise ValueError("No rx pin")
        if size == 0:
            return b""
        self._irq_masked = True
        try:
            out = bytearray()
            ring = self._ring
            while ring and len(out) < size:
                out.append(ring.popleft())
            need = size - len(out)
            if need > 0 and self._timeout_ms > 0:
                start_ms = chip.ticks_ms64()
                while need > 0 and chip.ticks_ms64() - start_ms < self._timeout_ms:
                    if self._rx_fifo:
                        out.append(self._rx_fifo.popleft())
                        need -= 1
                        start_ms = chip.ticks_ms64()
                        continue
                    deadline = chip.ms64_time_us(start_ms + self._timeout_ms)
                    nxt = chip.clock.next_event_us()
                    chip.clock.advance_to(deadline if nxt is None else min(nxt, deadline))
            self._copy_into_ring()
        finally:
            self._irq_masked = False
        return bytes(out) if out else None

    def read(self, nbytes: int | None = None) -> bytes | None:
        """mp_stream read: nbytes at most, None if nothing was read."""
        self._check()
        if nbytes is None or nbytes == -1:
            total = bytearray()
            while True:
                chunk = self._read_once(256)
                if chunk is None:
                    return bytes(total) if total else None
                total.extend(chunk)
        out = bytearray()
        while len(out) < nbytes:
            chunk = self._read_once(nbytes - len(out))
            if chunk is None:
                break
            out.extend(chunk)
        return bytes(out) if out else None

    def readinto(self, buf: bytearray | memoryview, nbytes: int | None = None) -> int | None:
        """Read at most len(buf) (or nbytes) bytes into buf; None if nothing was read.

        The stream readinto of CircuitPython 9.2.9 and 10.2.1 takes the optional length
        (busio.UART's pyserial_readinto_compatibility flag is declared but not enforced)."""
        self._check()
        view = memoryview(buf).cast("B")
        if nbytes is not None:
            view = view[: max(0, min(int(nbytes), len(view)))]
        done = 0
        while done < len(view):
            chunk = self._read_once(len(view) - done)
            if chunk is None:
                break
            view[done : done + len(chunk)] = chunk
            done += len(chunk)
        if done:
            self._chip.work("read", bytes(view[:done]), self)
        return done if done else None

    def readline(self) -> bytes | None:
        self._check()
        line = bytearray()
        while True:
            chunk = self._read_once(1)
            if chunk is None:
                return bytes(line) if line else None
            line.extend(chunk)
            if chunk == b"\n":
                return bytes(line)

    # --- transmit -----------------------------------------------------------------------
    def write(self, buf: object, *args: int) -> int:
        """Queue bytes in the 32-byte TX FIFO; busy-waits while it is full."""
        chip = self._check()
        if isinstance(buf, str):  # a str is a buffer on CircuitPython: its UTF-8 bytes go
            buf = buf.encode()
        data = bytes(memoryview(buf).cast("B"))  # type: ignore[arg-type]
        if len(args) == 1:
            data = data[: args[0]]
        elif len(args) == 2:
            data = data[args[0] : args[0] + args[1]]
        if self._tx is None:
            raise ValueError("No tx pin")
        chip.work("write", data, self)
        for byte in data:
            while len(self._tx_fifo) >= HW_FIFO:
                chip.wait_for_event("busio.UART.write")
            self._tx_fifo.append(byte)
            if not self._tx_busy:
                self._start_byte()
        return len(data)

    def _byte_us(self) -> int:
        bits = self._frame_bits()
        if bits == 10 and self._baudrate == WIRE_BAUD:
            return WIRE_BYTE_US
        return round(bits * 1_000_000 / self._baudrate)

    def _start_byte(self) -> None:
        chip = self._chip
        byte = self._tx_fifo.popleft()
        self._tx_busy = True
        assert self._tx is not None
        chip.wire_log[self._tx._number].append((chip.clock.now_us, byte))
        chip.clock.schedule(chip.clock.now_us + self._byte_us(), self._byte_done(self._gen))

    def _byte_done(self, gen: int):  # noqa: ANN202
        def done() -> None:
            if gen != self._gen:
                return
            self._tx_busy = False
            if self._tx_fifo:
                self._start_byte()

        return done
