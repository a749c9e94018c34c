"""Switchyard power-up settings: USB MIDI port names and who may write CIRCUITPY.

CircuitPython runs this once at power-up, before USB starts.

- The USB MIDI ports are named "Switchyard" (instead of "CircuitPython").
- A second USB serial channel, usb_cdc.data, beside the console: the live MIDI monitor
  (docs/MONITOR.md; tools/monitor.py and the editor's Monitor read it). The box streams on
  it only while a program on the computer has it open.
- By default the computer can write CIRCUITPY (copy new firmware or a presets.json onto it)
  and the firmware sees it read-only.
- Hold P4 while plugging the box in: the firmware can write CIRCUITPY and the computer sees
  it read-only. Only needed if the firmware saves presets itself. Plug in again without P4
  to go back.

A broken boot.py must never lock anyone out: each step runs on its own, an error is printed
(CircuitPython copies it into boot_out.txt) and the defaults stay. If this file itself is
damaged, see docs/INSTALL.md, "Safe mode".
"""

USB_NAME = "Switchyard"
# The front-panel button that hands CIRCUITPY to the firmware; its pin is in the board file.
WRITE_BUTTON = "P4"


def name_usb_midi():
    import usb_midi

    # The stub declares a stray `self`; the C function takes keyword arguments only.
    usb_midi.set_names(  # type: ignore[call-arg]
        streaming_interface_name=USB_NAME,
        audio_control_interface_name=USB_NAME,
        in_jack_name=USB_NAME,
        out_jack_name=USB_NAME,
    )


def enable_monitor_channel():
    import usb_cdc

    usb_cdc.enable(console=True, data=True)


def board_file():
    """boards/<board.board_id>.py, the pins and port map of this board."""
    import board

    try:
        package = __import__("boards." + board.board_id)
    except ImportError as error:
        raise ImportError(
            "no boards/%s.py for this board (%s)" % (board.board_id, error)
        ) from error
    return getattr(package, board.board_id)


def button_pin(board_module, name):
    import board

    for button, pin_name in board_module.BUTTONS:
        if button == name:
            return getattr(board, pin_name)
    raise ValueError("boards/%s.py has no button %s" % (board.board_id, name))


def button_held(pin):
    """True if the button on pin (wired to GND, internal pull-up) is pressed now."""
    import digitalio

    button = digitalio.DigitalInOut(pin)
    try:
        button.switch_to_input(pull=digitalio.Pull.UP)
        return not button.value
    finally:
        # Hand the pin back so nothing is left claimed.
        button.deinit()


def give_firmware_write_access():
    import storage

    # readonly=False: writable by CircuitPython, so the computer sees CIRCUITPY read-only.
    storage.remount("/", readonly=False)


def report(step, error):
    print("Switchyard boot.py: %s failed: %s: %s" % (step, type(error).__name__, error))


def main():
    try:
        name_usb_midi()
    except Exception as error:  # any failure keeps the default names
        report("naming the USB MIDI ports", error)

    try:
        enable_monitor_channel()
    except Exception as error:  # the box works without its monitor
        report("enabling the monitor's serial channel", error)

    try:
        held = button_held(button_pin(board_file(), WRITE_BUTTON))
    except Exception as error:  # unreadable button = not held
        report("reading " + WRITE_BUTTON, error)
        held = False

    if held:
        try:
            give_firmware_write_access()
            print(
                "Switchyard boot.py: %s held: CIRCUITPY is writable by the firmware, "
                "read-only to the computer. Plug in again without %s to undo."
                % (WRITE_BUTTON, WRITE_BUTTON)
            )
        except Exception as error:  # the computer keeps write access
            report("remounting CIRCUITPY for the firmware", error)


main()
