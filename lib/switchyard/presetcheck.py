"""The checks of presets.json: every error and warning, with its JSON path and the fix.

switchyard.presets.parse() hands Checker the document json.loads made of a file that
jsonscan passed; check() returns the Config (or None) and leaves the messages in errors and
warnings, each naming the file, the place and the fix:

    presets.json: presets[1].routes[0].to[2]: unknown output "7"; outputs are 1..6 and USB

The rules are listed in switchyard/presets.py and docs/PRESETS.md. Runs once at start-up on
the box, and on a PC in tools/check.py and the editor, so all three print the same lines.
"""

from switchyard import clockcheck, midi, transformcheck
from switchyard.jsonscan import is_int, json_kind
from switchyard.presets import (
    ALL_CHANNELS,
    CLOCK_INPUT,
    CONTROL_INPUTS,
    DEVICE_PORTS,
    INPUTS,
    MAX_NOTE_REWRITES,
    MAX_PRESETS,
    OUTPUTS,
    ROUTE_INPUTS,
    SWITCH_MODES,
    Config,
    Preset,
    Route,
)

try:
    from typing import Any
except ImportError:  # CircuitPython: annotations only
    pass

_CLOCK_BIT = 1 << midi.T_CLOCK
_ROOT_KEYS = ("version", "control", "devices", "presets") + clockcheck.ROOT_KEYS
_CONTROL_KEYS = ("input", "channel", "switch")
_PRESET_KEYS = ("name", "routes", "send")
_ROUTE_KEYS = (
    ("from", "to", "types", "channels", "to_channel", "follow") + transformcheck.ROUTE_KEYS
    + clockcheck.ROUTE_KEYS
)
_FOLLOW_KEYS = ("input", "channels")

# Names people write for a key or type; used for "did you mean" when the name is unknown.
_ALIASES = {
    "in": "from",
    "input": "from",
    "source": "from",
    "src": "from",
    "out": "to",
    "output": "to",
    "outputs": "to",
    "dest": "to",
    "type": "types",
    "channel": "channels",
    "remap": "to_channel",
    "start": "transport",
    "stop": "transport",
    "continue": "transport",
    "note": "notes",
    "note_on": "notes",
    "note_off": "notes",
    "pb": "pitchbend",
    "pitch": "pitchbend",
    "mw": "modwheel",
    "mod": "modwheel",
    "control_change": "cc",
    "pc": "program",
    "program_change": "program",
    "channel_pressure": "aftertouch",
    "pressure": "aftertouch",
    "polyat": "poly_aftertouch",
    "clk": "clock",
}


def _distance(a: str, b: str) -> int:
    """Edit distance with adjacent transpositions (optimal string alignment)."""
    la = len(a)
    lb = len(b)
    prev2: list = []
    prev = list(range(lb + 1))
    for i in range(1, la + 1):
        cur = [i] + [0] * lb
        for j in range(1, lb + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            d = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d = min(d, prev2[j - 2] + 1)
            cur[j] = d
        prev2 = prev
        prev = cur
    return prev[lb]


def _suggest(word: str, choices: tuple) -> str | None:
    """The choice the user most likely meant by word, or None."""
    low = word.lower().strip()
    alias = _ALIASES.get(low)
    if alias is not None and alias in choices:
        return alias
    best = None
    best_d = 99
    for choice in choices:
        d = _distance(low, choice.lower())
        if d < best_d:
            best = choice
            best_d = d
    if best_d == 0 or best_d <= (len(low) - 1) // 3:
        return best
    return None


def _quoted(names: tuple) -> str:
    return ", ".join('"' + n + '"' for n in names)






def _key_path(path: str, key: str) -> str:
    word = len(key) > 0 and (key[0].isalpha() or key[0] == "_")
    for ch in key:
        if not (ch.isalpha() or ch.isdigit() or ch == "_"):
            word = False
    if word:
        return path + "." + key if path else key
    return path + '["' + key + '"]'


def _channel_mask(channels: list) -> int:
    mask = 0
    for ch in channels:
        mask |= 1 << (ch - 1)
    return mask


def _device(devices: dict, port: str) -> str:
    name = devices.get(port)
    return name.strip().lower() if isinstance(name, str) else ""


class Checker:
    """Checks a parsed presets.json; collects every error and warning, with its JSON path."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.errors: list = []
        self.warnings: list = []

    def error(self, path: str, message: str) -> None:
        if path:
            self.errors.append(self.filename + ": " + path + ": " + message)
        else:
            self.errors.append(self.filename + ": " + message)

    def warn(self, path: str, message: str) -> None:
        self.warnings.append(self.filename + ": " + path + ": warning: " + message)

    def keys(self, obj: dict, path: str, known: tuple, required: tuple, examples: dict) -> None:
        """Report unknown keys (sorted: dict order differs between Pythons) and missing ones."""
        for key in sorted(obj):
            if key not in known:
                hint = _suggest(key, known)
                msg = 'unknown key "%s"; ' % key
                if hint is not None:
                    msg += 'did you mean "%s"? ' % hint
                self.error(_key_path(path, key), msg + "keys here are " + _quoted(known))
        for key in required:
            if key not in obj:
                self.error(path, 'missing "%s"; add "%s": %s' % (key, key, examples[key]))

    def expect(self, value: "Any", path: str, want: str, example: str) -> bool:
        """True when value has the JSON type want ("object", "list", "text", "number")."""
        if want == "object":
            good = isinstance(value, dict)
        elif want == "list":
            good = isinstance(value, list)
        elif want == "text":
            good = isinstance(value, str)
        else:
            good = is_int(value)
        if not good:
            self.error(path, "must be %s like %s, not %s"
                       % (_article(want), example, json_kind(value)))
        return good

    def name(self, value: "Any", path: str, choices: tuple, what: str, listing: str) -> str | None:
        """A port or mode name from choices, else an error with "did you mean"."""
        if not isinstance(value, str):
            if is_int(value) and str(value) in choices:
                self.error(path, 'must be text: write "%s" with quotes' % value)
            else:
                self.error(path, "must be %s in quotes; %s" % (what, listing))
            return None
        if value in choices:
            return value
        hint = _suggest(value, choices)
        msg = 'unknown %s "%s"; ' % (what, value)
        if hint is not None:
            msg += 'did you mean "%s"? ' % hint
        self.error(path, msg + listing)
        return None

    def channel(self, value: "Any", path: str) -> int:
        """A MIDI channel 1..16, else 0 and an error."""
        if not is_int(value):
            if isinstance(value, str) and value.strip().isdigit():
                self.error(path, "must be a number: write %s without quotes" % value.strip())
            elif isinstance(value, float):
                self.error(path, "channel must be a whole number 1..16, not %s" % value)
            else:
                self.error(path, "must be a channel number 1..16, not " + json_kind(value))
            return 0
        if value < 1 or value > 16:
            msg = "channel %d is outside 1..16" % value
            if value == 0:
                msg += "; channels count from 1 here (channel 1 is sent as 0 on the wire)"
            else:
                msg += "; MIDI has channels 1..16"
            self.error(path, msg)
            return 0
        return value

    def channels(self, value: "Any", path: str, fix: str) -> int:
        """A non-empty list of channels as a 16-bit mask, else 0."""
        if not self.expect(value, path, "list", "[1, 2]"):
            return 0
        if not value:
            self.error(path, "empty list matches nothing; " + fix)
            return 0
        good = []
        for i, ch in enumerate(value):
            ch = self.channel(ch, path + "[" + str(i) + "]")
            if ch:
                good.append(ch)
        return _channel_mask(good) if len(good) == len(value) else 0

    def check(self, doc: "Any") -> Config | None:
        if not isinstance(doc, dict):
            self.error(
                "",
                'the file must hold one JSON object {"version": 1, "presets": [...]}, not '
                + json_kind(doc),
            )
            return None
        self.keys(
            doc,
            "",
            _ROOT_KEYS,
            ("version", "presets"),
            {"version": "1 at the top of the file", "presets": '[{"name": ..., "routes": [...]}]'},
        )
        config = Config()
        if "version" in doc:
            version = doc["version"]
            if not is_int(version):
                self.error("version", "must be the number 1, not " + json_kind(version))
            elif version != 1:
                self.error(
                    "version",
                    "%d is not supported; this firmware reads version 1 (write "
                    '"version": 1 or update the firmware)' % version,
                )
        if "control" in doc:
            self.control(doc["control"], config)
        if "devices" in doc:
            config.devices = self.devices(doc["devices"])
        if "tempo" in doc:
            clockcheck.tempo(self, doc["tempo"], config)
        if "presets" in doc:
            config.presets = self.presets(doc["presets"], config.devices)
        return config

    def control(self, control: "Any", config: Config) -> None:
        if not self.expect(control, "control", "object", '{"input": "any", "channel": 16}'):
            return
        self.keys(
            control,
            "control",
            _CONTROL_KEYS,
            ("input", "channel"),
            {"input": '"any" (or "A", "B", "USB")', "channel": "16"},
        )
        listing = 'use "any", "A", "B" or "USB"'
        if "input" in control:
            config.control_input = self.name(
                control["input"], "control.input", CONTROL_INPUTS, "control input", listing
            )
        if "channel" in control:
            config.control_channel = self.channel(control["channel"], "control.channel")
        if "switch" in control:
            switch = self.name(
                control["switch"], "control.switch", SWITCH_MODES, "switch", 'use "now" or "bar"'
            )
            if switch is not None:
                config.switch = switch

    def devices(self, devices: "Any") -> dict:
        if not self.expect(devices, "devices", "object", '{"A": "Digitakt", "1": "Keystep"}'):
            return {}
        names = {}
        listing = "ports are A, B (inputs), 1..6 (outputs) and USB"
        for port in sorted(devices):
            path = _key_path("devices", port)
            if port not in DEVICE_PORTS:
                self.name(port, path, DEVICE_PORTS, "port", listing)
                continue
            name = devices[port]
            if not isinstance(name, str):
                self.error(
                    path, 'must be a device name in quotes like "Keystep", not ' + json_kind(name)
                )
            elif not name.strip():
                self.error(path, "empty device name; write the device's name or remove the entry")
            else:
                names[port] = name
        return names

    def presets(self, presets: "Any", devices: dict) -> list:
        if not self.expect(presets, "presets", "list", '[{"name": "Studio", "routes": [...]}]'):
            return []
        if not presets:
            self.error(
                "presets",
                'no presets; add at least one, like {"name": "Thru", "routes": '
                '[{"from": "A", "to": ["1"]}]}',
            )
            return []
        if len(presets) > MAX_PRESETS:
            extra = len(presets) - MAX_PRESETS
            self.error(
                "presets",
                "%d presets, but the panel reaches %d (P1..P4, FN+P1..P4); remove %d"
                % (len(presets), MAX_PRESETS, extra),
            )
        result = []
        names: dict = {}
        for i, preset in enumerate(presets):
            path = "presets[" + str(i) + "]"
            if not self.expect(preset, path, "object", '{"name": "Studio", "routes": [...]}'):
                continue
            self.keys(
                preset,
                path,
                _PRESET_KEYS,
                ("name", "routes"),
                {"name": '"Preset %d"' % (i + 1), "routes": '[{"from": "A", "to": ["1"]}]'},
            )
            name = ""
            if "name" in preset and self.expect(preset["name"], path + ".name", "text", '"Studio"'):
                name = preset["name"]
                key = name.strip().lower()
                if not key:
                    self.error(path + ".name", "empty name; give the preset a name")
                elif key in names:
                    self.error(
                        path + ".name",
                        'name "%s" is already used by %s; give each preset its own name'
                        % (name, names[key]),
                    )
                else:
                    names[key] = path
            routes: list = []
            if "routes" in preset:
                routes = self.routes(preset["routes"], path + ".routes", devices)
            send: list = []
            if "send" in preset:
                send = transformcheck.send(self, preset["send"], path + ".send")
            result.append(Preset(name, routes, send))
        rewrites = []
        for i, preset in enumerate(result):
            for k, route in enumerate(preset.routes):
                if route.moves_notes():
                    rewrites.append("presets[%d].routes[%d]" % (i, k))
        if len(rewrites) > MAX_NOTE_REWRITES:
            self.error(
                rewrites[MAX_NOTE_REWRITES],
                "%d routes move notes to another channel or note (to_channel, follow or "
                "transpose), the box tracks at most %d; drop \"notes\" from some of them or "
                "play those parts on their own channel" % (len(rewrites), MAX_NOTE_REWRITES),
            )
        return result

    def routes(self, routes: "Any", path: str, devices: dict) -> list:
        if not self.expect(routes, path, "list", '[{"from": "A", "to": ["1"]}]'):
            return []
        if not routes:
            self.error(
                path,
                'no routes, so the preset sends nothing; add one like {"from": "A", "to": ["1"]}',
            )
            return []
        result = []
        placed = []  # (index in the file, route as written, Route) for the warnings
        for i, route in enumerate(routes):
            rpath = path + "[" + str(i) + "]"
            parsed = self.route(route, rpath)
            if parsed is not None:
                result.append(parsed)
                placed.append((i, route, parsed))
        sources = [r.source for r in result]
        for i, _, r in placed:
            if r.follow_input is not None and r.follow_input not in sources:
                self.error(
                    path + "[" + str(i) + "].follow.input",
                    'input "%s" has no route in this preset, so there are no notes to follow; '
                    'add a route from "%s" or follow another input'
                    % (r.follow_input, r.follow_input),
                )
        self.loop_warnings(placed, path, devices)
        transformcheck.warnings(self, placed, path)
        clockcheck.warnings(self, placed, path)
        return result

    def route(self, route: "Any", path: str) -> Route | None:
        if not self.expect(route, path, "object", '{"from": "A", "to": ["1"]}'):
            return None
        before = len(self.errors)
        self.keys(
            route,
            path,
            _ROUTE_KEYS,
            ("from", "to"),
            {"from": '"A" (inputs are A, B and USB)', "to": '["1"] (outputs are 1..6 and USB)'},
        )
        inputs = "inputs are A, B, USB and CLK (the box's own clock)"
        source = None
        if "from" in route:
            source = self.name(route["from"], path + ".from", ROUTE_INPUTS, "input", inputs)
        outputs = []
        if "to" in route and self.expect(route["to"], path + ".to", "list", '["1", "3"]'):
            if not route["to"]:
                self.error(
                    path + ".to", 'empty list, so the route sends nothing; list outputs like ["1"]'
                )
            for i, out in enumerate(route["to"]):
                opath = path + ".to[" + str(i) + "]"
                name = self.name(out, opath, OUTPUTS, "output", "outputs are 1..6 and USB")
                if name is not None and name in outputs:
                    self.error(opath, 'output "%s" is listed twice; list it once' % name)
                elif name is not None:
                    outputs.append(name)
        types = clockcheck.CLK_TYPES if source == CLOCK_INPUT else midi.ALL_TYPES
        if "types" in route:
            types = self.types(route["types"], path + ".types")
        channels = ALL_CHANNELS
        if "channels" in route:
            channels = self.channels(
                route["channels"], path + ".channels", 'list channels 1..16 or leave "channels" out'
            )
        to_channel = 0
        if "to_channel" in route:
            to_channel = self.channel(route["to_channel"], path + ".to_channel")
        follow_input = None
        follow_channels = 0
        if "follow" in route:
            follow_input, follow_channels = self.follow(route["follow"], path + ".follow")
            if "to_channel" in route:
                self.error(
                    path,
                    '"to_channel" and "follow" together; keep one ("follow" already chooses '
                    "the output channel)",
                )
        keys, transpose, velocity, cc_map = transformcheck.route_fields(self, route, path)
        divide = clockcheck.route_fields(self, route, path, source, types)
        if len(self.errors) != before or source is None:
            return None
        return Route(
            source, tuple(outputs), types, channels, to_channel, follow_input, follow_channels,
            keys, transpose, velocity, cc_map, divide,
        )

    def types(self, value: "Any", path: str) -> int:
        if not self.expect(value, path, "list", '["notes", "pitchbend"]'):
            return 0
        if not value:
            self.error(path, 'empty list matches nothing; name types or leave "types" out for all')
            return 0
        good = []
        listing = "types are " + ", ".join(midi.TYPE_NAMES)
        for i, name in enumerate(value):
            name = self.name(name, path + "[" + str(i) + "]", midi.TYPE_NAMES, "type", listing)
            if name is not None:
                good.append(name)
        return midi.type_mask(good)

    def follow(self, value: "Any", path: str) -> tuple:
        if not self.expect(value, path, "object", '{"input": "A", "channels": [2, 3]}'):
            return None, 0
        self.keys(
            value,
            path,
            _FOLLOW_KEYS,
            _FOLLOW_KEYS,
            {"input": '"A" (the input whose notes pick the channel)', "channels": "[2, 3]"},
        )
        source = None
        mask = 0
        if "input" in value:
            source = self.name(
                value["input"], path + ".input", INPUTS, "input", "inputs are A, B and USB"
            )
        if "channels" in value:
            mask = self.channels(
                value["channels"], path + ".channels", "list the channels whose notes to follow"
            )
        return source, mask

    def loop_warnings(self, placed: list, path: str, devices: dict) -> None:
        """Warn about routes back into their own device and clock sent to the clock master."""
        masters = {}  # device name -> the input that brings its clock in this preset
        for _, _, r in placed:
            name = _device(devices, r.source)
            if _carries_clock(r) and name and name not in masters:
                masters[name] = r.source
        for i, written, r in placed:
            own = _device(devices, r.source)
            for out in r.outputs:
                opath = "%s[%d].to[%d]" % (path, i, written["to"].index(out))
                dev = _device(devices, out)
                if not dev:
                    continue
                label = devices[out]
                if dev == own:
                    self.warn(
                        opath,
                        "input %s (%s) is routed back into %s on output %s: a MIDI loop if the "
                        'device echoes its input (MIDI thru or echo on); drop "%s" or turn the '
                        "echo off" % (r.source, devices[r.source], label, out, out),
                    )
                elif _carries_clock(r) and dev in masters:
                    self.warn(
                        opath,
                        "clock goes to output %s (%s), the clock master of this preset (its "
                        "clock comes in on input %s); set %s to ignore incoming clock or leave "
                        '"clock" out of this route' % (out, label, masters[dev], label),
                    )


def _article(want: str) -> str:
    return {"object": "an object", "list": "a list", "text": "text", "number": "a number"}[want]


def _carries_clock(route: Route) -> bool:
    """Clock passes a route that names it, unless the route is limited to channels."""
    return bool(route.types & _CLOCK_BIT) and route.channels == ALL_CHANNELS
