"""Put the hardware doubles where the firmware's imports find them.

install_doubles() registers sim/doubles/* in sys.modules under the CircuitPython names and
puts a finder first on sys.meta_path that serves the doubles for those names and refuses
every other CircuitPython-only module (analogio, pwmio, neopixel_write, ...), so
Adafruit-Blinka, even if installed, can never provide or shadow one. The real `time` is
left alone: firmware_time() swaps in the virtual one only while the firmware is imported,
so the firmware binds it and the host (pytest, the runner) keeps the real clock.
Modules the firmware imports later, inside functions, would get the real `time`.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sim import chip as chip_module

REPO = Path(__file__).resolve().parent.parent
LIB = REPO / "lib"

DOUBLES = {
    "board": "sim.doubles.board",
    "busio": "sim.doubles.busio",
    "digitalio": "sim.doubles.digitalio",
    "microcontroller": "sim.doubles.microcontroller",
    "supervisor": "sim.doubles.supervisor",
    "usb_midi": "sim.doubles.usb_midi",
    "usb_cdc": "sim.doubles.usb_cdc",
    "rp2pio": "sim.doubles.rp2pio",
    "keypad": "sim.doubles.keypad",
    "micropython": "sim.doubles.micropython",
    "storage": "sim.doubles.storage",
}

# CircuitPython built-in modules with no double: importing one fails loudly instead of
# reaching a host package of the same name (Adafruit-Blinka ships several).
NOT_SIMULATED = frozenset(
    """
    adafruit_blinka adafruit_platformdetect analogio analogbufio audiobusio audiocore
    audiomixer audiopwmio bitbangio countio displayio fourwire frequencyio i2ctarget
    keypad_demux memorymap neopixel_write nvm onewireio paralleldisplaybus pulseio pwmio
    rotaryio rtc sdcardio synthio touchio usb usb_hid usb_host watchdog
    """.split()
)

PURGE_PREFIXES = ("switchyard", "boards", "adafruit_")


def _double(name: str) -> types.ModuleType:
    module = importlib.import_module(DOUBLES[name])
    return module


class _DoubleLoader(importlib.abc.Loader):
    def __init__(self, module: types.ModuleType) -> None:
        self._module = module

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return self._module

    def exec_module(self, module: types.ModuleType) -> None:
        return None


class DoubleFinder(importlib.abc.MetaPathFinder):
    """Serves the doubles for the CircuitPython names; refuses the other native modules."""

    def find_spec(self, fullname, path=None, target=None):  # noqa: ANN001, ANN201
        top = fullname.split(".", 1)[0]
        if fullname in DOUBLES:
            return importlib.machinery.ModuleSpec(fullname, _DoubleLoader(_double(fullname)))
        if fullname == "microcontroller.pin":
            module = _double("microcontroller").pin
            return importlib.machinery.ModuleSpec(fullname, _DoubleLoader(module))
        if top in NOT_SIMULATED or top in DOUBLES:
            raise ModuleNotFoundError(
                f"CircuitPython module {fullname!r} is not simulated (no double in sim/doubles)",
                name=fullname,
            )
        return None


_FINDER = DoubleFinder()


def install_doubles() -> None:
    """Register the doubles in sys.modules under their CircuitPython names (idempotent)."""
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)
    for name in DOUBLES:
        sys.modules[name] = _double(name)
    microcontroller = sys.modules["microcontroller"]
    microcontroller.pin = _double("microcontroller").pin  # type: ignore[attr-defined]
    sys.modules["microcontroller.pin"] = microcontroller.pin  # type: ignore[attr-defined]
    for name in NOT_SIMULATED:
        module = sys.modules.get(name)
        if module is not None and not getattr(module, "__file__", "").startswith(str(REPO)):
            del sys.modules[name]


@contextmanager
def firmware_time() -> Iterator[types.ModuleType]:
    """sys.modules["time"] is the virtual-clock time while this is active."""
    vtime = importlib.import_module("sim.doubles.vtime")
    had = "time" in sys.modules
    real = sys.modules.get("time")
    sys.modules["time"] = vtime
    try:
        yield vtime
    finally:
        if had:
            sys.modules["time"] = real  # type: ignore[assignment]
        else:
            del sys.modules["time"]


def purge_firmware() -> None:
    """Forget imported firmware and Adafruit libraries so the next import is fresh."""
    for name in list(sys.modules):
        if name.startswith(PURGE_PREFIXES):
            del sys.modules[name]


def add_paths() -> None:
    lib = str(LIB)
    if lib not in sys.path:
        sys.path.insert(0, lib)
    root = str(REPO)
    if root not in sys.path:
        # appended: the repo's code.py must not shadow the standard library's `code`
        sys.path.append(root)


def load_firmware(chip: chip_module.Chip) -> types.ModuleType:
    """Install chip and the doubles, import a fresh switchyard.app on them, return it."""
    chip_module.install(chip)
    install_doubles()
    add_paths()
    purge_firmware()
    with firmware_time():
        return importlib.import_module("switchyard.app")
