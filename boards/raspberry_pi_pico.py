"""Raspberry Pi Pico (RP2040): pins and port map of the reference Switchyard box.

Only data lives here. Pins are board attribute names (board.GP0 ...), looked up by
switchyard.app; hardware/netlist.json wires the same GPIOs and tests/test_hardware.py
keeps the two in step.
"""

BOARD_ID = "raspberry_pi_pico"
CHIP = "RP2040"
PIO_STATE_MACHINES = 8
# System clock the firmware sets before it makes any peripheral (switchyard.app.set_cpu_clock).
# 200 MHz is the RP2040's highest qualified clock, with a core supply of at least 1.15 V
# (RP2040 datasheet; pico-sdk's PICO_USE_FASTEST_SUPPORTED_CLOCK picks it). CircuitPython's
# setter raises the core to 1.20 V above 133 MHz and waits 10 ms for it. The interpreter
# runs 1.6x as fast as at the 125 MHz default. The flash clock is clk_sys / 2 at most (the
# SSI's smallest divider), 100 MHz, within the W25Q16JV's 133 MHz. USB has its own PLL.
# 0 or None keeps CircuitPython's default.
CPU_HZ = 200_000_000

# DIN inputs: port -> (hardware UART index, RX pin). A hardware UART RX has an
# interrupt-fed ring buffer, so no byte is lost while the loop is busy elsewhere.
INPUTS = (
    ("A", 0, "GP1"),
    ("B", 1, "GP5"),
)

# DIN outputs: port -> (driver, TX pin). "pio": a PIO UART transmitter that reports each
# byte it has sent, so the firmware keeps at most one byte queued in hardware and a clock
# byte never waits behind a full FIFO. "uart": the hardware UART TX of the same
# instance as the input on that UART (paced by ticks only; see docs/ARCHITECTURE.md
# "Merge and timing rules").
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
