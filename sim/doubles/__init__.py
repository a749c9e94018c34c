"""Host doubles of the CircuitPython modules the firmware imports.

sim.install.install_doubles() puts them into sys.modules under the real names (board,
busio, digitalio, microcontroller, supervisor, usb_midi, usb_cdc, rp2pio, keypad, micropython,
storage); vtime becomes `time` only inside sim.install.firmware_time(). Each module's
docstring says what it models of the real RP2040/RP2350 port and what it leaves out.
"""

DEINITED = "Object has been deinitialized and can no longer be used. Create a new object."


def check_pin(obj: object, arg_name: str) -> None:
    """validate_obj_is_pin(): a TypeError naming the argument, as CircuitPython raises."""
    from sim.chip import Pin

    if not isinstance(obj, Pin):
        raise TypeError(f"{arg_name} must be of type Pin, not {type(obj).__name__}")
