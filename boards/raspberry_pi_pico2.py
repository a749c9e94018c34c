"""Raspberry Pi Pico 2 (RP2350): pins and port map of the reference Switchyard box.

The Pico 2 keeps the Pico pinout, so the port map is the same; it has three PIO blocks.
Only data lives here. Pins are board attribute names (board.GP0 ...), looked up by
switchyard.app; hardware/netlist.json wires the same GPIOs and tests/test_hardware.py
keeps the two in step.
"""

BOARD_ID = "raspberry_pi_pico2"
CHIP = "RP2350"
PIO_STATE_MACHINES = 12

# DIN inputs: port -> (hardware UART index, RX pin). A hardware UART RX has an
# interrupt-fed ring buffer, so no byte is lost while the loop is busy elsewhere.
INPUTS = (
    ("A", 0, "GP1"),
    ("B", 1, "GP5"),
)

# DIN outputs: port -> (driver, TX pin). "pio": a PIO UART transmitter that reports each
# byte it has sent, so the firmware keeps at most one byte queued in hardware and a clock
# byte never waits behind a full FIFO. "uart": the hardware UART TX of the same
# instance as the input on that UART (paced by ticks only; see DESIGN.md).
# Outputs 1 and 2 sit on the UART0/UART1 TX pins, so either driver can serve them.
OUTPUTS = (
    ("1", "pio", "GP0"),
    ("2", "pio", "GP4"),
    ("3", "pio", "GP6"),
    ("4", "pio", "GP7"),
    ("5", "pio", "GP8"),
    ("6", "pio", "GP9"),
)

# Buttons to GND, internal pull-up.
BUTTONS = (
    ("P1", "GP10"),
    ("P2", "GP11"),
    ("P3", "GP12"),
    ("P4", "GP13"),
    ("FN", "GP14"),
)

# LEDs, active high through a resistor to GND.
LEDS = (
    ("P1", "GP16"),
    ("P2", "GP17"),
    ("P3", "GP18"),
    ("P4", "GP19"),
    ("ACT", "GP20"),
    ("CLK", "GP21"),
)
