"""MIDI sources for the simulator: files into timed byte events.

- .mid  Standard MIDI File: all tracks merged, played in real time at the file's tempo map
        (mido does the tempo arithmetic); meta events are not MIDI bytes and are skipped.
- .syx  raw SysEx bytes, sent at wire rate from t = 0.
- .jsonl one event a line: {"t_us": int, "bytes": [int, ...]}.
Every problem raises SourceError with the file and the place, for a one-line CLI error.
"""

from __future__ import annotations

import json
from pathlib import Path

import mido

Event = tuple[int, bytes]


class SourceError(Exception):
    pass


def load_events(path: str | Path) -> list[Event]:
    p = Path(path)
    if not p.is_file():
        raise SourceError("%s: no such file" % p)
    suffix = p.suffix.lower()
    if suffix == ".mid" or suffix == ".midi":
        return _load_mid(p)
    if suffix == ".syx":
        return _load_syx(p)
    if suffix == ".jsonl":
        return _load_jsonl(p)
    raise SourceError("%s: unknown input format %r; use .mid, .syx or .jsonl" % (p, suffix))


def _load_mid(p: Path) -> list[Event]:
    try:
        mid = mido.MidiFile(str(p))
    except (OSError, EOFError, ValueError, KeyError, IndexError) as e:
        raise SourceError("%s: not a readable Standard MIDI File (%s)" % (p, e)) from None
    events: list[Event] = []
    t = 0.0
    try:
        for msg in mid:
            t += msg.time
            if msg.is_meta:
                continue
            data = bytes(msg.bytes())
            t_us = int(round(t * 1e6))
            if events and events[-1][0] == t_us:
                events[-1] = (t_us, events[-1][1] + data)
            else:
                events.append((t_us, data))
    except (ValueError, KeyError, IndexError) as e:
        raise SourceError("%s: malformed Standard MIDI File (%s)" % (p, e)) from None
    return events


def _load_syx(p: Path) -> list[Event]:
    data = p.read_bytes()
    if not data or data[0] != 0xF0:
        raise SourceError("%s: a .syx file must start with F0 (got %s)" % (
            p, "an empty file" if not data else "%02X" % data[0]))
    return [(0, data)]


def _load_jsonl(p: Path) -> list[Event]:
    events: list[Event] = []
    last = 0
    for lineno, line in enumerate(p.read_text().splitlines(), 1):
        if not line.strip():
            continue
        where = "%s:%d" % (p, lineno)
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise SourceError("%s: not JSON (%s)" % (where, e.msg)) from None
        if not isinstance(obj, dict) or "t_us" not in obj or "bytes" not in obj:
            raise SourceError('%s: expected {"t_us": int, "bytes": [int, ...]}' % where)
        t_us, data = obj["t_us"], obj["bytes"]
        if not isinstance(t_us, int) or isinstance(t_us, bool) or t_us < 0:
            raise SourceError("%s: t_us must be a non-negative integer" % where)
        if t_us < last:
            raise SourceError("%s: t_us %d goes back in time (previous %d)" % (where, t_us, last))
        if not isinstance(data, list) or not all(
            isinstance(b, int) and not isinstance(b, bool) and 0 <= b <= 255 for b in data
        ):
            raise SourceError("%s: bytes must be a list of integers 0..255" % where)
        last = t_us
        events.append((t_us, bytes(data)))
    return events


def write_jsonl(path: str | Path, events: list[Event]) -> None:
    with Path(path).open("w") as f:
        for t_us, data in events:
            f.write(json.dumps({"t_us": t_us, "bytes": list(data)}) + "\n")
