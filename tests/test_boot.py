"""boot.py, run on the host against small fakes of the CircuitPython modules it touches.

Each fake keeps to the real module's contract where boot.py could get it wrong: set_names takes
keyword arguments only and 1..126-character names, a pin can be claimed once until deinit(),
a deinitialised pin cannot be read, an input with no pull floats (reads low, as a pressed
button would), remount knows only "/".
"""

import ast
import importlib
import re
import runpy
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BOOT_PY = ROOT / "boot.py"


class Pin:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return "board." + self.name


class FakeDigitalio:
    """digitalio for buttons wired to GND: held pins read low with the pull-up on."""

    class Pull:
        UP = "UP"
        DOWN = "DOWN"

    class Direction:
        INPUT = "INPUT"
        OUTPUT = "OUTPUT"

    def __init__(self, held=()):
        self.held = set(held)
        self.claimed = set()
        self.reads = []
        fake = self

        class DigitalInOut:
            def __init__(self, pin):
                if not isinstance(pin, Pin):
                    raise TypeError(f"pin must be a Pin, not {type(pin).__name__}")
                if pin.name in fake.claimed:
                    raise ValueError(f"{pin.name} in use")
                fake.claimed.add(pin.name)
                self._pin = pin
                self._pull = None
                self._deinited = False

            def _check(self):
                if self._deinited:
                    raise ValueError("Object has been deinitialized and can no longer be used.")

            def switch_to_input(self, pull=None):
                self._check()
                self._pull = pull

            @property
            def value(self):
                self._check()
                fake.reads.append(self._pin.name)
                if self._pin.name in fake.held:
                    return False
                # No pull-up: the line floats; count it as low, so a missing pull shows.
                return self._pull == FakeDigitalio.Pull.UP

            def deinit(self):
                if not self._deinited:
                    fake.claimed.discard(self._pin.name)
                self._deinited = True

        self.DigitalInOut = DigitalInOut

    def module(self):
        mod = types.ModuleType("digitalio")
        mod.DigitalInOut = self.DigitalInOut
        mod.Pull = FakeDigitalio.Pull
        mod.Direction = FakeDigitalio.Direction
        return mod


class FakeStorage:
    def __init__(self, fail=None):
        self.remounts = []
        self.fail = fail

    def remount(self, mount_path, readonly=False, *, disable_concurrent_write_protection=False):
        if mount_path != "/":
            raise OSError(19, "No such device: " + mount_path)
        if self.fail is not None:
            raise self.fail
        self.remounts.append((mount_path, readonly, disable_concurrent_write_protection))

    def module(self):
        mod = types.ModuleType("storage")
        mod.remount = self.remount
        return mod


class FakeUsbMidi:
    def __init__(self, has_set_names=True):
        self.names = []
        self.has_set_names = has_set_names

    def set_names(
        self,
        *,
        streaming_interface_name=None,
        audio_control_interface_name=None,
        in_jack_name=None,
        out_jack_name=None,
    ):
        names = {
            "streaming_interface_name": streaming_interface_name,
            "audio_control_interface_name": audio_control_interface_name,
            "in_jack_name": in_jack_name,
            "out_jack_name": out_jack_name,
        }
        for arg, name in names.items():
            if name is None:
                continue
            if not isinstance(name, (str, bytes, bytearray)):
                raise TypeError(f"{arg} must be a buffer")
            if not 1 <= len(name) <= 126:
                raise ValueError(f"{arg} length must be 1-126")
        self.names.append(names)

    def module(self):
        mod = types.ModuleType("usb_midi")
        if self.has_set_names:
            mod.set_names = self.set_names
        return mod


class FakeUsbCdc:
    """usb_cdc in boot.py: enable() records the channels asked for (console alone is
    CircuitPython's default)."""

    def __init__(self, fail=None):
        self.enabled = {"console": True, "data": False}
        self.fail = fail

    def enable(self, *, console=True, data=False):
        if self.fail:
            raise self.fail
        self.enabled = {"console": console, "data": data}

    def module(self):
        mod = types.ModuleType("usb_cdc")
        mod.enable = self.enable
        return mod


def fake_board(board_id):
    mod = types.ModuleType("board")
    mod.board_id = board_id
    for n in range(29):
        setattr(mod, f"GP{n}", Pin(f"GP{n}"))
    return mod


class Box:
    """The fakes of one power-up, and what boot.py printed."""

    def __init__(self, digitalio, storage, usb_midi, output, usb_cdc=None):
        self.usb_cdc = usb_cdc
        self.digitalio = digitalio
        self.storage = storage
        self.usb_midi = usb_midi
        self.output = output


@pytest.fixture
def power_up(monkeypatch, capsys, tmp_path):
    def run(
        board_id="raspberry_pi_pico",
        held=(),
        storage=None,
        usb_midi=None,
        digitalio=None,
        boards_dir=None,
        usb_cdc=None,
    ):
        usb_cdc = usb_cdc or FakeUsbCdc()
        monkeypatch.setitem(sys.modules, "usb_cdc", usb_cdc.module())
        digitalio = digitalio or FakeDigitalio(held)
        storage = storage or FakeStorage()
        usb_midi = usb_midi or FakeUsbMidi()
        monkeypatch.setitem(sys.modules, "board", fake_board(board_id))
        monkeypatch.setitem(sys.modules, "digitalio", digitalio.module())
        monkeypatch.setitem(sys.modules, "storage", storage.module())
        monkeypatch.setitem(sys.modules, "usb_midi", usb_midi.module())
        for name in [m for m in sys.modules if m == "boards" or m.startswith("boards.")]:
            monkeypatch.delitem(sys.modules, name)
        if boards_dir is None:
            # Only the boards package on sys.path: the repo root also holds code.py, which
            # would shadow the standard library's `code` module.
            boards_dir = tmp_path / "root"
            boards_dir.mkdir()
            (boards_dir / "boards").symlink_to(ROOT / "boards", target_is_directory=True)
        monkeypatch.syspath_prepend(str(boards_dir))
        capsys.readouterr()
        runpy.run_path(str(BOOT_PY), run_name="__main__")
        return Box(digitalio, storage, usb_midi, capsys.readouterr().out, usb_cdc)

    return run


def button_pins(board_id):
    # board files are plain data modules (the Pico 2's takes the Pico's pinout)
    if str(ROOT) not in sys.path:
        sys.path.append(str(ROOT))  # appended: the root code.py must not shadow stdlib code
    return dict(importlib.import_module("boards." + board_id).BUTTONS)


def test_enables_the_monitor_channel_beside_the_console(power_up):
    box = power_up()
    assert box.usb_cdc.enabled == {"console": True, "data": True}
    assert "failed" not in box.output


def test_a_refused_monitor_channel_is_reported_and_the_rest_goes_on(power_up):
    box = power_up(usb_cdc=FakeUsbCdc(fail=RuntimeError("Cannot change USB devices now")))
    assert "enabling the monitor's serial channel failed: RuntimeError" in box.output
    assert box.usb_midi.names  # the other steps still ran


def test_names_every_usb_midi_interface_switchyard(power_up):
    box = power_up()
    assert box.usb_midi.names == [
        {
            "streaming_interface_name": "Switchyard",
            "audio_control_interface_name": "Switchyard",
            "in_jack_name": "Switchyard",
            "out_jack_name": "Switchyard",
        }
    ]
    assert box.output == ""


@pytest.mark.parametrize("board_id", ["raspberry_pi_pico", "raspberry_pi_pico2"])
def test_default_leaves_circuitpy_to_the_computer(power_up, board_id):
    box = power_up(board_id=board_id)
    assert box.storage.remounts == []
    # It read the P4 pin the board file names, and gave it back.
    assert box.digitalio.reads == [button_pins(board_id)["P4"]]
    assert box.digitalio.claimed == set()


@pytest.mark.parametrize("board_id", ["raspberry_pi_pico", "raspberry_pi_pico2"])
def test_holding_p4_gives_the_firmware_write_access(power_up, board_id):
    p4 = button_pins(board_id)["P4"]
    box = power_up(board_id=board_id, held=[p4])
    assert box.storage.remounts == [("/", False, False)]
    assert "read-only to the computer" in box.output
    assert box.digitalio.claimed == set()
    assert box.usb_midi.names  # the names are set in this mode too


def test_holding_another_button_changes_nothing(power_up):
    pins = button_pins("raspberry_pi_pico")
    box = power_up(held=[pins["P1"], pins["FN"]])
    assert box.storage.remounts == []


def test_unknown_board_keeps_defaults_and_says_why(power_up):
    box = power_up(board_id="some_other_board")
    assert box.storage.remounts == []
    assert box.usb_midi.names  # USB naming does not depend on the board file
    assert "boards/some_other_board.py" in box.output


def test_board_file_without_p4(power_up, tmp_path):
    boards = tmp_path / "boards"
    boards.mkdir()
    (boards / "__init__.py").write_text("")
    (boards / "tiny_board.py").write_text('BUTTONS = (("P1", "GP2"),)\n')
    box = power_up(board_id="tiny_board", boards_dir=tmp_path, held=["GP2"])
    assert box.storage.remounts == []
    assert "boards/tiny_board.py has no button P4" in box.output


def test_circuitpython_without_set_names_still_reads_p4(power_up):
    p4 = button_pins("raspberry_pi_pico")["P4"]
    box = power_up(usb_midi=FakeUsbMidi(has_set_names=False), held=[p4])
    assert "naming the USB MIDI ports failed: AttributeError" in box.output
    assert box.storage.remounts == [("/", False, False)]


def test_pin_already_claimed_counts_as_not_held(power_up):
    p4 = button_pins("raspberry_pi_pico")["P4"]
    digitalio = FakeDigitalio(held=[p4])
    digitalio.claimed.add(p4)
    box = power_up(digitalio=digitalio)
    assert box.storage.remounts == []
    assert f"reading P4 failed: ValueError: {p4} in use" in box.output


def test_remount_refused_leaves_the_computer_in_charge(power_up):
    p4 = button_pins("raspberry_pi_pico")["P4"]
    box = power_up(held=[p4], storage=FakeStorage(fail=RuntimeError("Cannot remount '/'")))
    assert box.storage.remounts == []
    assert "remounting CIRCUITPY for the firmware failed: RuntimeError" in box.output
    assert "read-only to the computer" not in box.output


def test_the_fakes_catch_a_missing_pull_up():
    # Guards the fake itself: with no pull-up a floating button reads "pressed".
    digitalio = FakeDigitalio()
    pin = Pin("GP13")
    button = digitalio.DigitalInOut(pin)
    button.switch_to_input()
    assert button.value is False
    button.deinit()
    with pytest.raises(ValueError):
        _ = button.value
    with pytest.raises(ValueError):
        FakeUsbMidi().set_names(in_jack_name="x" * 127)


def test_boot_py_names_no_gpio():
    tree = ast.parse(BOOT_PY.read_text())
    gpio = re.compile(r"^(GP|GPIO)\d+$")
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            assert not gpio.match(node.value), node.value
        if isinstance(node, ast.Attribute):
            assert not gpio.match(node.attr), node.attr
