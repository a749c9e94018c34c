"""Double of `usb_midi`, following shared-module/usb_midi and TinyUSB's midi_device.c.

ports = (PortIn, PortOut) while chip.usb.midi_enabled (else ()).
- PortIn.read(n) / readinto(buf, n) never block: they return what the host has sent so far
  (chip.usb.send), b'' / 0 when nothing is there (tud_midi_stream_read returns 0, which
  the stream layer turns into b'', not None); read() with no size returns all of it.
- PortOut.write(buf) runs TinyUSB's tud_midi_n_stream_write(): bytes are packed into
  4-byte USB-MIDI event packets while the TX FIFO has room for a whole packet, and the
  return value is the number of bytes consumed. A write can therefore be short in the
  middle of a MIDI message; the partial packet stays in TinyUSB's stream state and is
  completed by the next write, so a packet is never split on USB. How much fits: see
  sim.chip.UsbHost. Not connected: 0. Accepted bytes go to chip.usb.received, finished
  packets to chip.usb.packets.
  TinyUSB packs by status byte with no running status: a data byte with no status opens
  a 1-byte packet (CIN 0xF); a realtime byte written in the middle of a channel message
  or inside SysEx becomes a data byte of that packet. F8..FF, F6, F4, F5, F7 alone use
  CIN 0x5.
- set_names(), enable(), disable() only while chip.boot_phase (boot.py), else
  RuntimeError("Cannot change USB devices now"); names must be 1..126 characters.
Left out: cables other than 0, the 64-byte endpoint transfer granularity with a slow host
(its FIFO and endpoint are one 192-byte queue).
"""

from __future__ import annotations

from sim.chip import Chip, current

CIN_SYSEX_START = 0x4
CIN_SYSEX_END_1BYTE = 0x5
CIN_SYSCOM_2BYTE = 0x2
CIN_SYSCOM_3BYTE = 0x3


class PortIn:
    """Receives MIDI from the computer."""

    def __init__(self, chip: Chip) -> None:
        self._chip = chip

    def _take(self, n: int) -> bytes:
        rx = self._chip.usb.rx
        data = bytes(rx[:n])
        del rx[:n]
        return data

    def read(self, nbytes: int | None = None) -> bytes:
        if nbytes is None or nbytes == -1:
            return self._take(len(self._chip.usb.rx))
        return self._take(max(0, int(nbytes)))

    def readinto(self, buf: bytearray | memoryview, nbytes: int | None = None) -> int:
        view = memoryview(buf).cast("B")
        n = len(view) if nbytes is None else min(int(nbytes), len(view))
        data = self._take(n)
        view[: len(data)] = data
        if data:
            self._chip.work("read", bytes(data), self)
        return len(data)


class PortOut:
    """Sends MIDI to the computer."""

    def __init__(self, chip: Chip) -> None:
        self._chip = chip

    def write(self, buf: object) -> int:
        if isinstance(buf, str):  # a str is a buffer on CircuitPython: its UTF-8 bytes go
            buf = buf.encode()
        data = bytes(memoryview(buf).cast("B"))  # type: ignore[arg-type]
        usb = self._chip.usb
        if not usb.connected or not usb.midi_enabled:
            return 0
        self._chip.work("write", data, self)
        usb.drain()
        now = self._chip.clock.now_us
        done = 0
        for byte in data:
            if usb.TX_CAPACITY - usb.tx_queued < 4:
                break
            done += 1
            usb.received.append((now, byte))
            self._pack(byte, now)
        return done

    def _pack(self, data: int, now: int) -> None:
        usb = self._chip.usb
        s = usb.stream
        if usb.stream_index == 0:
            msg = data >> 4
            usb.stream_index = 2
            s[1] = data
            if s[0] & 0xF == CIN_SYSEX_START:
                if data == 0xF7:
                    s[0] = CIN_SYSEX_END_1BYTE
                    usb.stream_total = 2
                else:
                    usb.stream_total = 4
            elif 0x8 <= msg <= 0xB or msg == 0xE:
                s[0] = msg
                usb.stream_total = 4
            elif msg in (0xC, 0xD):
                s[0] = msg
                usb.stream_total = 3
            elif msg == 0xF:
                if data == 0xF0:
                    s[0], usb.stream_total = CIN_SYSEX_START, 4
                elif data in (0xF1, 0xF3):
                    s[0], usb.stream_total = CIN_SYSCOM_2BYTE, 3
                elif data == 0xF2:
                    s[0], usb.stream_total = CIN_SYSCOM_3BYTE, 4
                else:
                    s[0], usb.stream_total = CIN_SYSEX_END_1BYTE, 2
            else:
                s[0], s[2], s[3] = 0xF, 0, 0
                usb.stream_total = 2
        else:
            s[usb.stream_index] = data
            usb.stream_index += 1
            if s[0] & 0xF == CIN_SYSEX_START and data == 0xF7:
                s[0] = CIN_SYSEX_START + (usb.stream_index - 1)
                usb.stream_total = usb.stream_index
        if usb.stream_index == usb.stream_total:
            for i in range(usb.stream_total, 4):
                s[i] = 0
            usb.packets.append((now, bytes(s)))
            usb.tx_queued += 4
            usb.stream_index = usb.stream_total = 0


def _check_boot() -> Chip:
    chip = current()
    if not chip.boot_phase:
        raise RuntimeError("Cannot change USB devices now")
    return chip


def set_names(
    *,
    streaming_interface_name: str | None = None,
    audio_control_interface_name: str | None = None,
    in_jack_name: str | None = None,
    out_jack_name: str | None = None,
) -> None:
    chip = _check_boot()
    given = {
        "streaming_interface_name": streaming_interface_name,
        "audio_control_interface_name": audio_control_interface_name,
        "in_jack_name": in_jack_name,
        "out_jack_name": out_jack_name,
    }
    for key, value in given.items():
        if value is None:
            continue
        if not 1 <= len(value) <= 126:
            raise ValueError(f"{key} length must be 1-126")
        chip.usb.names[key] = str(value)


def enable() -> None:
    _check_boot().usb.midi_enabled = True


def disable() -> None:
    _check_boot().usb.midi_enabled = False


def __getattr__(name: str) -> object:
    if name == "ports":
        chip = current()
        if not chip.usb.midi_enabled:
            return ()
        ports = chip._cache.get("usb_midi.ports")
        if ports is None:
            ports = chip._cache["usb_midi.ports"] = (PortIn(chip), PortOut(chip))
        return ports
    raise AttributeError(f"module 'usb_midi' has no attribute {name!r}")
