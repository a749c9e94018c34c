"""Double of `digitalio`.

Models: DigitalInOut claims its pin (a pin in use raises ValueError("GP10 in use"), as
assert_pin_free does) until deinit(); a new object is an input with no pull; direction,
pull, value, drive_mode, switch_to_output(), switch_to_input() with the same
AttributeErrors as shared-bindings/digitalio/DigitalInOut.c (setting value on an input,
reading pull on an output, drive_mode on an input). An input reads what drives the pin:
a button held by chip.press() reads low; otherwise the pull (UP high; DOWN or no pull
low). Every level change of an output is appended to chip.pin_history[pin] as
(t_us, level). Use after deinit raises the deinitialised ValueError.
Left out: electrical details (open-drain outputs are logged like push-pull ones), the
RP2350-E9 pull-down erratum.
"""

from __future__ import annotations

from sim.chip import Chip, Pin, current
from sim.doubles import DEINITED, check_pin


class _Enum:
    def __init__(self, owner: str, name: str) -> None:
        self._repr = f"digitalio.{owner}.{name}"

    def __repr__(self) -> str:
        return self._repr


class Direction:
    INPUT = _Enum("Direction", "INPUT")
    OUTPUT = _Enum("Direction", "OUTPUT")


class Pull:
    UP = _Enum("Pull", "UP")
    DOWN = _Enum("Pull", "DOWN")


class DriveMode:
    PUSH_PULL = _Enum("DriveMode", "PUSH_PULL")
    OPEN_DRAIN = _Enum("DriveMode", "OPEN_DRAIN")


def _pull_name(pull: object) -> str | None:
    if pull is None:
        return None
    if pull is Pull.UP:
        return "UP"
    if pull is Pull.DOWN:
        return "DOWN"
    raise TypeError(f"pull must be of type Pull or None, not {type(pull).__name__}")


class DigitalInOut:
    def __init__(self, pin: Pin) -> None:
        check_pin(pin, "pin")
        chip = current()
        chip.claim(pin, "digitalio")
        self._chip: Chip | None = chip
        self._pin = pin
        self._output = False
        self._pull: object = None
        self._drive_mode: object = DriveMode.PUSH_PULL
        chip._pull[pin._number] = None

    def _live(self) -> Chip:
        if self._chip is None:
            raise ValueError(DEINITED)
        return self._chip

    def deinit(self) -> None:
        if self._chip is not None:
            self._chip.release(self._pin)
            self._chip = None

    def deinited(self) -> bool:
        return self._chip is None

    def __enter__(self) -> DigitalInOut:
        return self

    def __exit__(self, *exc: object) -> None:
        self.deinit()

    def switch_to_output(
        self, value: bool = False, drive_mode: object = DriveMode.PUSH_PULL
    ) -> None:
        chip = self._live()
        if drive_mode is not DriveMode.PUSH_PULL and drive_mode is not DriveMode.OPEN_DRAIN:
            raise TypeError("drive_mode must be of type DriveMode")
        self._output = True
        self._drive_mode = drive_mode
        self._pull = None
        chip._pull.pop(self._pin._number, None)
        chip.set_output(self._pin._number, bool(value))

    def switch_to_input(self, pull: object = None) -> None:
        chip = self._live()
        name = _pull_name(pull)
        self._output = False
        self._pull = pull
        chip._output.pop(self._pin._number, None)
        chip._pull[self._pin._number] = name

    @property
    def direction(self) -> object:
        self._live()
        return Direction.OUTPUT if self._output else Direction.INPUT

    @direction.setter
    def direction(self, value: object) -> None:
        self._live()
        if value is Direction.INPUT:
            self.switch_to_input(None)
        elif value is Direction.OUTPUT:
            self.switch_to_output(False, DriveMode.PUSH_PULL)
        else:
            raise ValueError("Invalid direction.")

    @property
    def value(self) -> bool:
        chip = self._live()
        return chip.read_pin(self._pin._number)

    @value.setter
    def value(self, val: bool) -> None:
        chip = self._live()
        if not self._output:
            raise AttributeError("Cannot set value when direction is input.")
        chip.set_output(self._pin._number, bool(val))

    @property
    def pull(self) -> object:
        self._live()
        if self._output:
            raise AttributeError("Pull not used when direction is output.")
        return self._pull

    @pull.setter
    def pull(self, pull: object) -> None:
        chip = self._live()
        if self._output:
            raise AttributeError("Pull not used when direction is output.")
        chip._pull[self._pin._number] = _pull_name(pull)
        self._pull = pull

    @property
    def drive_mode(self) -> object:
        self._live()
        if not self._output:
            raise AttributeError("Drive mode not used when direction is input.")
        return self._drive_mode

    @drive_mode.setter
    def drive_mode(self, mode: object) -> None:
        self._live()
        if not self._output:
            raise AttributeError("Drive mode not used when direction is input.")
        self._drive_mode = mode
