"""sim.install: the doubles under the CircuitPython names, the virtual `time` only while
the firmware is imported, and a fresh firmware import per simulated chip."""

import sys
import time as real_time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.append(str(REPO))  # appended: the root code.py must not shadow stdlib `code`

from sim import chip as chip_module  # noqa: E402
from sim import install  # noqa: E402
from sim.chip import Chip  # noqa: E402


@pytest.fixture
def installed():
    names = [*install.DOUBLES, "microcontroller.pin", "time"]
    saved = {name: sys.modules.get(name) for name in names}
    meta = list(sys.meta_path)
    chip = Chip()
    chip_module.install(chip)
    install.install_doubles()
    yield chip
    sys.meta_path[:] = meta
    for name, module in saved.items():
        if module is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = module
    chip_module._current = None


def test_doubles_answer_to_the_circuitpython_names(installed):
    import board
    import busio
    import microcontroller
    import microcontroller.pin
    import usb_midi
    from micropython import const

    assert busio.__name__ == "sim.doubles.busio"
    assert board.board_id == "raspberry_pi_pico"
    assert microcontroller.pin.GPIO0 is board.GP0
    assert const(3) == 3
    assert len(usb_midi.ports) == 2
    install.install_doubles()  # idempotent
    assert sys.meta_path.count(install._FINDER) == 1


def test_a_deleted_double_is_served_again_and_other_native_modules_refused(installed):
    del sys.modules["board"]
    import board

    assert board.__name__ == "sim.doubles.board"
    with pytest.raises(ModuleNotFoundError, match="not simulated"):
        import neopixel_write  # noqa: F401 - Blinka ships one; the simulator must not use it
    with pytest.raises(ModuleNotFoundError, match="not simulated"):
        import usb_hid  # noqa: F401 (usb_cdc has a double: the monitor)


def test_virtual_time_only_inside_firmware_time(installed):
    assert sys.modules["time"] is real_time
    with install.firmware_time() as vtime:
        import time

        assert time is vtime
        installed.clock.advance(2_500_000)
        assert time.monotonic() == pytest.approx(2.5, abs=0.002)
    assert sys.modules["time"] is real_time


def test_load_firmware_imports_a_fresh_app_per_chip(installed):
    first = install.load_firmware(Chip())
    second_chip = Chip()
    second = install.load_firmware(second_chip)
    assert first is not second
    assert second.__name__ == "switchyard.app"
    assert chip_module.current() is second_chip
    assert sys.modules["time"] is real_time
    assert str(install.LIB) in sys.path
