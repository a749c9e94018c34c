"""The checks of the clock fields of presets.json: `clock_divide` on a route, routes from
the box's own clock `CLK`, the top-level `tempo` (docs/PRESETS.md).

Called by switchyard.presetcheck.Checker with itself as `checker`, so the messages have the
same shape (file, JSON path, fix):

    presets.json: presets[0].routes[2].clock_divide: 2 on a route that carries no clock; ...
    presets.json: tempo.bpm: 310 is outside 20.0..300.0; ...
"""

from switchyard import midi
from switchyard.jsonscan import json_kind
from switchyard.presets import ALL_CHANNELS, CLOCK_INPUT

try:
    from typing import Any
except ImportError:  # CircuitPython: annotations only
    pass

ROOT_KEYS = ("tempo",)
ROUTE_KEYS = ("clock_divide",)
_TEMPO_KEYS = ("bpm", "clock_when_stopped")
MAX_DIVIDE = 96  # four bars of 4/4 at 24 ppqn
MIN_BPM10 = 200
MAX_BPM10 = 3000
DEFAULT_BPM10 = 1200
_CLOCK_BIT = 1 << midi.T_CLOCK
CLK_TYPES = (1 << midi.T_CLOCK) | (1 << midi.T_TRANSPORT)  # what CLK sends
# keys a route from CLK may not have: CLK's messages have no channel and no notes
_NOT_FOR_CLK = ("channels", "to_channel", "follow", "keys", "transpose", "velocity", "cc_map")


def tempo(checker: "Any", value: "Any", config: "Any") -> None:
    """"tempo": {"bpm": 120, "clock_when_stopped": true} into config.tempo_bpm10 and
    config.clock_when_stopped."""
    if not checker.expect(value, "tempo", "object", '{"bpm": 120}'):
        return
    checker.keys(value, "tempo", _TEMPO_KEYS, ("bpm",), {"bpm": "120 (20.0..300.0)"})
    if "bpm" in value:
        bpm10 = _bpm10(checker, value["bpm"], "tempo.bpm")
        if bpm10:
            config.tempo_bpm10 = bpm10
    if "clock_when_stopped" in value:
        flag = value["clock_when_stopped"]
        if isinstance(flag, bool):
            config.clock_when_stopped = flag
        else:
            checker.error(
                "tempo.clock_when_stopped",
                "must be true or false (without quotes), not " + json_kind(flag),
            )


def _bpm10(checker: "Any", bpm: "Any", path: str) -> int:
    """A tempo 20.0..300.0 with one decimal at most, in tenths of a BPM; 0 and an error."""
    if isinstance(bpm, bool) or not isinstance(bpm, (int, float)):
        if isinstance(bpm, str):
            checker.error(path, "must be a number: write %s without quotes" % bpm.strip())
        else:
            checker.error(
                path, "must be a number of beats a minute like 120, not " + json_kind(bpm))
        return 0
    tenths = round(bpm * 10)
    if abs(bpm * 10 - tenths) > 0.01:  # CircuitPython floats: ~6 digits
        checker.error(path, "%s has more than one decimal; write it like %.1f" % (bpm, bpm))
        return 0
    if tenths < MIN_BPM10 or tenths > MAX_BPM10:
        checker.error(path, "%s is outside 20.0..300.0 beats a minute; choose a tempo in that "
                            "range" % bpm)
        return 0
    return int(tenths)


def route_fields(checker: "Any", route: dict, path: str, source: "Any", types: int) -> int:
    """The clock fields of one route: its clock_divide (1 when none), after the errors of a
    route from CLK with fields CLK has no use for."""
    if source == CLOCK_INPUT:
        for key in _NOT_FOR_CLK:
            if key in route:
                checker.error(
                    path + "." + key,
                    'a route from "CLK" carries only clock and transport, which have no '
                    'channel or notes; remove "%s"' % key,
                )
        names = route.get("types")
        if isinstance(names, list):
            for i, name in enumerate(names):
                if isinstance(name, str) and name in midi.TYPE_NAMES and not (
                        CLK_TYPES & (1 << midi.TYPE_NAMES.index(name))):
                    checker.error(
                        "%s.types[%d]" % (path, i),
                        '"CLK" sends only "clock" and "transport"; remove "%s" or route '
                        "it from an input" % name,
                    )
    if "clock_divide" not in route:
        return 1
    value = route["clock_divide"]
    dpath = path + ".clock_divide"
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.strip().isdigit():
            checker.error(dpath, "must be a number: write %s without quotes" % value.strip())
        else:
            checker.error(dpath, "must be a whole number 1..%d like 2 (half time), not %s"
                          % (MAX_DIVIDE, json_kind(value)))
        return 1
    if value < 1 or value > MAX_DIVIDE:
        checker.error(dpath, "%d is outside 1..%d; 2 is half time, 24 one clock a quarter "
                             "note, 96 one a bar" % (value, MAX_DIVIDE))
        return 1
    if not types & _CLOCK_BIT or "channels" in route:
        checker.error(
            dpath,
            '%d on a route that carries no clock; add "clock" to "types" (and leave '
            '"channels" out: clock has no channel) or remove "clock_divide"' % value,
        )
        return 1
    return value


def warnings(checker: "Any", placed: list, path: str) -> None:
    """Two clocks on one wire: CLK's clock and an input's clock to the same output."""
    own: dict = {}  # output -> (index, written route) of the first CLK route with clock there
    inputs: dict = {}  # output -> input name of the first input route with clock there
    for i, written, r in placed:
        if not r.types & _CLOCK_BIT or r.channels != ALL_CHANNELS:
            continue
        for out in r.outputs:
            if r.source == CLOCK_INPUT:
                own.setdefault(out, (i, written))
            else:
                inputs.setdefault(out, r.source)
    for out in sorted(own):
        if out in inputs:
            i, written = own[out]
            checker.warn(
                "%s[%d].to[%d]" % (path, i, written["to"].index(out)),
                "output %s gets clock from CLK and from input %s: two clocks on one wire "
                'confuse the device there; leave "clock" out of one of the routes'
                % (out, inputs[out]),
            )


