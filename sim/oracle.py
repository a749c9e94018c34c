"""The independent model of what a MIDI stream carries and where the box must send it.

Tests and the soak benchmark compare what the firmware puts on its outputs with this, so it
is written from docs/ARCHITECTURE.md (its stream, merge and "When an output is full" rules),
the preset rules of docs/PRESETS.md and mido, not from lib/switchyard:
- valid_messages(): the messages and realtime bytes a stream carries (mido's parse, with
  the documented adjustments where mido departs from the MIDI 1.0 rules we implement);
- RouteOracle: which outputs get which bytes, from a presets document;
- is_merge_matching(): whether an output interleaves what two inputs were routed to it.

RouteOracle takes each whole message an input delivers (valid_messages' reading of it)
and says which outputs get which bytes, by these rules:
- `types` and `channels` filter; a route with `channels` carries channel messages only;
  CC1 and CC33 are "modwheel", every other CC "cc".
- `to_channel` and `follow` move a channel message to another channel; `follow` takes the
  channel of the latest note-on seen on its input among its channels (the lowest of them
  until one comes).
- A note-off goes wherever its note-on went (plain, or moved to a channel by a route,
  whatever the preset is now), plus where note-offs route now without moving; a sustain
  or sostenuto release (CC64 or CC66 < 64) the same for its press. Moved note-offs and
  releases are sent before the plain one.
- A Program Change on the control channel selects a preset and is not routed; a preset's
  `send` messages go out when it is selected (and at power-up).
- `keys` [low, high] (input notes, names with C4 = 60) filters note-on, note-off and poly
  pressure; `transpose` moves them (a note leaving 0..127 is not sent, nor its note-off);
  `velocity` maps note-on velocities 1..127 (fixed, or min + ((v - 1) (max - min) + 63)
  // 126), 0 stays 0 and note-offs keep theirs; `cc_map` renames CC numbers (types matched
  on the input number). A note-off goes as its note-on was sent (outputs, channel, note).
- `clock_divide` n (issue 22): of the timing clocks (F8) a route takes, the output gets the
  1st, the (n+1)th, the (2n+1)th, ..., counted from the last Start (FA) or Song Position
  Pointer (F2) the route carried, or from the first clock after the preset became active;
  Start, Continue and Stop pass unchanged. Routes divide independently; an output gets a
  clock once, however many routes bring it.
- `CLK` (issue 22) is a source like an input, for clock and transport: clk_times_us() says
  when its clocks are due (24 a quarter note at the tempo, each from the first clock's
  time, not from the one before), clk_bytes() what it sends: FA when started, FC when
  stopped, F8 from power-up whether started or not, unless "clock_when_stopped" is false
  (then F8 only while started); stopped at power-up.

Each expected item is a frozenset of the byte strings that are right for it: a message
moved by `follow` may take any channel that the followed input's note-ons set while the
two inputs were both sending (their relative order inside a burst is not defined).
"""

from __future__ import annotations

from collections.abc import Iterable

import mido
from mido.messages.specs import SPEC_BY_STATUS

VALID_REALTIME = frozenset((0xF8, 0xFA, 0xFB, 0xFC, 0xFE, 0xFF))


def data_length(status: int) -> int:
    """Data bytes after a status, from mido's own table (0 for SysEx and undefined)."""
    spec = SPEC_BY_STATUS.get(status)
    if spec is None or status == 0xF0:
        return 0
    return spec["length"] - 1


def expand_running_status(data: Iterable[int]) -> bytes:
    """Write every running-status message out in full, so mido can read the stream.

    A data byte with no pending message reuses the last channel status; system messages
    (F0..F7) clear it; realtime bytes (F8..FF) are passed through and change nothing.
    Anything else is copied unchanged (stray data stays stray for mido to drop).
    """
    out = bytearray()
    running = 0
    need = 0
    for b in data:
        if b >= 0xF8:
            out.append(b)
            continue
        if b >= 0x80:
            out.append(b)
            if b < 0xF0:
                running = b
            else:
                running = 0
            need = data_length(b)
            continue
        if need:
            need -= 1
        elif running:
            out.append(running)
            need = data_length(running) - 1
        out.append(b)
    return bytes(out)


def mido_messages(data: bytes) -> list[bytes]:
    """mido's parse of a byte stream, each message as its bytes."""
    parser = mido.Parser()
    parser.feed(data)
    return [bytes(msg.bytes()) for msg in parser]


def valid_messages(stream: bytes) -> tuple[list[bytes], bytes]:
    """The messages and realtime bytes a valid output must carry for this input stream.

    Built from mido's parse of the input, after running-status expansion, with these
    documented adjustments where mido 1.3.3 departs from the MIDI 1.0 rules we implement
    (tests/test_stream.py::test_mido_departs_from_midi_1_0_as_documented pins each one):
    1. mido resets its parser on a realtime byte outside SysEx, losing the pending message;
       MIDI 1.0 makes realtime transparent: realtime bytes are taken out first, and the
       valid ones (not F9/FD) are the realtime list.
    2. mido drops a SysEx ended by a status byte (or by the end of the input); the box
       forwards it and closes it with F7: an F7 is inserted before that status byte (and
       at the end).
    3. mido ignores the undefined F4/F5 and completes the pending message across them;
       MIDI 1.0 makes them cancel it and the running status, which is what mido does for a
       stray F7: F4/F5 are replaced by F7.
    Everything else (a status cutting a message, a stray F7, stray data, system common
    clearing running status) mido does the MIDI 1.0 way.
    """
    realtime = bytes(b for b in stream if b in VALID_REALTIME)
    out = bytearray()
    in_sysex = False
    for b in stream:
        if b >= 0xF8:
            continue
        if b >= 0x80 and in_sysex:
            in_sysex = False
            out.append(0xF7)
            if b == 0xF7:
                continue
        if b in (0xF4, 0xF5):
            b = 0xF7
        elif b == 0xF0:
            in_sysex = True
        out.append(b)
    if in_sysex:
        out.append(0xF7)
    out = bytearray(expand_running_status(bytes(out)))
    return mido_messages(bytes(out)), realtime


# ---- routing ------------------------------------------------------------------------------


TYPES = ("clock", "transport", "notes", "poly_aftertouch", "cc", "modwheel", "program",
         "aftertouch", "pitchbend", "sysex", "common", "active_sensing", "reset")


def type_of(msg: bytes) -> str:
    status = msg[0]
    kind = status & 0xF0
    if status < 0xF0:
        if kind == 0xB0:
            return "modwheel" if msg[1] in (1, 33) else "cc"
        return {0x80: "notes", 0x90: "notes", 0xA0: "poly_aftertouch", 0xC0: "program",
                0xD0: "aftertouch", 0xE0: "pitchbend"}[kind]
    return {0xF0: "sysex", 0xF1: "common", 0xF2: "common", 0xF3: "common", 0xF6: "common",
            0xF8: "clock", 0xFA: "transport", 0xFB: "transport", 0xFC: "transport",
            0xFE: "active_sensing", 0xFF: "reset"}[status]


class _Route:
    def __init__(self, doc: dict, key: tuple[int, int]) -> None:
        self.key = key
        self.source = doc["from"]
        self.outputs = list(dict.fromkeys(doc["to"]))
        self.types = set(doc.get("types", TYPES))
        self.channels = None if "channels" not in doc else {c - 1 for c in doc["channels"]}
        self.to_channel = doc.get("to_channel", 0) - 1
        follow = doc.get("follow")
        self.follow = None
        if follow is not None:
            self.follow = (follow["input"], tuple(sorted(c - 1 for c in follow["channels"])))
        keys = doc.get("keys")
        self.keys = None if keys is None else (note_of(keys[0]), note_of(keys[1]))
        self.transpose = doc.get("transpose", 0)
        velocity = doc.get("velocity")
        self.velocity = None
        if velocity is not None:
            low = velocity.get("fixed", velocity.get("min"))
            self.velocity = (low, velocity.get("fixed", velocity.get("max")))
        self.cc_map = {int(k): v for k, v in doc.get("cc_map", {}).items()}
        # changes the channel, the note or the velocity, or the CC number
        self.moves = (self.to_channel >= 0 or self.follow is not None or keys is not None
                      or self.transpose != 0 or velocity is not None or bool(self.cc_map))
        # a note-on leaves on another channel or as another note: its note-off must follow
        self.moves_notes = self.to_channel >= 0 or self.follow is not None or self.transpose != 0
        self.divide = doc.get("clock_divide", 1)
        self.clocks_taken = 0  # since the last Start / Song Position / preset activation

    def divided_clock_passes(self) -> bool:
        """One more clock taken: is it the 1st, (n+1)th, ... of the count?"""
        passes = self.clocks_taken % self.divide == 0
        self.clocks_taken += 1
        return passes

    def note(self, note: int) -> int | None:
        """The note this route sends for an input note, or None (outside its keys, or
        transposed outside 0..127)."""
        low, high = self.keys if self.keys is not None else (0, 127)
        out = note + self.transpose
        return out if low <= note <= high and 0 <= out <= 127 else None

    def velocity_of(self, v: int) -> int:
        if self.velocity is None or v == 0:
            return v
        low, high = self.velocity
        return low + ((v - 1) * (high - low) + 63) // 126

    def takes(self, msg: bytes) -> bool:
        if type_of(msg) not in self.types:
            return False
        if msg[0] < 0xF0:
            return self.channels is None or (msg[0] & 0x0F) in self.channels
        return self.channels is None


def _channel_msg(kind: int, channel: int, msg: bytes) -> bytes:
    return bytes([kind | channel]) + msg[1:]


_PITCH = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def note_of(value: int | str) -> int:
    """A `keys` end: a number, or a name with C4 = 60, C-1 = 0, G9 = 127, C#4, Db4."""
    if isinstance(value, int):
        return value
    pitch = _PITCH[value[0].upper()]
    rest = value[1:]
    if rest[0] in "#b":
        pitch += 1 if rest[0] == "#" else -1
        rest = rest[1:]
    return 12 * (int(rest) + 1) + pitch


def send_messages(preset: dict) -> list[tuple[list[str], bytes]]:
    """A preset's "send", in order: (outputs, message) of bank select (CC0, CC32), each
    [cc, value], then the Program Change, on each entry's channel."""
    out = []
    for entry in preset.get("send", []):
        ch = entry["channel"] - 1
        to = list(dict.fromkeys(entry["to"]))
        if "bank" in entry:
            out.append((to, bytes([0xB0 | ch, 0, entry["bank"][0]])))
            out.append((to, bytes([0xB0 | ch, 32, entry["bank"][1]])))
        for cc, value in entry.get("cc", []):
            out.append((to, bytes([0xB0 | ch, cc, value])))
        if "program" in entry:
            out.append((to, bytes([0xC0 | ch, entry["program"]])))
    return out


class RouteOracle:
    def __init__(self, doc: dict) -> None:
        control = doc.get("control", {"input": "any", "channel": 16})
        self.control_input = control.get("input", "any")
        self.control_status = 0xC0 | (control.get("channel", 16) - 1)
        self.presets = [
            [_Route(r, (p, k)) for k, r in enumerate(preset["routes"])]
            for p, preset in enumerate(doc["presets"])
        ]
        self.preset = 0
        self.sends = [send_messages(preset) for preset in doc["presets"]]
        self.note_dest: dict[tuple[str, int, int], list[str]] = {}
        self.sustain_dest: dict[tuple, list[str]] = {}
        self.note_moved: dict[tuple, dict[tuple[int, int], frozenset[int]]] = {}
        self.sustain_moved: dict[tuple, dict] = {}
        self.routes_by_key = {r.key: r for routes in self.presets for r in routes}
        self.follow: dict[tuple, set[int]] = {}
        for r in self.routes_by_key.values():
            if r.follow is not None:
                self.follow.setdefault(r.follow, {r.follow[1][0]})

    # ---- bursts: where the two inputs' relative order is not defined ---------------------
    # Inside a burst the followed input's messages are routed first, so a follow channel
    # holds every value it took in the burst when the other input's messages are routed.

    def end_burst(self, last: dict[tuple, int]) -> None:
        """Quiet again: each follow channel is its input's latest note-on's (`last`)."""
        for key in self.follow:
            if key in last:
                self.follow[key] = {last[key]}

    def select(self, index: int, out: dict[str, list[frozenset[bytes]]] | None = None) -> None:
        """Choose preset `index` (none when it has no such preset); its sends go to `out`."""
        if 0 <= index < len(self.presets):
            if index != self.preset:  # became active: its divided clocks count afresh
                for r in self.presets[index]:
                    r.clocks_taken = 0
            self.preset = index
            if out is not None:
                for outputs, msg in self.sends[index]:
                    for o in outputs:
                        out.setdefault(o, []).append(frozenset([msg]))

    # ---- one message ------------------------------------------------------------------

    def route(self, source: str, msg: bytes, out: dict[str, list[frozenset[bytes]]],
              last_follow: dict[tuple, int]) -> None:
        """Append what `msg` from `source` puts on each output to out[output]."""
        routes = [r for r in self.presets[self.preset] if r.source == source]
        status = msg[0]
        kind = status & 0xF0
        if status < 0xF0 and status == self.control_status and self.control_input in (
            "any", source,
        ):
            self.select(msg[1], out)
            return
        if status < 0xF0:
            channel = status & 0x0F
            note_on = kind == 0x90 and msg[2] > 0
            note_off = kind == 0x80 or (kind == 0x90 and msg[2] == 0)
            sustain = kind == 0xB0 and msg[1] in (64, 66)
            pedal = (channel, msg[1]) if sustain else channel
            if note_on:
                for key, chans in self.follow.items():
                    if key[0] == source and channel in key[1]:
                        chans.add(channel)
                        last_follow[key] = channel
        else:
            note_on = note_off = sustain = False
            pedal = None
        if status == 0xF2:
            for r in routes:
                if r.takes(msg):
                    r.clocks_taken = 0  # a Song Position the route carried
        plain = [o for r in routes if r.takes(msg) and (not r.moves or status >= 0xF0)
                 for o in r.outputs]
        plain = list(dict.fromkeys(plain))
        if note_off:
            slot = (status & 0x0F, msg[1])
            for key, held in sorted(self.note_moved.items()):  # the routes' order
                if key[0] == source and slot in held:
                    chans, sent = held.pop(slot)
                    self._put(self.routes_by_key[key[1]].outputs, kind, chans,
                              bytes([msg[0], sent, msg[2]]), out)
            plain = _union(self.note_dest.pop((source,) + slot, []), plain)
        elif sustain:
            if msg[2] >= 64:
                held = self.sustain_dest.setdefault((source, pedal), [])
                held[:] = _union(held, plain)
            else:
                for key, held_ch in sorted(self.sustain_moved.items()):
                    if key[0] == source and pedal in held_ch:
                        r = self.routes_by_key[key[1]]
                        sent = bytes([msg[0], r.cc_map.get(msg[1], msg[1]), msg[2]])
                        self._put(r.outputs, kind, held_ch.pop(pedal), sent, out)
                plain = _union(plain, self.sustain_dest.pop((source, pedal), []))
        elif note_on:
            held = self.note_dest.setdefault((source, status & 0x0F, msg[1]), [])
            held[:] = _union(held, plain)
        for o in plain:
            out.setdefault(o, []).append(frozenset([msg]))
        if status >= 0xF0:
            return
        for r in routes:
            if not r.moves or not r.takes(msg):
                continue
            if r.to_channel >= 0:
                chans = frozenset([r.to_channel])
            elif r.follow is not None:
                chans = frozenset(self.follow[r.follow])
            else:
                chans = frozenset([channel])
            sent = msg
            if kind in (0x80, 0x90, 0xA0):  # keys and transpose: notes and poly pressure
                note = r.note(msg[1])
                if note is None:
                    continue
                sent = bytes([msg[0], note, msg[2]])
            if kind < 0xA0:
                if note_off:
                    continue  # sent above, as its note-on went
                if r.moves_notes:
                    self.note_moved.setdefault((source, r.key), {})[(channel, msg[1])] = (
                        chans, sent[1])
                else:  # same channel and note: its note-off goes with the plain one
                    held = self.note_dest.setdefault((source, channel, msg[1]), [])
                    held[:] = _union(held, r.outputs)
                sent = bytes([sent[0], sent[1], r.velocity_of(sent[2])])
            elif kind == 0xB0:
                if sustain and "cc" in r.types:
                    if msg[2] < 64:
                        continue
                    self.sustain_moved.setdefault((source, r.key), {})[pedal] = chans
                sent = bytes([msg[0], r.cc_map.get(msg[1], msg[1]), msg[2]])
            self._put(r.outputs, kind, chans, sent, out)

    @staticmethod
    def _put(outputs: list[str], kind: int, chans: frozenset[int], msg: bytes,
             out: dict[str, list[frozenset[bytes]]]) -> None:
        item = frozenset(_channel_msg(kind, c, msg) for c in chans)
        for o in outputs:
            out.setdefault(o, []).append(item)

    def realtime(self, source: str, byte: int) -> list[str]:
        """The outputs a realtime byte from `source` (an input or "CLK") goes to."""
        msg = bytes([byte])
        outputs = []
        for r in self.presets[self.preset]:
            if r.source != source or not r.takes(msg):
                continue
            if byte == 0xFA:
                r.clocks_taken = 0  # a Start the route carried
            if byte == 0xF8 and not r.divided_clock_passes():
                continue
            outputs.extend(r.outputs)
        return list(dict.fromkeys(outputs))


def clk_times_us(bpm: float, first_us: float, count: int) -> list[float]:
    """When CLK's clocks k = 0..count-1 are due: 24 a quarter note at `bpm`, each counted
    from the first one's time (not from the one before, so nothing adds up)."""
    period = 60e6 / (bpm * 24)
    return [first_us + k * period for k in range(count)]


def clk_bytes(events: list[tuple[str, int]], clock_when_stopped: bool = True) -> list[int]:
    """What CLK sends for a list of ("clock", k) due times and ("start" | "stop", _)
    requests in time order: FA before the first clock after a start, FC at a stop,
    F8 at every due clock while started, and while stopped when clock_when_stopped."""
    out: list[int] = []
    running = False
    starting = False
    for what, _ in events:
        if what == "start" and not running:
            starting = True
        elif what == "stop" and (running or starting):
            if running:
                out.append(0xFC)
            running = starting = False
        elif what == "clock":
            if starting:
                out.append(0xFA)
                running, starting = True, False
            if running or clock_when_stopped:
                out.append(0xF8)
    return out


def _union(a: list[str], b: list[str]) -> list[str]:
    return list(dict.fromkeys(a + b))


def is_merge_matching(merged: list[bytes], a: list[frozenset[bytes]],
                      b: list[frozenset[bytes]]) -> bool:
    """True if `merged` interleaves `a` and `b` in their own orders, each message one of
    the byte strings its expected item allows."""
    if len(merged) != len(a) + len(b):
        return False
    reach = [True] + [False] * len(b)
    for j in range(1, len(b) + 1):
        reach[j] = reach[j - 1] and merged[j - 1] in b[j - 1]
    for i in range(1, len(a) + 1):
        reach[0] = reach[0] and merged[i - 1] in a[i - 1]
        for j in range(1, len(b) + 1):
            k = i + j - 1
            reach[j] = (reach[j] and merged[k] in a[i - 1]) or (
                reach[j - 1] and merged[k] in b[j - 1]
            )
    return reach[len(b)]


# ---- when an output is full (ARCHITECTURE.md "When an output is full") ----------------------
# What the rules allow an output to give up, written from them:
# - a SysEx arrives whole, byte for byte as its input sent it, or not at all (an input's
#   own cut SysEx, closed with F7, counts as what it sent);
# - a note-off whose note-on went out, and a sustain (CC64) or sostenuto (CC66) release
#   whose press went out, always follow; channel mode messages (CC120..127) always arrive;
# - pitch bend, channel pressure, poly pressure (per note) and every CC except bank select
#   (0, 32), data entry (6, 38), data increment/decrement and (N)RPN numbers (96..101) and
#   switches (64..69) keep their latest value: intermediate values may be skipped;
# - everything else may be given up; what is left keeps each input's order.

KEEP_IN_ORDER_CCS = frozenset((0, 6, 32, 38, *range(64, 70), *range(96, 102)))


def latest_value_key(msg: bytes) -> tuple | None:
    """The controller a continuous value belongs to (status and CC or note number), or
    None for a message that is not one."""
    kind = msg[0] & 0xF0
    if kind in (0xD0, 0xE0):
        return (msg[0],)
    if kind == 0xA0 or (kind == 0xB0 and msg[1] not in KEEP_IN_ORDER_CCS and msg[1] < 120):
        return (msg[0], msg[1])
    return None


def _is_subsequence(short: list, long: list) -> bool:
    it = iter(long)
    return all(any(x == y for y in it) for x in short)


def full_output_violations(sent: dict[str, list[bytes]], got: list[bytes],
                           source_of) -> list[str]:
    """What an output carried (`got`, whole messages, realtime left out) against what each
    input sent to it (`sent[input]`, in order), by the rules above; `source_of(msg)` names
    the input a message on the output came from. Empty when the rules hold."""
    problems = []
    mine: dict[str, list[bytes]] = {name: [] for name in sent}
    for msg in got:
        mine[source_of(msg)].append(msg)
    for name, theirs in sent.items():
        out = mine[name]
        # SysEx: whole or not at all, and in order
        sx_out = [m for m in out if m[0] == 0xF0]
        sx_in = [m for m in theirs if m[0] == 0xF0]
        if not _is_subsequence(sx_out, sx_in):
            problems.append("%s: a SysEx on the output is not one %s sent whole" % (name, name))
        # the latest value of every controller; order within each
        keys = {latest_value_key(m) for m in theirs} - {None}
        for key in keys:
            values_in = [m for m in theirs if latest_value_key(m) == key]
            values_out = [m for m in out if latest_value_key(m) == key]
            if not values_out or values_out[-1] != values_in[-1]:
                problems.append("%s: the last value of %s did not arrive" % (name, key))
            elif not _is_subsequence(values_out, values_in):
                problems.append("%s: the values of %s are out of order" % (name, key))
        # the rest: a subsequence of what the input sent
        rest_out = [m for m in out if latest_value_key(m) is None]
        rest_in = [m for m in theirs if latest_value_key(m) is None]
        if not _is_subsequence(rest_out, rest_in):
            problems.append("%s: the output's messages are not %s's, in its order" % (name, name))
        # mode messages never lost
        modes_in = [m for m in theirs if m[0] & 0xF0 == 0xB0 and m[1] >= 120]
        if [m for m in out if m[0] & 0xF0 == 0xB0 and m[1] >= 120] != modes_in:
            problems.append("%s: a channel mode message was lost" % name)
        # every note-on and pedal press that went out is released after it (when its input
        # released it)
        held: dict[tuple, int] = {}
        for m in out:
            kind = m[0] & 0xF0
            if kind == 0x90 and m[2]:
                held[("note", m[0] & 0x0F, m[1])] = 1
            elif kind == 0x80 or kind == 0x90:
                held.pop(("note", m[0] & 0x0F, m[1]), None)
            elif kind == 0xB0 and m[1] in (64, 66):
                if m[2] >= 64:
                    held[("pedal", m[0] & 0x0F, m[1])] = 1
                else:
                    held.pop(("pedal", m[0] & 0x0F, m[1]), None)
        released_in: dict[tuple, bool] = {}
        for m in theirs:
            kind = m[0] & 0xF0
            if kind == 0x90 and m[2]:
                released_in[("note", m[0] & 0x0F, m[1])] = False
            elif kind == 0x80 or kind == 0x90:
                released_in[("note", m[0] & 0x0F, m[1])] = True
            elif kind == 0xB0 and m[1] in (64, 66):
                released_in[("pedal", m[0] & 0x0F, m[1])] = m[2] < 64
        for key in held:
            if released_in.get(key):
                problems.append("%s: %s held on the output, released on the input" % (name, key))
    return problems
