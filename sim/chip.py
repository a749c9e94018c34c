"""The simulated chip: pins, wires, buttons, USB host, flash NVM, and the virtual clock.

One Chip is one powered-up Raspberry Pi Pico (RP2040) or Pico 2 (RP2350). The hardware
doubles (sim/doubles/) read the chip made current by install(chip) when an object is
created, and keep talking to that chip afterwards. The scenario side drives the chip:
feed() plays a MIDI source into an RX pin at wire rate, press() holds a button, usb.send()
is the computer sending USB MIDI, and wire_log / usb.received / pin_history record what
came out.

Time: the supervisor's tick is 1/1024 s (port_get_raw_ticks on the RP2040 port), and
supervisor.ticks_ms(), the UART read timeout and keypad scans are derived from it exactly
as supervisor/shared/tick.c does (ms = ticks * 1000 // 1024).
"""

from __future__ import annotations

from collections.abc import Callable

from sim.clock import VirtualClock

WIRE_BYTE_US = 320  # 31250 baud, 10 bits a byte (start, 8 data, stop)
TICKS_MS_OFFSET = 0x1FFF0000  # shared-bindings/supervisor/__init__.c: first wrap ~65 s after boot
TICKS_PERIOD = 1 << 29

BOARDS = {
    # board_id: (chip, PIO state machines, PIO blocks, clk_sys Hz)
    "raspberry_pi_pico": ("RP2040", 8, 2, 125_000_000),
    "raspberry_pi_pico2": ("RP2350", 12, 3, 150_000_000),
}

# board module names in the order of the board's pins.c (the first name of a GPIO is the one
# CircuitPython prints, e.g. "LED in use" for GPIO25). Same list for Pico and Pico 2.
_PICO_BOARD_PINS = (
    [(f"GP{n}", n) for n in range(23)]
    + [
        ("SMPS_MODE", 23), ("GP23", 23),
        ("VBUS_SENSE", 24), ("GP24", 24),
        ("LED", 25), ("GP25", 25),
        ("GP26_A0", 26), ("GP26", 26), ("A0", 26),
        ("GP27_A1", 27), ("GP27", 27), ("A1", 27),
        ("GP28_A2", 28), ("GP28", 28), ("A2", 28),
        ("A3", 29), ("VOLTAGE_MONITOR", 29),
    ]
)
BOARD_PINS = {"raspberry_pi_pico": _PICO_BOARD_PINS, "raspberry_pi_pico2": _PICO_BOARD_PINS}
NUM_GPIOS = 30


class SimReset(Exception):
    """microcontroller.reset() was called: the chip would reboot now."""


class SimReload(Exception):
    """supervisor.reload() was called: CircuitPython would restart code.py now."""


class Pin:
    """microcontroller.Pin: one GPIO. Created by the simulator only, as on the chip."""

    __slots__ = ("_number", "_name")

    def __init__(self) -> None:
        raise TypeError("cannot create 'Pin' instances")

    @classmethod
    def _make(cls, number: int, name: str) -> Pin:
        pin = object.__new__(cls)
        pin._number = number
        pin._name = name
        return pin

    def __repr__(self) -> str:
        return "board." + self._name

    def __hash__(self) -> int:
        return self._number


def _first_names(pins: list[tuple[str, int]]) -> dict[int, str]:
    names: dict[int, str] = {}
    for name, number in pins:
        names.setdefault(number, name)
    return names


_FIRST_NAME = _first_names(_PICO_BOARD_PINS)
PINS = tuple(Pin._make(n, _FIRST_NAME.get(n, f"GP{n}")) for n in range(NUM_GPIOS))


def canonical(number: int) -> str:
    """The key used in wire_log, pin_history, rx_overflow: "GP<n>"."""
    return f"GP{number}"


class PinDict(dict):
    """A dict keyed by canonical "GPn" names that also accepts board aliases and Pins.

    chip.wire_log["GP0"], chip.wire_log["LED"] (= "GP25") and chip.wire_log[board.GP0]
    are the same entry; a missing entry reads as an empty default.
    """

    def __init__(self, chip: Chip, default: Callable[[], object]) -> None:
        super().__init__()
        self._chip = chip
        self._default = default

    def _key(self, key: object) -> str:
        return canonical(self._chip.pin_number(key))  # type: ignore[arg-type]

    def __getitem__(self, key: object) -> object:
        k = self._key(key)
        if not dict.__contains__(self, k):
            dict.__setitem__(self, k, self._default())
        return dict.__getitem__(self, k)

    def __setitem__(self, key: object, value: object) -> None:
        dict.__setitem__(self, self._key(key), value)

    def __contains__(self, key: object) -> bool:
        try:
            return dict.__contains__(self, self._key(key))
        except (KeyError, ValueError, TypeError):
            return False

    def get(self, key: object, default: object = None) -> object:
        return dict.__getitem__(self, self._key(key)) if key in self else default


class CdcHost:
    """The computer on the board's second USB serial channel (usb_cdc.data), plus
    TinyUSB's CDC TX buffers on the chip side.

    - data_enabled: boot.py called usb_cdc.enable(data=True) (CircuitPython's default is
      the console alone); console_enabled likewise.
    - is_open: a program on the host has the port open (asserts DTR): what
      usb_cdc.Serial.connected reads. open_at(t_us) / close_at(t_us) schedule it.
    - host_bytes_per_ms: None = a fast host that empties the device's buffers between two
      writes; a number = the host reads at most that many bytes per 1 ms frame.
      One write queues at most TX_CAPACITY bytes: a 256-byte TX FIFO plus the 64-byte
      endpoint buffer (CircuitPython's CFG_TUD_CDC_TX_BUFSIZE may be larger; smaller is
      the harder case for the monitor); past that the write is short.
    - received: (t_us, bytes) of each write, the bytes the FIFO accepted, at the time of
      the write (with a slow host they reach the computer later).
    Closing drops what the host has not read yet (the device's buffers are flushed).
    """

    TX_CAPACITY = 256 + 64

    def __init__(self, chip: Chip) -> None:
        self._chip = chip
        self.data_enabled = False
        self.console_enabled = True
        self.is_open = False
        self.host_bytes_per_ms: int | None = None
        self.received: list[tuple[int, bytes]] = []
        self.tx_queued = 0
        self._drain_ms = 0
        self._credit = 0

    def open_at(self, t_us: int) -> None:
        self._chip.clock.schedule(t_us, lambda: self._set_open(True))

    def close_at(self, t_us: int) -> None:
        self._chip.clock.schedule(t_us, lambda: self._set_open(False))

    def _set_open(self, value: bool) -> None:
        if not value:
            self.tx_queued = 0
        else:
            self._drain_ms = self._chip.clock.now_us // 1000
            self._credit = 0
        self.is_open = value

    def drain(self) -> None:
        """Let the host read what the device queued, up to now."""
        now_ms = self._chip.clock.now_us // 1000
        frames = now_ms - self._drain_ms
        self._drain_ms = now_ms
        rate = self.host_bytes_per_ms
        if rate is None or not self.is_open:
            self.tx_queued = 0
            return
        if frames <= 0 or self.tx_queued == 0:
            return
        self._credit = min(self._credit + frames * rate, self.TX_CAPACITY + rate)
        take = min(self.tx_queued, self._credit)
        self.tx_queued -= take
        self._credit = 0 if self.tx_queued == 0 else self._credit - take

    def write(self, data: bytes) -> int:
        """What one non-blocking write queues (write_timeout = 0)."""
        if not self.is_open:
            return 0  # nobody reads: the firmware sees `connected` False first
        self.drain()
        n = min(len(data), self.TX_CAPACITY - self.tx_queued)
        if n > 0:
            self.tx_queued += n
            self.received.append((self._chip.clock.now_us, bytes(data[:n])))
            return n
        return 0

    def stream(self) -> bytes:
        """Everything the host got, in order."""
        return b"".join(data for _, data in self.received)


class UsbHost:
    """The computer on the USB port, plus TinyUSB's MIDI device buffers on the chip side.

    - connected: the board is enumerated by a host (default True). Setting it False resets
      TinyUSB's MIDI state (midid_reset): PortOut.write returns 0, queued packets are lost.
    - host_bytes_per_ms: None = a fast host that empties the device's MIDI IN endpoint
      between two writes. A number = the host takes at most that many bytes of USB-MIDI
      event packets (4 bytes each, whatever the MIDI message length) per 1 ms frame.
      Either way one PortOut.write can queue at most 192 bytes of packets: TinyUSB's
      128-byte TX FIFO (CFG_TUD_MIDI_TX_BUFSIZE, set in CircuitPython's supervisor.mk)
      plus the 64-byte endpoint buffer write_flush() fills; past that the write is short.
    - received: (t_us, byte) of every MIDI byte PortOut.write accepted, at the time of the
      write (with a slow host the packet reaches the computer later).
    - packets: (t_us, 4-byte USB-MIDI event packet) as TinyUSB built them, the bytes the
      host really gets (see usb_midi's docstring for how TinyUSB packs a byte stream).
    - send(t_us, data): the computer sends MIDI bytes, readable by usb_midi.ports[0] from
      t_us on (USB is fast: no wire-rate serialisation; the host is flow controlled by NAK,
      so nothing is lost).
    """

    TX_CAPACITY = 128 + 64

    def __init__(self, chip: Chip) -> None:
        self._chip = chip
        self._connected = True
        self.host_bytes_per_ms: int | None = None
        self.serial_connected = False
        self.midi_enabled = True
        self.names: dict[str, str] = {}
        self.received: list[tuple[int, int]] = []
        self.packets: list[tuple[int, bytes]] = []
        self.rx: bytearray = bytearray()  # host -> device bytes that have arrived
        self.tx_queued = 0  # bytes of packets in TinyUSB's FIFO and endpoint buffer
        self.stream = [0, 0, 0, 0]  # TinyUSB midid_stream_t: buffer[4], index, total
        self.stream_index = 0
        self.stream_total = 0
        self._drain_ms = 0
        self._credit = 0

    @property
    def connected(self) -> bool:
        return self._connected

    @connected.setter
    def connected(self, value: bool) -> None:
        if not value:
            self.tx_queued = 0
            self.stream = [0, 0, 0, 0]
            self.stream_index = self.stream_total = 0
            self.rx = bytearray()
        self._connected = bool(value)

    def send(self, t_us: int, data: bytes) -> None:
        """The host sends data; readable by the device from t_us on."""
        payload = bytes(data)

        def arrive() -> None:
            if self._connected:
                self.rx.extend(payload)

        self._chip.clock.schedule(t_us, arrive)

    def drain(self) -> None:
        """Let the host take packets out of the device's buffers up to now."""
        now_ms = self._chip.clock.now_us // 1000
        frames = now_ms - self._drain_ms
        self._drain_ms = now_ms
        rate = self.host_bytes_per_ms
        if rate is None:
            self.tx_queued = 0
            return
        if frames <= 0 or self.tx_queued == 0:
            return
        self._credit = min(self._credit + frames * rate, self.TX_CAPACITY + rate)
        take = min(self.tx_queued, (self._credit // 4) * 4)
        self.tx_queued -= take
        self._credit = 0 if self.tx_queued == 0 else self._credit - take


class Chip:
    """One simulated board. See the module docstring."""

    def __init__(self, board_id: str = "raspberry_pi_pico", clock: VirtualClock | None = None):
        if board_id not in BOARDS:
            raise ValueError(
                f"unknown board_id {board_id!r}; the simulator knows " + ", ".join(BOARDS)
            )
        self.board_id = board_id
        self.chip_name, self.pio_state_machines, self.pio_blocks, self.clk_sys_hz = BOARDS[
            board_id
        ]
        self.clock = clock if clock is not None else VirtualClock()
        self.board_pins = BOARD_PINS[board_id]
        self._names = {name: number for name, number in self.board_pins}
        self.nvm = bytearray(b"\xff" * 4096)  # erased flash reads 0xFF
        self.nvm_writes = 0
        self.wire_log: PinDict = PinDict(self, list)
        self.rx_overflow: PinDict = PinDict(self, int)
        self.rx_framing_errors: PinDict = PinDict(self, int)
        self.tx_framing_errors: PinDict = PinDict(self, int)
        self.pin_history: PinDict = PinDict(self, list)
        self.usb = UsbHost(self)
        self.cdc = CdcHost(self)
        self.boot_phase = False  # True while boot.py runs: USB devices may be changed
        self.firmware_can_write_storage = False
        self.next_run_mode: object = None
        self.heap_lock_depth = 0
        self.heap_lock_count = 0
        self.printed: list[str] = []
        self._cache: dict[str, object] = {}  # per-chip singletons of the doubles
        # hardware state shared by the doubles
        self._claims: dict[int, str] = {}
        self._uarts: list[object] = [None, None]
        self._pio: list[dict] = [
            {"sms": [None] * 4, "programs": {}} for _ in range(self.pio_blocks)
        ]
        self._rx_listeners: dict[int, Callable[[int], None]] = {}
        self._rx_line_free: dict[int, int] = {}
        self._drive: dict[int, bool] = {}  # level forced by something outside (a button)
        self._pull: dict[int, str | None] = {}
        self._output: dict[int, bool] = {}
        self._irq_off = 0
        self._irq_deferred: list[Callable[[], None]] = []
        # Set by the scenario runner during a pass: see work().
        self.meter: Callable[[str, bytes, object], None] | None = None

    # --- pins -------------------------------------------------------------------------
    def pin(self, name: str) -> Pin:
        """The board.<name> Pin (GP0..GP28, LED, VBUS_SENSE, SMPS_MODE, A0..A3, ...)."""
        if name not in self._names:
            raise AttributeError(f"board {self.board_id} has no pin {name!r}")
        return PINS[self._names[name]]

    def pin_names(self) -> list[str]:
        return [name for name, _ in self.board_pins]

    def pin_number(self, key: str | Pin | int) -> int:
        if isinstance(key, Pin):
            return key._number
        if isinstance(key, int):
            if 0 <= key < NUM_GPIOS:
                return key
            raise KeyError(key)
        if key in self._names:
            return self._names[key]
        if isinstance(key, str) and key.startswith("GPIO") and key[4:].isdigit():
            return self.pin_number(int(key[4:]))
        if isinstance(key, str) and key.startswith("GP") and key[2:].isdigit():
            return self.pin_number(int(key[2:]))
        raise KeyError(f"no pin {key!r} on {self.board_id}")

    def claim(self, pin: Pin, owner: str) -> None:
        """Claim a free pin or raise ValueError("<name> in use") as assert_pin_free does."""
        if pin._number in self._claims:
            raise ValueError(f"{pin._name} in use")
        self._claims[pin._number] = owner

    def release(self, pin: Pin) -> None:
        self._claims.pop(pin._number, None)
        self._pull.pop(pin._number, None)
        if pin._number in self._output:
            del self._output[pin._number]

    def is_free(self, pin: Pin) -> bool:
        return pin._number not in self._claims

    def read_pin(self, number: int) -> bool:
        """The logic level a GPIO input sees now."""
        if number in self._drive:
            return self._drive[number]
        if number in self._output:
            return self._output[number]
        pull = self._pull.get(number)
        return pull == "UP"  # pull-down or floating reads low

    def set_output(self, number: int, level: bool) -> None:
        level = bool(level)
        if self._output.get(number) == level:
            return
        self._output[number] = level
        self.pin_history[number].append((self.clock.now_us, level))

    def pin_level(self, name: str) -> bool:
        """Level of a pin now (the driven value of an output)."""
        return self.read_pin(self.pin_number(name))

    def leds(self) -> dict[str, bool]:
        """Every pin digitalio drives as an output, "GPn" -> level."""
        return {canonical(n): level for n, level in sorted(self._output.items())}

    # --- interrupts ---------------------------------------------------------------------
    @property
    def irq_enabled(self) -> bool:
        return self._irq_off == 0

    def disable_irq(self) -> None:
        self._irq_off += 1

    def enable_irq(self) -> None:
        if self._irq_off == 0:
            return
        self._irq_off -= 1
        if self._irq_off == 0:
            deferred, self._irq_deferred = self._irq_deferred, []
            for handler in deferred:
                handler()

    def run_irq(self, handler: Callable[[], None]) -> None:
        """Run an interrupt handler now, or when interrupts are enabled again."""
        if self._irq_off:
            if handler not in self._irq_deferred:
                self._irq_deferred.append(handler)
        else:
            handler()

    # --- ticks --------------------------------------------------------------------------
    def raw_ticks(self) -> int:
        """port_get_raw_ticks(): 1/1024 s ticks since power-up."""
        return self.clock.now_us * 1024 // 1_000_000

    def ticks_ms64(self) -> int:
        """supervisor_ticks_ms64(): ms since power-up, from the 1024 Hz tick."""
        return self.raw_ticks() * 1000 // 1024

    def ticks_ms(self) -> int:
        """supervisor.ticks_ms(): starts 65.536 s before its first wrap at 2**29."""
        return (self.ticks_ms64() + TICKS_MS_OFFSET) % TICKS_PERIOD

    @staticmethod
    def raw_tick_time_us(tick: int) -> int:
        """First microsecond at which raw tick number `tick` has begun."""
        return -(-tick * 1_000_000 // 1024)

    def ms64_time_us(self, ms: int) -> int:
        """First microsecond at which supervisor_ticks_ms64() >= ms."""
        return self.raw_tick_time_us(-(-ms * 1024 // 1000))

    # --- the outside world ----------------------------------------------------------------
    def feed(self, pin_name: str, t_us: int, data: bytes) -> int:
        """A MIDI source drives `data` into an RX pin at 31250 baud, starting at t_us (or
        once the bytes already on that wire have gone); returns when its last byte ends."""
        number = self.pin_number(pin_name)
        t_us = int(t_us)
        if t_us < self.clock.now_us:
            raise ValueError(f"feed at {t_us} us is in the past (now {self.clock.now_us} us)")
        log = self.wire_log[number]
        start = max(t_us, self._rx_line_free.get(number, t_us))
        for byte in bytes(data):
            log.append((start, byte))
            self.clock.schedule(start + WIRE_BYTE_US, self._arrival(number, byte))
            start += WIRE_BYTE_US
        self._rx_line_free[number] = start
        return start

    def _arrival(self, number: int, byte: int) -> Callable[[], None]:
        def arrive() -> None:
            listener = self._rx_listeners.get(number)
            if listener is not None:
                listener(byte)

        return arrive

    def press(self, pin_name: str, t_us: int, hold_us: int, bounce_us: int = 0) -> None:
        """A button to GND: the pin reads low from t_us for hold_us.

        With bounce_us > 0 each edge chatters: the level flips at 0, 1/4, 1/2 and 3/4 of
        bounce_us after the edge and settles at bounce_us (press: low, high, low, high, low).
        """
        number = self.pin_number(pin_name)
        if hold_us <= bounce_us:
            raise ValueError("hold_us must be longer than bounce_us")

        def level(value: bool) -> Callable[[], None]:
            def drive() -> None:
                if value:
                    self._drive.pop(number, None)  # released: back to the pull-up
                else:
                    self._drive[number] = False

            return drive

        for edge_t, settled in ((t_us, False), (t_us + hold_us, True)):
            if bounce_us > 0:
                for k in range(4):
                    value = settled if k % 2 == 0 else not settled
                    self.clock.schedule(edge_t + bounce_us * k // 4, level(value))
                self.clock.schedule(edge_t + bounce_us, level(settled))
            else:
                self.clock.schedule(edge_t, level(settled))

    def cpu(self, cost_us: int) -> None:
        """The firmware spent cost_us of CPU time."""
        self.clock.advance(cost_us)

    def work(self, kind: str, data: bytes = b"", port: object = None) -> None:
        """A double acts for the firmware: kind "write" is about to hand `data` to output
        `port` (DMA, UART FIFO, USB), "realtime" to run one `set y` on a PIO transmitter,
        "poll" to look at a UART's in_waiting, "clock" to read CLK's microsecond counter
        (switchyard.usclock); "read" has just given `data` to it from
        input `port`. During a pass the runner's meter first moves the clock on by the CPU
        time the pass has spent up to here, so bytes leave (and a look sees what has come)
        when the Pico would have got that far, not at the start of the pass. The meter
        also counts what the pass did from these calls alone: the firmware keeps no
        counters for the simulator."""
        if self.meter is not None:
            self.meter(kind, data, port)

    def wait_for_event(self, what: str) -> None:
        """A blocking double waits for the next hardware event; raises if none can come."""
        t = self.clock.next_event_us()
        if t is None:
            raise RuntimeError(
                f"{what} would wait forever on the chip: nothing left that could end the wait"
            )
        self.clock.advance_to(t)


_current: Chip | None = None


def install(chip: Chip) -> None:
    """Make chip the one the doubles talk to."""
    global _current
    _current = chip


def current() -> Chip:
    if _current is None:
        raise RuntimeError("no simulated chip: call sim.chip.install(Chip()) first")
    return _current
