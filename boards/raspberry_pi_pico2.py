"""Raspberry Pi Pico 2 (RP2350): pins and port map of the reference Switchyard box.

The Pico 2 keeps the Pico pinout, so the port map is the same; it has three PIO blocks.
Only data lives here. Pins are board attribute names (board.GP0 ...), looked up by
switchyard.app; hardware/netlist.json wires the same GPIOs and tests/test_hardware.py
keeps the two in step.
"""

BOARD_ID = "raspberry_pi_pico2"
CHIP = "RP2350"
PIO_STATE_MACHINES = 12
# The RP2350's qualified clock is its default, 150 MHz: nothing to change.
CPU_HZ = 150_000_000

# Same pinout as the Pico: the same jacks, buttons and LEDs on the same GPIOs.
from boards.raspberry_pi_pico import BUTTONS, INPUTS, LEDS, OUTPUTS  # noqa: E402, F401
