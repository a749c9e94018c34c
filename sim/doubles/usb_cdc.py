"""Double of `usb_cdc`, following shared-bindings/usb_cdc and shared-module/usb_cdc.

- enable(*, console=True, data=False) and disable() only while chip.boot_phase (boot.py),
  else RuntimeError("Cannot change USB devices now"), as CircuitPython raises.
- console / data: a Serial while that channel is enabled (chip.cdc.console_enabled,
  chip.cdc.data_enabled), else None. CircuitPython enables the console alone by default.
- Serial.connected: the host has the port open (asserts DTR): chip.cdc.is_open for data;
  the console follows chip.usb.serial_connected.
- Serial.write(buf) with write_timeout 0 queues what TinyUSB's CDC TX FIFO takes now and
  returns that count (short when the host reads slowly: sim.chip.CdcHost); with
  write_timeout None (CircuitPython's default) a write that does not fit would block the
  loop, which the firmware must never do: the double raises instead of hanging.
- read / readinto / in_waiting: the host sends nothing on the monitor's channel here:
  empty. out_waiting: bytes the host has not read yet. reset_output_buffer() flushes them.
Left out: the console's REPL traffic, readline/readlines, timeouts > 0 for reads.
"""

from __future__ import annotations

from sim.chip import Chip, current


class Serial:
    def __init__(self, chip: Chip, data: bool) -> None:
        self._chip = chip
        self._data = data
        self.timeout: float | None = None
        self.write_timeout: float | None = None

    @property
    def connected(self) -> bool:
        if self._data:
            return self._chip.usb.connected and self._chip.cdc.is_open
        return self._chip.usb.connected and self._chip.usb.serial_connected

    @property
    def in_waiting(self) -> int:
        return 0

    @property
    def out_waiting(self) -> int:
        if not self._data:
            return 0
        self._chip.cdc.drain()
        return self._chip.cdc.tx_queued

    def read(self, size: int = -1) -> bytes:
        return b""

    def readinto(self, buf: bytearray | memoryview) -> int:
        return 0

    def write(self, buf: object) -> int:
        if isinstance(buf, str):
            raise TypeError("object with buffer protocol required")
        data = bytes(memoryview(buf).cast("B"))  # type: ignore[arg-type]
        if not self._data:
            return len(data)
        cdc = self._chip.cdc
        if not self._chip.usb.connected:
            return 0
        n = cdc.write(data)
        if n < len(data) and self.write_timeout is None and cdc.is_open:
            raise RuntimeError(
                "usb_cdc.Serial.write would block (write_timeout None and the host reads "
                "slowly): the loop must never block"
            )
        return n

    def flush(self) -> None:
        pass

    def reset_input_buffer(self) -> None:
        pass

    def reset_output_buffer(self) -> None:
        if self._data:
            self._chip.cdc.tx_queued = 0


def _check_boot() -> Chip:
    chip = current()
    if not chip.boot_phase:
        raise RuntimeError("Cannot change USB devices now")
    return chip


def enable(*, console: bool = True, data: bool = False) -> None:
    chip = _check_boot()
    chip.cdc.console_enabled = bool(console)
    chip.cdc.data_enabled = bool(data)


def disable() -> None:
    enable(console=False, data=False)


def __getattr__(name: str) -> object:
    if name in ("console", "data"):
        chip = current()
        enabled = chip.cdc.data_enabled if name == "data" else chip.cdc.console_enabled
        if not enabled:
            return None
        key = "usb_cdc." + name
        serial = chip._cache.get(key)
        if serial is None:
            serial = chip._cache[key] = Serial(chip, name == "data")
        return serial
    raise AttributeError(f"module 'usb_cdc' has no attribute {name!r}")
