"""Switchyard simulator: the real lib/switchyard firmware on CPython, against doubles of
the CircuitPython modules and a virtual clock.

- sim.clock.VirtualClock: microseconds and timed events.
- sim.chip.Chip: one board (pins, MIDI wires, buttons, USB host, NVM); install()/current().
- sim.install: install_doubles(), firmware_time(), load_firmware(chip).
- sim.doubles: board, busio, digitalio, microcontroller, supervisor, usb_midi, rp2pio,
  keypad, micropython, storage, and vtime (the firmware's `time`).
"""
