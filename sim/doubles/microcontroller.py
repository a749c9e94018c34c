"""Double of `microcontroller` (RP2040/RP2350 port).

Models: Pin (the GPIO objects board.* hands out, not constructible), the `pin` module
(GPIO0..GPIO29), `cpu` (frequency 125 MHz / 150 MHz at power-up, settable to what the PLL makes
exactly, as on the chip; changing it while a UART or PIO state machine exists raises, since
their baud rates would be wrong on the chip; a fixed 27 C temperature, 3.3 V, uid,
reset_reason), `nvm`, reset() (raises sim.chip.SimReset), on_next_reset(), RunMode,
ResetReason, delay_us() (busy wait: advances the virtual clock), disable_interrupts() /
enable_interrupts() (UART RX interrupts, keypad scans and DMA buffer switches wait).

nvm is a 4096-byte nvm.ByteArray over the chip's flash sector (chip.nvm, 0xFF when
erased). Every assignment is one flash write, as ports/raspberrypi/common-hal/nvm/
ByteArray.c does it, with interrupts disabled for the whole write:
- if the bytes being replaced are all 0xFF: program the 256-byte pages touched;
- otherwise: read the sector, erase it, program all 16 pages (even if nothing changed).
Stall times are the typical values of the Pico's W25Q16JV flash datasheet (AC
characteristics): sector erase tSE 45 ms (max 400 ms), page program tPP 0.4 ms (max 3 ms).
The same figures are used for the Pico 2's flash. Each write adds 1 to chip.nvm_writes.
While the stall lasts the UARTs' hardware FIFOs keep receiving (32 bytes, then overrun).
Left out: watchdog (None), cpus, the core voltage and its 10 ms settling at a clock
change, flash wear.
"""

from __future__ import annotations

import types

from sim.chip import NUM_GPIOS, PINS, Chip, SimReset, current
from sim.chip import Pin as Pin  # microcontroller.Pin

FLASH_SECTOR_ERASE_US = 45_000
FLASH_PAGE_PROGRAM_US = 400
FLASH_PAGE = 256
FLASH_SECTOR = 4096

pin = types.ModuleType("microcontroller.pin", "GPIO pins of the chip, by GPIO number.")
for _n in range(NUM_GPIOS):
    setattr(pin, f"GPIO{_n}", PINS[_n])


class _Enum:
    def __init__(self, owner: str, name: str) -> None:
        self._repr = f"microcontroller.{owner}.{name}"

    def __repr__(self) -> str:
        return self._repr


class RunMode:
    """Where the chip goes at the next reset."""

    NORMAL = _Enum("RunMode", "NORMAL")
    SAFE_MODE = _Enum("RunMode", "SAFE_MODE")
    UF2 = _Enum("RunMode", "UF2")
    BOOTLOADER = _Enum("RunMode", "BOOTLOADER")


class ResetReason:
    POWER_ON = _Enum("ResetReason", "POWER_ON")
    BROWNOUT = _Enum("ResetReason", "BROWNOUT")
    SOFTWARE = _Enum("ResetReason", "SOFTWARE")
    DEEP_SLEEP_ALARM = _Enum("ResetReason", "DEEP_SLEEP_ALARM")
    RESET_PIN = _Enum("ResetReason", "RESET_PIN")
    WATCHDOG = _Enum("ResetReason", "WATCHDOG")
    UNKNOWN = _Enum("ResetReason", "UNKNOWN")
    RESCUE_DEBUG = _Enum("ResetReason", "RESCUE_DEBUG")


class Processor:
    def __init__(self, chip: Chip) -> None:
        self._chip = chip

    @property
    def frequency(self) -> int:
        return self._chip.clk_sys_hz

    @frequency.setter
    def frequency(self, value: int) -> None:
        # shared-bindings/microcontroller/Processor.c, then ports/raspberrypi/common-hal/
        # microcontroller/Processor.c: kHz the PLL can make exactly, or ValueError.
        hz = int(value)
        if hz < 0:
            raise ValueError("frequency must be >= 0")
        if not pll_can_make(hz // 1000):
            raise ValueError("Invalid frequency")
        chip = self._chip
        live = [u for u in chip._uarts if u is not None]
        live += [sm for block in chip._pio for sm in block["sms"] if sm is not None]
        if live and hz // 1000 * 1000 != chip.clk_sys_hz:
            # Not an error CircuitPython raises: on the chip the change goes through, and
            # every UART and state machine made before it runs at a wrong baud rate.
            raise RuntimeError(
                "simulator: cpu.frequency changed while %d UART(s) / PIO state machine(s) "
                "exist: their baud rates were set from the old clock" % len(live)
            )
        chip.clk_sys_hz = hz // 1000 * 1000

    @property
    def temperature(self) -> float:
        return 27.0

    @property
    def voltage(self) -> float:
        return 3.3

    @property
    def uid(self) -> bytearray:
        return bytearray(b"SIMCHIP" + bytes([len(self._chip.board_id)]))

    @property
    def reset_reason(self) -> object:
        return ResetReason.POWER_ON


class ByteArray:
    """nvm.ByteArray: the flash-backed NVM sector."""

    def __init__(self, chip: Chip) -> None:
        self._chip = chip

    def __len__(self) -> int:
        return len(self._chip.nvm)

    def __bool__(self) -> bool:
        return True

    def _slice(self, index: slice) -> tuple[int, int]:
        start, stop, step = index.indices(len(self._chip.nvm))
        if step != 1:
            raise NotImplementedError("only slices with step=1 (aka None) are supported")
        return start, max(start, stop)

    def __getitem__(self, index: int | slice) -> int | bytearray:
        data = self._chip.nvm
        if isinstance(index, slice):
            start, stop = self._slice(index)
            return bytearray(data[start:stop])
        if not -len(data) <= index < len(data):
            raise IndexError("ByteArray index out of range")
        return data[index]

    def __setitem__(self, index: int | slice, value: object) -> None:
        data = self._chip.nvm
        if isinstance(index, slice):
            start, stop = self._slice(index)
            new = bytes(value)  # type: ignore[call-overload]
            if len(new) != stop - start:
                raise ValueError("Slice and value different lengths.")
        else:
            if not -len(data) <= index < len(data):
                raise IndexError("ByteArray index out of range")
            if not isinstance(value, int) or not 0 <= value <= 255:
                raise ValueError("Bytes must be between 0 and 255.")
            start = index % len(data)
            stop = start + 1
            new = bytes([value])
        if stop > start:
            self._write(start, new)

    def _write(self, start: int, new: bytes) -> None:
        chip = self._chip
        old = chip.nvm[start : start + len(new)]
        if all(b == 0xFF for b in old):
            first_page = start // FLASH_PAGE
            last_page = (start + len(new) - 1) // FLASH_PAGE
            stall = (last_page - first_page + 1) * FLASH_PAGE_PROGRAM_US
        else:
            stall = FLASH_SECTOR_ERASE_US + (FLASH_SECTOR // FLASH_PAGE) * FLASH_PAGE_PROGRAM_US
        chip.nvm_writes += 1
        chip.disable_irq()
        try:
            chip.clock.advance(stall)
            chip.nvm[start : start + len(new)] = new
        finally:
            chip.enable_irq()


XOSC_KHZ = 12_000
PLL_VCO_KHZ = (750_000, 1_600_000)  # pico-sdk 2.x PICO_PLL_VCO_MIN/MAX_FREQ_KHZ


def pll_can_make(khz: int) -> bool:
    """pico-sdk check_sys_clock_khz: some fbdiv 16..320 and postdividers 1..7 give `khz`
    exactly from the 12 MHz crystal with the VCO in range."""
    for fbdiv in range(320, 15, -1):
        vco = fbdiv * XOSC_KHZ
        if not PLL_VCO_KHZ[0] <= vco <= PLL_VCO_KHZ[1]:
            continue
        for pd1 in range(7, 0, -1):
            for pd2 in range(pd1, 0, -1):
                if vco % (pd1 * pd2) == 0 and vco // (pd1 * pd2) == khz:
                    return True
    return False


def reset() -> None:
    """Reboot the chip: the simulation ends here with SimReset."""
    raise SimReset("microcontroller.reset()")


def on_next_reset(run_mode: object) -> None:
    current().next_run_mode = run_mode


def delay_us(delay: int) -> None:
    """Busy-wait delay microseconds (interrupts and hardware keep running)."""
    current().clock.advance(int(delay))


def disable_interrupts() -> None:
    current().disable_irq()


def enable_interrupts() -> None:
    current().enable_irq()


watchdog = None


def _cached(name: str, make: type) -> object:
    chip = current()
    obj = chip._cache.get("microcontroller." + name)
    if obj is None:
        obj = make(chip)
        chip._cache["microcontroller." + name] = obj
    return obj


def __getattr__(name: str) -> object:
    if name == "cpu":
        return _cached("cpu", Processor)
    if name == "nvm":
        return _cached("nvm", ByteArray)
    raise AttributeError(f"module 'microcontroller' has no attribute {name!r}")
