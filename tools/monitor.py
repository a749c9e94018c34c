"""See what passes through the box: its live MIDI monitor (docs/MONITOR.md).

    python tools/monitor.py [--port DEVICE] [--ports A,3] [--types note_on,control_change]
    python tools/monitor.py --replay FILE [--jsonl] [--ports ...] [--types ...]
    python tools/monitor.py --list

Live: finds the box's data port (usb_cdc.data, the second serial port it has), opens it
(the box streams only while it is open) and prints one decoded message a line, time, port
and mido's name for it, and once a second a summary of rates and counters. --replay decodes
a saved stream (`python -m sim run ... --monitor FILE`); with --jsonl it prints one JSON
object a message: {"t_us", "dir", "port", "bytes"}, as the simulator's logs carry them.
A box that is not there, unplugged or busy in another program gets one line and exit 1.
"""

from __future__ import annotations

import argparse
import json
import struct
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

INPUTS = ("A", "B", "USB")
OUTPUTS = ("1", "2", "3", "4", "5", "6", "USB")
TAG_PAD = 0x00
TAG_IN = 0x40
TAG_OUT = 0x50
TAG_STATS = 0x60
TAG_GAP = 0x61
TAG_HELLO = 0x62
TAG_RT = 0x63
MAGIC = b"SWM1"
UNKNOWN = 0xFFFFFFFF
HEADER = 4
ADAFRUIT_VID = 0x239A

# Data bytes after each status (the MIDI 1.0 table; sim.oracle uses mido's, the same).
_CHANNEL_LENGTH = {0x80: 2, 0x90: 2, 0xA0: 2, 0xB0: 2, 0xC0: 1, 0xD0: 1, 0xE0: 2}
_COMMON_LENGTH = {0xF1: 1, 0xF2: 2, 0xF3: 1, 0xF6: 0}
TYPES = (
    "note_off", "note_on", "polytouch", "control_change", "program_change", "aftertouch",
    "pitchwheel", "sysex", "quarter_frame", "songpos", "song_select", "tune_request",
    "clock", "start", "continue", "stop", "active_sensing", "reset",
)


# ---- whole messages from a port's byte stream --------------------------------------------


class MessageParser:
    """One port's bytes to whole messages, by the box's stream rules (docs/ARCHITECTURE.md
    1-7): a realtime byte is a message of its own wherever it comes; running status is
    expanded; SysEx is F0 .. F7 whole (ended by another status, it is given as it came);
    stray data, a stray F7, F4, F5, F9, FD and incomplete messages are not messages."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.status = 0  # of the message being read (0: none)
        self.running = 0
        self.data: list[int] = []
        self.need = 0
        self.sysex: list[int] | None = None

    def feed(self, data: Iterable[int]) -> Iterator[list[int]]:
        for byte in data:
            if byte >= 0xF8:
                if byte not in (0xF9, 0xFD):
                    yield [byte]
                continue
            if byte >= 0x80:
                if self.sysex is not None:
                    msg = self.sysex
                    self.sysex = None
                    if byte == 0xF7:
                        msg.append(0xF7)
                        yield msg
                        continue
                    yield msg  # ended by another status: as it came
                self.status = 0
                if byte == 0xF0:
                    self.sysex = [0xF0]
                    self.running = 0
                elif byte >= 0xF0:
                    self.running = 0
                    need = _COMMON_LENGTH.get(byte)
                    if need is None:
                        continue  # F4, F5, a stray F7: not messages
                    if need == 0:
                        yield [byte]
                    else:
                        self.status, self.need, self.data = byte, need, []
                else:
                    self.running = byte
                    self.status, self.need, self.data = byte, _CHANNEL_LENGTH[byte & 0xF0], []
                continue
            if self.sysex is not None:
                self.sysex.append(byte)
                continue
            if not self.status:
                if not self.running:
                    continue  # stray data
                self.status, self.need, self.data = (
                    self.running, _CHANNEL_LENGTH[self.running & 0xF0], [])
            self.data.append(byte)
            if len(self.data) == self.need:
                yield [self.status] + self.data
                self.status = 0


def type_name(msg: list[int]) -> str:
    """mido's name for a message's type."""
    status = msg[0]
    if status < 0xF0:
        return ("note_off", "note_on", "polytouch", "control_change", "program_change",
                "aftertouch", "pitchwheel")[(status >> 4) - 8]
    return {0xF0: "sysex", 0xF1: "quarter_frame", 0xF2: "songpos", 0xF3: "song_select",
            0xF6: "tune_request", 0xF8: "clock", 0xFA: "start", 0xFB: "continue",
            0xFC: "stop", 0xFE: "active_sensing", 0xFF: "reset"}.get(status, "unknown")


def describe(msg: list[int]) -> str:
    """mido's text for a message (its bytes in hex when mido cannot read it)."""
    import mido

    try:
        return str(mido.Message.from_bytes(msg))
    except (ValueError, TypeError):
        return "%s %s" % (type_name(msg), " ".join("%02X" % b for b in msg))


# ---- the record stream ------------------------------------------------------------------


class Event:
    """One thing the stream said: kind "message" (dir, port, t_us, bytes), "stats",
    "gap" (records the box gave up: `given_up`) or "hello"."""

    def __init__(self, kind: str, t_us: int, **fields: object) -> None:
        self.kind = kind
        self.t_us = t_us
        self.__dict__.update(fields)

    def as_json(self) -> dict:
        return {k: v for k, v in self.__dict__.items()}


class Decoder:
    """Bytes as read from usb_cdc.data, in any pieces, to Events (docs/MONITOR.md).

    Waits for a hello record (the box sends one when the channel opens), then reads
    records by their lengths. Times: t_us since the hello, from the box's ticks_ms (1 ms).
    A gap record resets every port's parser (what came between is missing)."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.synced = False
        self.origin = 0  # the hello's ticks_ms
        self.now_ms = 0  # unwrapped ms since the hello
        self.parsers = {("in", p): MessageParser() for p in INPUTS}
        self.parsers.update({("out", p): MessageParser() for p in OUTPUTS})
        self.given_up = 0
        self.skipped = 0  # bytes before the first hello
        self.bad = 0  # records of an unknown tag (the stream is then out of step)

    def _time(self, t16: int) -> int:
        """A record's 16-bit ms time, unwrapped against the latest seen. A DIN output's
        record may come after later ones (the box makes it once the output has drained), so
        a step back of under half the range is a record a little older, not a wrap."""
        step = (t16 - self.now_ms) & 0xFFFF
        if step >= 0x8000:
            return (self.now_ms - (0x10000 - step)) * 1000
        self.now_ms += step
        return self.now_ms * 1000

    def _sync(self) -> bool:
        at = self.buf.find(bytes([TAG_HELLO, 8]))
        while at >= 0:
            if self.buf[at + HEADER:at + HEADER + 4] == MAGIC or len(self.buf) < at + 8:
                break
            at = self.buf.find(bytes([TAG_HELLO, 8]), at + 1)
        if at < 0:
            keep = 1 if self.buf.endswith(bytes([TAG_HELLO])) else 0
            self.skipped += len(self.buf) - keep
            del self.buf[:len(self.buf) - keep]
            return False
        self.skipped += at
        del self.buf[:at]
        return True

    def feed(self, data: bytes) -> Iterator[Event]:
        self.buf.extend(data)
        while True:
            if not self.synced and not self._sync():
                return
            buf = self.buf
            if not buf:
                return
            tag = buf[0]
            if tag == TAG_PAD:
                n = 0
                while n < len(buf) and buf[n] == TAG_PAD:
                    n += 1
                del buf[:n]
                continue
            if len(buf) < HEADER or len(buf) < HEADER + buf[1]:
                return
            length = buf[1]
            t16 = buf[2] | buf[3] << 8
            payload = bytes(buf[HEADER:HEADER + length])
            del buf[:HEADER + length]
            yield from self._record(tag, t16, payload)

    def _record(self, tag: int, t16: int, payload: bytes) -> Iterator[Event]:
        if tag == TAG_HELLO and payload[:4] == MAGIC:
            self.synced = True
            self.origin = struct.unpack_from("<I", payload, 4)[0]
            self.now_ms = 0
            for parser in self.parsers.values():
                parser.reset()
            yield Event("hello", 0, ticks_ms=self.origin)
            return
        if not self.synced:
            return
        t16 = (t16 - self.origin) & 0xFFFF
        if TAG_IN <= tag < TAG_IN + len(INPUTS) or TAG_OUT <= tag < TAG_OUT + len(OUTPUTS):
            t_us = self._time(t16)
            key = ("in", INPUTS[tag - TAG_IN]) if tag < TAG_OUT else ("out", OUTPUTS[tag - TAG_OUT])
            for msg in self.parsers[key].feed(payload):
                yield Event("message", t_us, dir=key[0], port=key[1], bytes=msg)
        elif tag == TAG_RT and len(payload) == 2:
            t_us = self._time(t16)
            for k, port in enumerate(OUTPUTS):
                if payload[1] >> k & 1:
                    for msg in self.parsers[("out", port)].feed(payload[:1]):
                        yield Event("message", t_us, dir="out", port=port, bytes=msg)
        elif tag == TAG_GAP:
            t_us = self._time(t16)
            n = struct.unpack_from("<I", payload)[0]
            self.given_up += n
            for parser in self.parsers.values():
                parser.reset()
            yield Event("gap", t_us, given_up=n)
        elif tag == TAG_STATS:
            t_us = self._time(t16)
            yield Event("stats", t_us, **_stats(payload))
        else:
            self.bad += 1
            self.synced = False  # out of step: look for the next hello


def _stats(p: bytes) -> dict:
    preset = p[4]
    errors, overflow, given_up = struct.unpack_from("<III", p, 5)
    count = p[17]
    outputs = {}
    for k in range(count):
        drops, sysex, coalesced = struct.unpack_from("<III", p, 18 + 12 * k)
        outputs[OUTPUTS[k] if k < len(OUTPUTS) else str(k)] = {
            "drops": drops, "sysex_drops": sysex, "coalesced": coalesced}
    return {
        "preset": preset + 1,
        "parse_errors": errors,
        "rx_overflow": None if overflow == UNKNOWN else overflow,
        "monitor_given_up": given_up,
        "outputs": outputs,
    }


def decode(data: bytes) -> tuple[list[Event], Decoder]:
    decoder = Decoder()
    return list(decoder.feed(data)), decoder


def message_json(event: Event) -> dict:
    return {"t_us": event.t_us, "dir": event.dir, "port": event.port,
            "bytes": list(event.bytes)}


# ---- filters, lines, the summary -------------------------------------------------------


class Filter:
    """--ports A,3,USB (in and out of that name; "in:USB" / "out:USB" for one side) and
    --types note_on,clock (mido's type names)."""

    def __init__(self, ports: str | None, types: str | None) -> None:
        self.ports = None
        if ports:
            self.ports = set()
            for item in ports.split(","):
                item = item.strip().upper()
                if not item:
                    continue
                side, _, name = item.rpartition(":")
                names = INPUTS + OUTPUTS
                if name not in names:
                    raise ValueError("--ports: unknown port %r; ports are A, B, USB, 1..6" % name)
                sides = ("in", "out") if not side else (side.lower(),)
                if any(s not in ("in", "out") for s in sides):
                    raise ValueError("--ports: %r: the side is in: or out:" % item)
                self.ports.update((s, name) for s in sides)
        self.types = None
        if types:
            self.types = {t.strip().lower() for t in types.split(",") if t.strip()}
            unknown = self.types - set(TYPES)
            if unknown:
                raise ValueError("--types: unknown %s; types are %s"
                                 % (", ".join(sorted(unknown)), ", ".join(TYPES)))

    def __call__(self, event: Event) -> bool:
        if self.ports is not None and (event.dir, event.port) not in self.ports:
            return False
        return self.types is None or type_name(event.bytes) in self.types


def message_line(event: Event) -> str:
    where = ("in  " if event.dir == "in" else "out ") + event.port
    return "%10.3f  %-7s %s" % (event.t_us / 1e6, where, describe(event.bytes))


class Summary:
    """Rates per port since the last summary, and the box's counters."""

    def __init__(self) -> None:
        self.counts: Counter = Counter()
        self.last_t = 0

    def add(self, event: Event) -> None:
        self.counts[(event.dir, event.port)] += 1

    def line(self, stats: Event, given_up: int) -> str:
        seconds = max(1e-3, (stats.t_us - self.last_t) / 1e6)
        self.last_t = stats.t_us
        ins = " ".join("%s %d" % (p, self.counts[("in", p)] / seconds) for p in INPUTS)
        outs = " ".join("%s %d" % (p, self.counts[("out", p)] / seconds) for p in OUTPUTS)
        self.counts.clear()
        full = ", ".join(
            "out %s %d (%d SysEx) + %d coalesced" % (name, o["drops"], o["sysex_drops"],
                                                     o["coalesced"])
            for name, o in stats.outputs.items() if o["drops"] or o["coalesced"])
        overflow = "n/a" if stats.rx_overflow is None else str(stats.rx_overflow)
        return ("%10.3f  -- preset %d | msgs/s in %s | out %s | parse errors %d | RX overflow %s"
                " | given up: %s | monitor records given up %d"
                % (stats.t_us / 1e6, stats.preset, ins, outs, stats.parse_errors, overflow,
                   full or "nothing", given_up))


def print_events(events: Iterable[Event], keep: Filter, out, as_jsonl: bool,
                 decoder: Decoder, summary: Summary) -> None:
    for event in events:
        if event.kind == "message":
            summary.add(event)
            if keep(event):
                out.write((json.dumps(message_json(event)) if as_jsonl
                           else message_line(event)) + "\n")
        elif event.kind == "gap":
            # given up records are reported, never silently missing
            line = ("%10.3f  -- the box gave up %d monitor records (the computer read too"
                    " slowly); messages are missing here" % (event.t_us / 1e6, event.given_up))
            (sys.stderr if as_jsonl else out).write(line + "\n")
        elif event.kind == "stats" and not as_jsonl:
            out.write(summary.line(event, decoder.given_up) + "\n")
        elif event.kind == "hello" and not as_jsonl:
            out.write("%10.3f  -- monitor opened\n" % 0)


# ---- the box's port ----------------------------------------------------------------------


class MonitorError(Exception):
    """One line for the user: the box is not there, unplugged or busy."""


def find_port() -> str:
    """The box's usb_cdc.data port: CircuitPython names its interface "CDC2" (the console
    is the first); on a system that shows no interface names, the second serial port of
    an Adafruit (CircuitPython) device."""
    from serial.tools import list_ports

    ports = list(list_ports.comports())
    for p in ports:
        if p.interface and "CDC2" in p.interface:
            return p.device
    boxes: dict[str, list] = {}
    for p in ports:
        if p.vid == ADAFRUIT_VID:
            boxes.setdefault(p.serial_number or "", []).append(p)
    for group in boxes.values():
        if len(group) >= 2:
            return sorted(group, key=lambda p: p.location or p.device)[-1].device
    if any(len(g) == 1 for g in boxes.values()):
        raise MonitorError(
            "the box shows only its console serial port: copy the new boot.py onto CIRCUITPY "
            "(it enables the monitor's port) and plug the box in again")
    raise MonitorError("no Switchyard box found (no CircuitPython serial port): plug it in")


def open_port(device: str):
    import serial

    try:
        return serial.Serial(device, timeout=0.1, exclusive=True)
    except serial.SerialException as error:
        text = str(error)
        if "busy" in text.lower() or "lock" in text.lower() or "denied" in text.lower():
            raise MonitorError("%s is busy: another program has the box's monitor open"
                               " (close it, e.g. the editor's Monitor)" % device) from None
        if "No such file" in text or "could not open" in text.lower():
            raise MonitorError("%s: no such port (is the box plugged in?)" % device) from None
        raise MonitorError("%s: %s" % (device, text)) from None


def live(device: str | None, keep: Filter, out, as_jsonl: bool) -> int:
    import serial

    device = device or find_port()
    port = open_port(device)
    decoder = Decoder()
    summary = Summary()
    if not as_jsonl:
        out.write("monitoring %s (the box begins within a second; Ctrl-C ends)\n" % device)
    try:
        while True:
            try:
                data = port.read(4096)
            except (serial.SerialException, OSError):
                raise MonitorError("%s: the box was unplugged" % device) from None
            print_events(decoder.feed(data), keep, out, as_jsonl, decoder, summary)
            out.flush()
    except KeyboardInterrupt:
        return 0
    finally:
        port.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tools/monitor.py", description=__doc__.split("\n")[0])
    parser.add_argument("--port", help="the box's data port (found by itself when left out)")
    parser.add_argument("--ports", help="only these ports: A,B,USB,1..6 (in:USB, out:USB)")
    parser.add_argument("--types", help="only these message types (mido names): "
                        + ",".join(TYPES))
    parser.add_argument("--replay", metavar="FILE", help="decode a saved stream")
    parser.add_argument("--jsonl", action="store_true",
                        help='one {"t_us", "dir", "port", "bytes"} object a message')
    parser.add_argument("--list", action="store_true", help="list serial ports and exit")
    args = parser.parse_args(argv)
    try:
        keep = Filter(args.ports, args.types)
    except ValueError as error:
        print("monitor: %s" % error, file=sys.stderr)
        return 2
    out = sys.stdout
    try:
        if args.list:
            from serial.tools import list_ports

            for p in list_ports.comports():
                out.write("%s  %s  %s\n" % (p.device, p.description, p.interface or ""))
            return 0
        if args.replay:
            try:
                data = Path(args.replay).read_bytes()
            except OSError as error:
                raise MonitorError("%s: %s" % (args.replay, error.strerror)) from None
            decoder = Decoder()
            print_events(decoder.feed(data), keep, out, args.jsonl, decoder, Summary())
            if not decoder.synced and not decoder.given_up and data:
                raise MonitorError("%s: no monitor stream in it (no hello record)" % args.replay)
            return 0
        return live(args.port, keep, out, args.jsonl)
    except MonitorError as error:
        print("monitor: %s" % error, file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
