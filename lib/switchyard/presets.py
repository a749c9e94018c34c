"""Load and validate presets.json, the routing presets the box runs.

Runs once at start-up on the box and on a PC in tools/check.py, so the serial console and
the checker print the same messages. Every message names the file, the place and the fix:

    presets.json: presets[1].routes[0].to[2]: unknown output "7"; outputs are 1..6 and USB
    presets.json: line 7, column 12: expected "," or "]" after a list item; add the comma

The file (docs/ARCHITECTURE.md "Presets" is the stable shape; docs/PRESETS.md the user's guide):

    version    1, required
    control    optional: {"input": "any"|"A"|"B"|"USB", "channel": 1..16, "switch": ...}
               a Program Change on that channel selects preset N+1 and is not routed
    devices    optional: {port: device name}; ports A, B, 1..6, USB. Only used for warnings
    presets    1..8 of {"name": "...", "routes": [route, ...]} (P1..P4, then FN+P1..P4)
    route      {"from": "A"|"B"|"USB", "to": ["1".."6"|"USB", ...],
                "types": [type, ...], "channels": [1..16, ...],
                "to_channel": 1..16, "follow": {"input": "A"|"B"|"USB", "channels": [...]}}
               omitted types / channels = all; to_channel and follow exclude each other

Extensions to that shape (a file without them means what it meant before):
    control.switch   "now" (default): a preset change (button or Program Change) takes
                     effect at once. "bar": it waits for the next bar line of the incoming
                     MIDI clock (96 clocks, 4/4 at 24 PPQN, counted from Start); with no
                     clock running it takes effect at once.
    control block    may be left out: presets then change with the buttons only.
    route keys, transpose, velocity, cc_map, and preset send: what a route changes and
                     what a preset sends when chosen (switchyard/transforms.py; the
                     checks in switchyard/transformcheck.py; docs/PRESETS.md).
    route clock_divide, input "CLK", top-level tempo: the clock divided per route and the
                     box's own clock (switchyard/clockdiv.py, switchyard/clockgen.py; the
                     checks in switchyard/clockcheck.py; docs/PRESETS.md).

Errors (the file is refused and the box runs safe_default()): invalid JSON (line, column),
a key given twice in one object, wrong or missing version, unknown keys (with "did you
mean"), unknown ports or types, channels outside 1..16, wrong JSON types, empty "to",
"types", "channels" or "routes", duplicate preset names, more than 8 presets, "follow" of an
input with no route in the preset, "to_channel" together with "follow".
Warnings (the file is used): a route back into the device it came from, and clock sent to
the device that is the clock master of the preset (both judged by the "devices" names).

Three modules, one job each: this one holds the shape (the names, Route, Preset, Config,
Result), reads the file and runs the other two: switchyard.jsonscan finds the first JSON
syntax error with its line and column (CircuitPython's json.loads gives no position and
accepts some invalid JSON, [1,,2]), switchyard.presetcheck checks what json.loads made of
it. The routing summary tools/check.py prints is tools/describe.py: the box never shows it.
"""

import json

from switchyard import midi

try:
    import errno

    _ENOENT = errno.ENOENT
except ImportError:
    _ENOENT = 2

INPUTS = ("A", "B", "USB")
CLOCK_INPUT = "CLK"  # the box's own clock: a route's "from" only (switchyard/clockgen.py)
ROUTE_INPUTS = INPUTS + (CLOCK_INPUT,)
OUTPUTS = ("1", "2", "3", "4", "5", "6", "USB")
MAX_PRESETS = 8
# routes (all presets) that move notes to another channel or note number: 2 KB each
MAX_NOTE_REWRITES = 6
ALL_CHANNELS = 0xFFFF
CONTROL_INPUTS = ("any", "A", "B", "USB")
SWITCH_MODES = ("now", "bar")
DEVICE_PORTS = ("A", "B", "1", "2", "3", "4", "5", "6", "USB")
MAX_FILE_BYTES = 32768
_READ_CHUNK = 1024
RELEASE_FIX = "copy presets.json from the Switchyard release onto CIRCUITPY"


class Route:
    """One route of a preset: what goes from one input to which outputs."""

    def __init__(
        self,
        source: str,
        outputs: tuple,
        types: int = midi.ALL_TYPES,
        channels: int = ALL_CHANNELS,
        to_channel: int = 0,
        follow_input: str | None = None,
        follow_channels: int = 0,
        keys: tuple | None = None,
        transpose: int = 0,
        velocity: tuple | None = None,
        cc_map: dict | None = None,
        clock_divide: int = 1,
    ) -> None:
        self.source = source
        self.outputs = outputs
        self.types = types
        self.channels = channels
        self.to_channel = to_channel
        self.follow_input = follow_input
        self.follow_channels = follow_channels
        self.keys = keys  # (low, high) input notes, inclusive; None: all
        self.transpose = transpose  # semitones
        self.velocity = velocity  # ("fixed", v, v) or ("range", low, high); None: as played
        self.cc_map = cc_map  # {cc in: cc out}; None: none
        self.clock_divide = clock_divide  # 1: every clock; n: the 1st, (n+1)th, ... (clockdiv)

    def transforms(self) -> bool:
        """Does the route change what goes (switchyard.transforms), not only where?"""
        return (self.keys is not None or self.transpose != 0 or self.velocity is not None
                or self.cc_map is not None)

    def moves_notes(self) -> bool:
        """Does a note-on leave on another channel or as another note than it came? Then
        its note-off must be sent by what was recorded (a 2 KB table of the router)."""
        return bool(self.types & (1 << midi.T_NOTES)) and bool(
            self.to_channel or self.follow_input or self.transpose)

    def __repr__(self) -> str:
        return ("Route(%r, %r, types=0x%04x, channels=0x%04x, to_channel=%d, follow=%r/0x%04x,"
                " keys=%r, transpose=%d, velocity=%r, cc_map=%r, clock_divide=%d)") % (
            self.source,
            self.outputs,
            self.types,
            self.channels,
            self.to_channel,
            self.follow_input,
            self.follow_channels,
            self.keys,
            self.transpose,
            self.velocity,
            self.cc_map,
            self.clock_divide,
        )


class Preset:
    """A named list of routes; preset N is button P(N) or FN+P(N-4)."""

    def __init__(self, name: str, routes: list, send: list | None = None) -> None:
        self.name = name
        self.routes = routes
        self.send = send if send is not None else []  # transforms.Send, in order


class Config:
    """A valid presets.json."""

    def __init__(
        self,
        version: int = 1,
        control_input: str | None = None,
        control_channel: int = 0,
        switch: str = "now",
        devices: dict | None = None,
        presets: list | None = None,
        tempo_bpm10: int = 0,
        clock_when_stopped: bool = True,
    ) -> None:
        self.version = version
        self.control_input = control_input
        self.control_channel = control_channel
        self.switch = switch
        self.devices = devices if devices is not None else {}
        self.presets = presets if presets is not None else []
        self.tempo_bpm10 = tempo_bpm10  # "tempo": {"bpm": 120} as 1200; 0: none given
        self.clock_when_stopped = clock_when_stopped

    def uses_clock(self) -> bool:
        """Does the file ask for the box's own clock (a "tempo" or a route from CLK)?"""
        if self.tempo_bpm10:
            return True
        for preset in self.presets:
            for route in preset.routes:
                if route.source == CLOCK_INPUT:
                    return True
        return False


class Result:
    """What load() and parse() found: a Config when there are no errors, else None."""

    def __init__(self, config: Config | None, errors: list, warnings: list) -> None:
        self.config = config
        self.errors = errors
        self.warnings = warnings

    @property
    def ok(self) -> bool:
        return not self.errors and self.config is not None


def safe_default() -> Config:
    """What the box runs without a valid presets.json: A and B merged to every output."""
    routes = [Route("A", OUTPUTS), Route("B", OUTPUTS)]
    return Config(
        version=1,
        control_input="any",
        control_channel=16,
        switch="now",
        devices={},
        presets=[Preset("Safe default", routes)],
    )


def _read_capped(f) -> bytes:
    """The file's bytes, reading no more than MAX_FILE_BYTES + one chunk.

    CircuitPython's read(n) allocates n bytes before it reads, however short the file:
    read(MAX_FILE_BYTES + 1) needs 32 KB in one block, which a Pico's heap after importing
    the package as .py does not have (MemoryError at start-up). A chunk at a time needs
    what the file holds."""
    parts = []
    total = 0
    while total <= MAX_FILE_BYTES:
        chunk = f.read(_READ_CHUNK)
        if not chunk:
            break
        parts.append(chunk)
        total += len(chunk)
    return b"".join(parts)


def load(path: str) -> Result:
    """Read and validate the presets file at path (messages name the file as path)."""
    try:
        with open(path, "rb") as f:
            data = _read_capped(f)
    except OSError as e:
        code = e.args[0] if e.args else 0
        if code == _ENOENT:
            why = "file not found"
        else:
            why = "cannot read the file (error " + str(code) + ")"
        return Result(None, [path + ": " + why + "; " + RELEASE_FIX], [])
    if len(data) > MAX_FILE_BYTES:
        msg = "%s: file is larger than %d bytes, the most the box reads; remove presets or " % (
            path,
            MAX_FILE_BYTES,
        )
        return Result(None, [msg + RELEASE_FIX], [])
    try:
        text = data.decode("utf-8")
    except UnicodeError:
        msg = path + ": file is not UTF-8 text; save it as UTF-8 or " + RELEASE_FIX
        return Result(None, [msg], [])
    return parse(text, path)


def parse(text: str, filename: str = "presets.json") -> Result:
    """Validate presets.json text; collects every error and warning."""
    if text[:1] == "\ufeff":  # byte-order mark some editors write
        text = text[1:]
    from switchyard import jsonscan  # here, like the checker: unload_checks() drops them
    from switchyard.presetcheck import Checker  # (and it imports this module's names)

    data = text.encode("utf-8")
    try:
        duplicates = jsonscan.scan(data)
    except jsonscan.JsonError as e:
        line, column = jsonscan.line_column(data, e.pos)
        where = "%s: line %d, column %d: " % (filename, line, column)
        return Result(None, [where + jsonscan.error_message(data, e, RELEASE_FIX)], [])
    errors = []
    for pos, key in duplicates:
        line, column = jsonscan.line_column(data, pos)
        errors.append(
            '%s: line %d, column %d: key "%s" appears twice in the same object; JSON keeps '
            "only the last one, so merge them into one" % (filename, line, column, key)
        )
    try:
        doc = json.loads(text)
    except Exception as e:  # the scanner passed it; the JSON reader itself gave up
        return Result(None, errors + [filename + ": cannot read the JSON (" + repr(e) + ")"], [])
    checker = Checker(filename)
    checker.errors.extend(errors)
    config = checker.check(doc)
    if checker.errors:
        config = None
    return Result(config, checker.errors, checker.warnings)


CHECK_MODULES = ("switchyard.jsonscan", "switchyard.presetcheck", "switchyard.transformcheck",
                 "switchyard.clockcheck")


def unload_checks() -> None:
    """Forget the modules only the check of presets.json needs: the box reads the file once,
    at start-up, and a .py install keeps a module's bytecode in RAM while it is loaded
    (README "On CircuitPython itself"). parse() imports them again if it is called again."""
    import sys

    package = sys.modules.get("switchyard")
    for name in CHECK_MODULES:
        sys.modules.pop(name, None)
        if package is not None:
            try:
                delattr(package, name[len("switchyard."):])
            except AttributeError:
                pass
