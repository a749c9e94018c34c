"""Switchyard: a MIDI merge/thru/router for the Raspberry Pi Pico."""

__version__ = "0.1.0"
