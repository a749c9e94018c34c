"""Double of `board` for raspberry_pi_pico and raspberry_pi_pico2.

Models: board.board_id and the pin names of the board's pins.c (GP0..GP28, SMPS_MODE,
VBUS_SENSE, LED, GP26_A0 .. A3, VOLTAGE_MONITOR), all microcontroller.Pin objects, read
from the current chip. Left out: STEMMA_I2C / I2C / SPI / UART singletons (the Pico's
board module has none).
"""

from __future__ import annotations

from sim.chip import current


def __getattr__(name: str) -> object:
    chip = current()
    if name == "board_id":
        return chip.board_id
    try:
        return chip.pin(name)
    except AttributeError:
        raise AttributeError(f"module 'board' has no attribute {name!r}") from None


def __dir__() -> list[str]:
    return ["board_id", *current().pin_names()]
