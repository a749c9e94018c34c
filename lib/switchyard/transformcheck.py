"""The checks of a route's keys, transpose, velocity and cc_map, and of a preset's send
(switchyard/transforms.py), each message with its JSON path and the fix, as
switchyard/presetcheck.py does for the rest of presets.json:

    presets.json: presets[2].routes[0].keys[1]: 130 is not a note: use 0..127 or a name like "C4"

Warnings: keys, transpose or velocity on a route that carries no notes (they change
nothing), and two routes of one preset, one of them with keys or transpose, that can put the
same note on the same output and channel (one note-off would end both).
"""

from switchyard import midi
from switchyard.jsonscan import is_int
from switchyard.presets import ALL_CHANNELS, OUTPUTS
from switchyard.transforms import (
    MAX_SEND_CCS,
    MAX_SENDS,
    MAX_TRANSPOSE,
    Send,
    note_name,
    note_number,
)

try:
    from typing import Any
except ImportError:  # CircuitPython: annotations only
    pass

ROUTE_KEYS = ("keys", "transpose", "velocity", "cc_map")
_VELOCITY_KEYS = ("fixed", "min", "max")
_SEND_KEYS = ("to", "channel", "bank", "cc", "program")
_NOTES_BIT = 1 << midi.T_NOTES




def _in_range(ck: "Any", value: "Any", path: str, low: int, high: int, what: str) -> int | None:
    """A whole number low..high, else None and an error naming what it is."""
    if not is_int(value):
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            ck.error(path, "must be a number: write %s without quotes" % value.strip())
        else:
            ck.error(path, "must be %s, a whole number %d..%d" % (what, low, high))
        return None
    if value < low or value > high:
        ck.error(path, "%d is outside %d..%d; use %s %d..%d" % (value, low, high, what, low, high))
        return None
    return value


def route_fields(ck: "Any", route: dict, path: str) -> tuple:
    """(keys, transpose, velocity, cc_map) of a route as Route takes them."""
    keys = None
    if "keys" in route:
        keys = _keys(ck, route["keys"], path + ".keys")
    transpose = 0
    if "transpose" in route:
        value = _in_range(ck, route["transpose"], path + ".transpose", -MAX_TRANSPOSE,
                          MAX_TRANSPOSE, "semitones")
        transpose = value or 0
    velocity = None
    if "velocity" in route:
        velocity = _velocity(ck, route["velocity"], path + ".velocity")
    cc_map = None
    if "cc_map" in route:
        cc_map = _cc_map(ck, route["cc_map"], path + ".cc_map")
    return keys, transpose, velocity, cc_map


def _keys(ck: "Any", value: "Any", path: str) -> tuple | None:
    if not isinstance(value, list) or len(value) != 2:
        ck.error(path, 'must be a list of two notes, the lowest and the highest, like ["C4", '
                 '"G9"] or [0, 59]')
        return None
    ends = []
    for i, end in enumerate(value):
        note = note_number(end)
        if note is None:
            shown = ('"%s"' % end) if isinstance(end, str) else str(end)
            ck.error("%s[%d]" % (path, i), '%s is not a note: use 0..127 or a name like "C4"'
                     % shown)
            return None
        ends.append(note)
    if ends[0] > ends[1]:
        ck.error(path, "the lowest key (%s, %d) is above the highest (%s, %d); swap them"
                 % (note_name(ends[0]), ends[0], note_name(ends[1]), ends[1]))
        return None
    return (ends[0], ends[1])


def _velocity(ck: "Any", value: "Any", path: str) -> tuple | None:
    example = '{"fixed": 100} or {"min": 30, "max": 110}'
    if not isinstance(value, dict):
        ck.error(path, "must be an object like " + example)
        return None
    ck.keys(value, path, _VELOCITY_KEYS, (), {})
    if "fixed" in value:
        if "min" in value or "max" in value:
            ck.error(path, '"fixed" together with "min"/"max"; keep one: ' + example)
            return None
        v = _in_range(ck, value["fixed"], path + ".fixed", 1, 127, "a velocity")
        return None if v is None else ("fixed", v, v)
    if "min" not in value or "max" not in value:
        ck.error(path, "needs both \"min\" and \"max\" (or \"fixed\"): " + example)
        return None
    low = _in_range(ck, value["min"], path + ".min", 1, 127, "a velocity")
    high = _in_range(ck, value["max"], path + ".max", 1, 127, "a velocity")
    if low is None or high is None:
        return None
    if low > high:
        ck.error(path, '"min" %d is above "max" %d; swap them' % (low, high))
        return None
    return ("range", low, high)


def _cc_map(ck: "Any", value: "Any", path: str) -> dict | None:
    if not isinstance(value, dict):
        ck.error(path, 'must be an object like {"74": 71}: the CC number in (in quotes) to '
                 "the CC number out")
        return None
    result = {}
    for key in sorted(value):
        kpath = '%s["%s"]' % (path, key)
        if not key.isdigit() or int(key) > 127:
            ck.error(kpath, '"%s" is not a CC number: the keys are CC numbers 0..127 in quotes,'
                     ' like "74"' % key)
            continue
        out = _in_range(ck, value[key], kpath, 0, 127, "a CC number")
        if out is not None:
            result[int(key)] = out
    return result if len(result) == len(value) else None


def send(ck: "Any", value: "Any", path: str) -> list:
    """A preset's "send": a list of Send."""
    example = '[{"to": ["3"], "channel": 2, "program": 12}]'
    if not isinstance(value, list):
        ck.error(path, "must be a list like " + example)
        return []
    if len(value) > MAX_SENDS:
        ck.error(path, "%d entries, the box sends at most %d; merge entries for one output"
                 % (len(value), MAX_SENDS))
        return []
    result = []
    for i, entry in enumerate(value):
        epath = "%s[%d]" % (path, i)
        if not isinstance(entry, dict):
            ck.error(epath, 'must be an object like {"to": ["3"], "channel": 2, "program": 12}')
            continue
        parsed = _send_entry(ck, entry, epath)
        if parsed is not None:
            result.append(parsed)
    return result


def _send_entry(ck: "Any", entry: dict, path: str) -> Send | None:
    before = len(ck.errors)
    ck.keys(entry, path, _SEND_KEYS, ("to", "channel"),
            {"to": '["3"] (outputs are 1..6 and USB)', "channel": "2"})
    outputs = []
    if "to" in entry and ck.expect(entry["to"], path + ".to", "list", '["3"]'):
        if not entry["to"]:
            ck.error(path + ".to", 'empty list, so nothing is sent; list outputs like ["3"]')
        for i, out in enumerate(entry["to"]):
            name = ck.name(out, "%s.to[%d]" % (path, i), OUTPUTS, "output",
                           "outputs are 1..6 and USB")
            if name is not None and name not in outputs:
                outputs.append(name)
    channel = 0
    if "channel" in entry:
        channel = ck.channel(entry["channel"], path + ".channel")
    bank = None
    if "bank" in entry:
        value = entry["bank"]
        if not isinstance(value, list) or len(value) != 2:
            ck.error(path + ".bank", "must be [MSB, LSB], two numbers 0..127 (CC0 and CC32), "
                     "like [0, 1]")
        else:
            msb = _in_range(ck, value[0], path + ".bank[0]", 0, 127, "a bank number")
            lsb = _in_range(ck, value[1], path + ".bank[1]", 0, 127, "a bank number")
            if msb is not None and lsb is not None:
                bank = (msb, lsb)
    ccs = []
    if "cc" in entry:
        ccs = _send_ccs(ck, entry["cc"], path + ".cc")
    program = -1
    if "program" in entry:
        value = _in_range(ck, entry["program"], path + ".program", 0, 127,
                          "a program number as sent (the synth's program 1 is 0)")
        program = -1 if value is None else value
    if "bank" not in entry and "cc" not in entry and "program" not in entry:
        ck.error(path, 'sends nothing; add "program", "bank" or "cc"')
    if len(ck.errors) != before:
        return None
    return Send(tuple(outputs), channel, bank, tuple(ccs), program)


def _send_ccs(ck: "Any", value: "Any", path: str) -> list:
    if not isinstance(value, list) or len(value) > MAX_SEND_CCS:
        ck.error(path, "must be a list of at most %d [CC, value] pairs, like [[74, 64]]"
                 % MAX_SEND_CCS)
        return []
    ccs = []
    for i, pair in enumerate(value):
        ppath = "%s[%d]" % (path, i)
        if not isinstance(pair, list) or len(pair) != 2:
            ck.error(ppath, "must be a [CC, value] pair, like [74, 64]")
            continue
        cc = _in_range(ck, pair[0], ppath + "[0]", 0, 127, "a CC number")
        v = _in_range(ck, pair[1], ppath + "[1]", 0, 127, "a value")
        if cc is not None and v is not None:
            ccs.append((cc, v))
    return ccs


def warnings(ck: "Any", placed: list, path: str) -> None:
    """placed: (index in the file, route as written, Route) of one preset's routes."""
    for i, _, r in placed:
        if r.types & _NOTES_BIT:
            continue
        for key in ("keys", "transpose", "velocity"):
            if (key == "keys" and r.keys is not None) or (key == "transpose" and r.transpose) \
                    or (key == "velocity" and r.velocity is not None):
                ck.warn("%s[%d].%s" % (path, i, key), '"%s" changes notes, but this route carries '
                        'no notes; add "notes" to its "types" or drop "%s"' % (key, key))
    noted = [(i, r) for i, _, r in placed if r.types & _NOTES_BIT]
    for a in range(len(noted)):
        for b in range(a + 1, len(noted)):
            (i, r), (j, q) = noted[a], noted[b]
            if not (_splits(r) or _splits(q)):
                continue  # two plain merges of notes are the merge's own business
            shared = _shared_place(r, q)
            if shared is not None:
                out, channel, note = shared
                ck.warn("%s[%d]" % (path, j), "routes %d and %d can both put %s (%d) on output "
                        "%s, channel %d, so one note-off would end both; give them different "
                        "keys, channels or outputs" % (i, j, note_name(note), note, out, channel))


def _splits(route: "Any") -> bool:
    return route.keys is not None or route.transpose != 0


def _out_channels(route: "Any") -> int:
    if route.to_channel:
        return 1 << (route.to_channel - 1)
    if route.follow_input is not None:
        return route.follow_channels
    return route.channels & ALL_CHANNELS


def _out_notes(route: "Any") -> tuple:
    low, high = route.keys if route.keys is not None else (0, 127)
    return max(0, low + route.transpose), min(127, high + route.transpose)


def _shared_place(r: "Any", q: "Any") -> tuple | None:
    """The first (output, channel, note) both routes can send a note on, or None."""
    outs = [o for o in r.outputs if o in q.outputs]
    chans = _out_channels(r) & _out_channels(q)
    low = max(_out_notes(r)[0], _out_notes(q)[0])
    high = min(_out_notes(r)[1], _out_notes(q)[1])
    if not outs or not chans or low > high:
        return None
    channel = 1
    while not chans & (1 << (channel - 1)):
        channel += 1
    return outs[0], channel, low
