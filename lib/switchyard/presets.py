"""Load and validate presets.json, the routing presets the box runs.

Runs once at start-up on the box and on a PC in tools/check.py, so the serial console and
the checker print the same messages. Every message names the file, the place and the fix:

    presets.json: presets[1].routes[0].to[2]: unknown output "7"; outputs are 1..6 and USB
    presets.json: line 7, column 12: expected "," or "]" after a list item; add the comma

The file (DESIGN.md "Presets" is the stable shape; docs/PRESETS.md is the user's guide):

    version    1, required
    control    optional: {"input": "any"|"A"|"B"|"USB", "channel": 1..16, "switch": ...}
               a Program Change on that channel selects preset N+1 and is not routed
    devices    optional: {port: device name}; ports A, B, 1..6, USB. Only used for warnings
    presets    1..8 of {"name": "...", "routes": [route, ...]} (P1..P4, then FN+P1..P4)
    route      {"from": "A"|"B"|"USB", "to": ["1".."6"|"USB", ...],
                "types": [type, ...], "channels": [1..16, ...],
                "to_channel": 1..16, "follow": {"input": "A"|"B"|"USB", "channels": [...]}}
               omitted types / channels = all; to_channel and follow exclude each other

Extensions to the DESIGN.md shape (a file without them means what it meant before):
    control.switch   "now" (default): a preset change (button or Program Change) takes
                     effect at once. "bar": it waits for the next bar line of the incoming
                     MIDI clock (96 clocks, 4/4 at 24 PPQN, counted from Start); with no
                     clock running it takes effect at once.
    control block    may be left out: presets then change with the buttons only.

Errors (the file is refused and the box runs safe_default()): invalid JSON (line, column),
a key given twice in one object, wrong or missing version, unknown keys (with "did you
mean"), unknown ports or types, channels outside 1..16, wrong JSON types, empty "to",
"types", "channels" or "routes", duplicate preset names, more than 8 presets, "follow" of an
input with no route in the preset, "to_channel" together with "follow".
Warnings (the file is used): a route back into the device it came from, and clock sent to
the device that is the clock master of the preset (both judged by the "devices" names).

CircuitPython's json.loads reports no position and accepts some invalid JSON ([1,,2]), so
the text is first checked by a small scanner that finds the first syntax error the way
CPython's json module does (same line and column), then handed to json.loads.
"""

import json

from switchyard import midi

try:
    from typing import Any
except ImportError:  # CircuitPython: annotations only
    pass

try:
    import errno

    _ENOENT = errno.ENOENT
except ImportError:
    _ENOENT = 2

INPUTS = ("A", "B", "USB")
OUTPUTS = ("1", "2", "3", "4", "5", "6", "USB")
MAX_PRESETS = 8
MAX_NOTE_REWRITES = 4  # routes (all presets) that move notes to another channel: 2 KB each
ALL_CHANNELS = 0xFFFF
CONTROL_INPUTS = ("any", "A", "B", "USB")
SWITCH_MODES = ("now", "bar")
DEVICE_PORTS = ("A", "B", "1", "2", "3", "4", "5", "6", "USB")
MAX_FILE_BYTES = 32768
_READ_CHUNK = 1024
RELEASE_FIX = "copy presets.json from the Switchyard release onto CIRCUITPY"

# Short codes for the routing matrix, by midi.TYPE_NAMES name; a name missing here shows in full.
TYPE_CODES = {
    "clock": "clk",
    "transport": "tr",
    "notes": "note",
    "poly_aftertouch": "pat",
    "cc": "cc",
    "modwheel": "mw",
    "program": "pc",
    "aftertouch": "at",
    "pitchbend": "pb",
    "sysex": "sx",
    "common": "com",
    "active_sensing": "as",
    "reset": "rst",
}

_CLOCK_BIT = 1 << midi.T_CLOCK
_ROOT_KEYS = ("version", "control", "devices", "presets")
_CONTROL_KEYS = ("input", "channel", "switch")
_PRESET_KEYS = ("name", "routes")
_ROUTE_KEYS = ("from", "to", "types", "channels", "to_channel", "follow")
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
    ) -> None:
        self.source = source
        self.outputs = outputs
        self.types = types
        self.channels = channels
        self.to_channel = to_channel
        self.follow_input = follow_input
        self.follow_channels = follow_channels

    def __repr__(self) -> str:
        return "Route(%r, %r, types=0x%04x, channels=0x%04x, to_channel=%d, follow=%r/0x%04x)" % (
            self.source,
            self.outputs,
            self.types,
            self.channels,
            self.to_channel,
            self.follow_input,
            self.follow_channels,
        )


class Preset:
    """A named list of routes; preset N is button P(N) or FN+P(N-4)."""

    def __init__(self, name: str, routes: list) -> None:
        self.name = name
        self.routes = routes


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
    ) -> None:
        self.version = version
        self.control_input = control_input
        self.control_channel = control_channel
        self.switch = switch
        self.devices = devices if devices is not None else {}
        self.presets = presets if presets is not None else []


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
    data = text.encode("utf-8")
    try:
        duplicates = _scan(data)
    except _JsonError as e:
        line, column = _line_column(data, e.pos)
        where = "%s: line %d, column %d: " % (filename, line, column)
        return Result(None, [where + _json_message(data, e)], [])
    errors = []
    for pos, key in duplicates:
        line, column = _line_column(data, pos)
        errors.append(
            '%s: line %d, column %d: key "%s" appears twice in the same object; JSON keeps '
            "only the last one, so merge them into one" % (filename, line, column, key)
        )
    try:
        doc = json.loads(text)
    except Exception as e:  # the scanner passed it; the JSON reader itself gave up
        return Result(None, errors + [filename + ": cannot read the JSON (" + repr(e) + ")"], [])
    checker = _Checker(filename)
    checker.errors.extend(errors)
    config = checker.check(doc)
    if checker.errors:
        config = None
    return Result(config, checker.errors, checker.warnings)


def find_json_error(text: str) -> tuple | None:
    """The first JSON syntax error in text as (line, column, kind), or None if it is valid.

    Positions are counted as CPython's json.JSONDecodeError counts them (lineno, colno).
    kind is one of: value, key, colon, comma, trailing_comma, extra, unterminated,
    control, escape, uescape, nan.
    """
    data = text.encode("utf-8")
    try:
        _scan(data)
    except _JsonError as e:
        line, column = _line_column(data, e.pos)
        return (line, column, e.kind)
    return None


# --- JSON syntax scanner -------------------------------------------------------------------
# Works on the UTF-8 bytes (indexing a CircuitPython str with non-ASCII text is not O(1))
# and without recursion; positions are turned into character columns only for the message.


class _JsonError(Exception):
    def __init__(self, pos: int, kind: str, container: int = 0) -> None:
        super().__init__(kind)
        self.pos = pos
        self.kind = kind
        self.container = container  # ord("[") or ord("{") for comma/trailing_comma/eof cases


def _skip_ws(data: bytes, i: int, n: int) -> int:
    while i < n:
        c = data[i]
        if c != 0x20 and c != 0x0A and c != 0x0D and c != 0x09:
            break
        i += 1
    return i


def _hex_digit(c: int) -> bool:
    return 0x30 <= c <= 0x39 or 0x41 <= c <= 0x46 or 0x61 <= c <= 0x66


def _hex4(data: bytes, i: int) -> int:
    return int(bytes(data[i : i + 4]).decode(), 16)


def _scan_string(data: bytes, begin: int, n: int) -> int:
    """Index after the closing quote of the string whose opening quote is at begin."""
    i = begin + 1
    while True:
        # find the closing quote or the next backslash with C-level searches, not byte by byte
        stop = data.find(b'"', i)
        if stop < 0:
            stop = n
        slash = data.find(b"\\", i, stop)
        if slash >= 0:
            stop = slash
        if stop > i and min(data[i:stop]) < 0x20:
            while data[i] >= 0x20:
                i += 1
            raise _JsonError(i, "control")
        i = stop
        if i >= n:
            raise _JsonError(begin, "unterminated")
        if data[i] == 0x22:
            return i + 1
        i += 1  # past the backslash
        if i >= n:
            raise _JsonError(begin, "unterminated")
        c = data[i]
        if c != 0x75:  # not \u
            if c not in b'"\\/bfnrt':
                raise _JsonError(i - 1, "escape")
            i += 1
            continue
        u = i
        end = u + 5
        if end >= n:
            raise _JsonError(u, "uescape")
        for j in range(u + 1, end):
            if not _hex_digit(data[j]):
                raise _JsonError(u, "uescape")
        i = end
        # CPython reads a low surrogate right after a high one as part of the same escape
        if 0xD800 <= _hex4(data, u + 1) <= 0xDBFF and end + 6 < n:
            if data[end] == 0x5C and data[end + 1] == 0x75:
                for j in range(end + 2, end + 6):
                    if not _hex_digit(data[j]):
                        raise _JsonError(end + 1, "uescape")
                if 0xDC00 <= _hex4(data, end + 2) <= 0xDFFF:
                    i = end + 6


def _is_digit(c: int) -> bool:
    return 0x30 <= c <= 0x39


def _scan_number(data: bytes, start: int, n: int) -> int:
    """Index after the number at start, matched as CPython's json scanner matches it."""
    i = start
    if data[i] == 0x2D:  # -
        i += 1
        if i >= n:
            raise _JsonError(start, "value")
    c = data[i]
    if 0x31 <= c <= 0x39:
        i += 1
        while i < n and _is_digit(data[i]):
            i += 1
    elif c == 0x30:
        i += 1
    else:
        raise _JsonError(start, "value")
    if i < n - 1 and data[i] == 0x2E and _is_digit(data[i + 1]):
        i += 2
        while i < n and _is_digit(data[i]):
            i += 1
    if i < n - 1 and (data[i] == 0x65 or data[i] == 0x45):
        e_start = i
        i += 1
        if i < n - 1 and (data[i] == 0x2D or data[i] == 0x2B):
            i += 1
        while i < n and _is_digit(data[i]):
            i += 1
        if not _is_digit(data[i - 1]):
            i = e_start
    return i


def _scan_key(data: bytes, i: int, n: int, seen: list, duplicates: list) -> int:
    """Scan `"key":` at i; returns the index of the value after it."""
    if i >= n or data[i] != 0x22:
        raise _JsonError(i, "key", 0x7B)
    end = _scan_string(data, i, n)
    key = bytes(data[i + 1 : end - 1])
    if key in seen:
        duplicates.append((i, key.decode()))
    else:
        seen.append(key)
    i = _skip_ws(data, end, n)
    if i >= n or data[i] != 0x3A:
        raise _JsonError(i, "colon", 0x7B)
    return _skip_ws(data, i + 1, n)


def _scan(data: bytes) -> list:
    """Raise _JsonError at the first syntax error; return [(pos, key)] of repeated keys."""
    n = len(data)
    stack: list = []  # ord("[") / ord("{") of each open container
    keys: list = []  # keys seen so far in each open object
    duplicates: list = []
    i = _skip_ws(data, 0, n)
    expect_value = True
    while True:
        if expect_value:
            if i >= n:
                raise _JsonError(i, "value", stack[-1] if stack else 0)
            c = data[i]
            if c == 0x7B:  # {
                i = _skip_ws(data, i + 1, n)
                if i < n and data[i] == 0x7D:
                    i += 1
                else:
                    stack.append(0x7B)
                    keys.append([])
                    i = _scan_key(data, i, n, keys[-1], duplicates)
                    continue
            elif c == 0x5B:  # [
                i = _skip_ws(data, i + 1, n)
                if i < n and data[i] == 0x5D:
                    i += 1
                else:
                    stack.append(0x5B)
                    continue
            elif c == 0x22:
                i = _scan_string(data, i, n)
            elif c == 0x2D and data[i : i + 9] == b"-Infinity":
                raise _JsonError(i, "nan")
            elif c == 0x2D or _is_digit(c):
                i = _scan_number(data, i, n)
            elif c == 0x74 and data[i : i + 4] == b"true":
                i += 4
            elif c == 0x66 and data[i : i + 5] == b"false":
                i += 5
            elif c == 0x6E and data[i : i + 4] == b"null":
                i += 4
            elif data[i : i + 3] == b"NaN" or data[i : i + 8] == b"Infinity":
                raise _JsonError(i, "nan")
            else:
                raise _JsonError(i, "value", stack[-1] if stack else 0)
            expect_value = False
        i = _skip_ws(data, i, n)
        if not stack:
            if i < n:
                raise _JsonError(i, "extra")
            return duplicates
        top = stack[-1]
        close = 0x5D if top == 0x5B else 0x7D
        if i < n and data[i] == close:
            stack.pop()
            if top == 0x7B:
                keys.pop()
            i += 1
            continue
        if i >= n or data[i] != 0x2C:
            raise _JsonError(i, "comma", top)
        comma = i
        i = _skip_ws(data, i + 1, n)
        if i < n and data[i] == close:
            raise _JsonError(comma, "trailing_comma", top)
        if top == 0x7B:
            i = _scan_key(data, i, n, keys[-1], duplicates)
        expect_value = True


def _line_column(data: bytes, pos: int) -> tuple:
    """1-based line and character column of byte pos, counted as CPython's json counts."""
    line = 1
    column = 1
    for i in range(pos):
        c = data[i]
        if c == 0x0A:
            line += 1
            column = 1
        elif c & 0xC0 != 0x80:  # not a UTF-8 continuation byte
            column += 1
    return line, column


def _json_message(data: bytes, e: _JsonError) -> str:
    n = len(data)
    found = data[e.pos] if e.pos < n else -1
    in_list = e.container == 0x5B
    close = '"]"' if in_list else '"}"'
    kind = e.kind
    if found == -1 and kind in ("value", "key", "colon", "comma"):
        if e.container:
            what = "a list" if in_list else "an object"
            return "the file ends inside %s; add the missing %s (or the text was cut short)" % (
                what,
                close,
            )
        return "the file is empty or ends too early; " + RELEASE_FIX
    if kind == "value":
        if found == 0x27:
            return 'text must be in double quotes ("..."), not single quotes'
        if found == 0x5D or found == 0x7D:
            return "expected a value before %s" % _show_byte(found)
        if 0x41 <= found <= 0x5A or 0x61 <= found <= 0x7A:
            return (
                'expected a value; text must be in double quotes ("...") and true, false, '
                "null in lower case"
            )
        return 'expected a value (a number, "text", true, false, null, [list] or {object})'
    if kind == "key":
        if found == 0x27:
            return 'keys must be in double quotes ("name"), not single quotes'
        return 'expected a key in double quotes, like "name"'
    if kind == "colon":
        return 'expected ":" after the key'
    if kind == "comma":
        if in_list:
            return 'expected "," or "]" after a list item; add the missing comma'
        return 'expected "," or "}" after a value; add the missing comma'
    if kind == "trailing_comma":
        return "comma before %s; remove the last comma" % close
    if kind == "extra":
        return "extra text after the end of the JSON; remove it (or a } or ] closes too early)"
    if kind == "unterminated":
        return 'text in quotes is never closed; add the closing "'
    if kind == "control":
        if found == 0x0A or found == 0x0D:
            return 'line break inside text in quotes; close it with " before the line ends'
        if found == 0x09:
            return "tab inside text in quotes; write \\t or a space"
        return "control character inside text in quotes; remove it"
    if kind == "escape":
        return "unknown escape in text; write \\\\ for a backslash"
    if kind == "uescape":
        return "\\u in text must be followed by 4 hex digits, like \\u00e9"
    if kind == "nan":
        return "NaN and Infinity are not JSON numbers; write a number"
    return "invalid JSON"


def _show_byte(c: int) -> str:
    return '"' + chr(c) + '"'


# --- validation ----------------------------------------------------------------------------


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


def _kind(value: "Any") -> str:
    if isinstance(value, bool):
        return "true/false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return 'the text "' + value + '"'
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "the number " + str(value)


def _is_int(value: "Any") -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


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


class _Checker:
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
            good = _is_int(value)
        if not good:
            self.error(path, "must be %s like %s, not %s" % (_article(want), example, _kind(value)))
        return good

    def name(self, value: "Any", path: str, choices: tuple, what: str, listing: str) -> str | None:
        """A port or mode name from choices, else an error with "did you mean"."""
        if not isinstance(value, str):
            if _is_int(value) and str(value) in choices:
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
        if not _is_int(value):
            if isinstance(value, str) and value.strip().isdigit():
                self.error(path, "must be a number: write %s without quotes" % value.strip())
            elif isinstance(value, float):
                self.error(path, "channel must be a whole number 1..16, not %s" % value)
            else:
                self.error(path, "must be a channel number 1..16, not " + _kind(value))
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
                + _kind(doc),
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
            if not _is_int(version):
                self.error("version", "must be the number 1, not " + _kind(version))
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
                    path, 'must be a device name in quotes like "Keystep", not ' + _kind(name)
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
            result.append(Preset(name, routes))
        rewrites = []
        notes = 1 << midi.T_NOTES
        for i, preset in enumerate(result):
            for k, route in enumerate(preset.routes):
                if (route.to_channel or route.follow_input) and route.types & notes:
                    rewrites.append("presets[%d].routes[%d]" % (i, k))
        if len(rewrites) > MAX_NOTE_REWRITES:
            self.error(
                rewrites[MAX_NOTE_REWRITES],
                "%d routes move notes to another channel (to_channel or follow), the box "
                "tracks at most %d; drop \"notes\" from some of them or play those parts on "
                "their own channel" % (len(rewrites), MAX_NOTE_REWRITES),
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
        inputs = "inputs are A, B and USB"
        source = None
        if "from" in route:
            source = self.name(route["from"], path + ".from", INPUTS, "input", inputs)
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
        types = midi.ALL_TYPES
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
        if len(self.errors) != before or source is None:
            return None
        return Route(
            source, tuple(outputs), types, channels, to_channel, follow_input, follow_channels
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


# --- summary -------------------------------------------------------------------------------


def button_label(index: int) -> str:
    """Panel label of preset index 0..7: P1..P4, then FN+P1..FN+P4."""
    return ("FN+" if index >= 4 else "") + "P" + str(index % 4 + 1)


def channel_list(mask: int) -> str:
    """Channels of a 16-bit mask as ranges: 0x0006 -> "2,3", 0x000F -> "1-4"."""
    parts = []
    ch = 1
    while ch <= 16:
        if mask & (1 << (ch - 1)):
            last = ch
            while last < 16 and mask & (1 << last):
                last += 1
            if last - ch >= 2:
                parts.append(str(ch) + "-" + str(last))
            elif last > ch:
                parts.append(str(ch) + "," + str(last))
            else:
                parts.append(str(ch))
            ch = last + 1
        else:
            ch += 1
    return ",".join(parts)


def type_codes(types: int) -> str:
    """Short type codes of a type mask: "all", or codes joined by "+" ("clk+tr")."""
    if types == midi.ALL_TYPES:
        return "all"
    codes = []
    for i, name in enumerate(midi.TYPE_NAMES):
        if types & (1 << i):
            codes.append(TYPE_CODES.get(name, name))
    return "+".join(codes)


def _carries_clock(route: Route) -> bool:
    """Clock passes a route that names it, unless the route is limited to channels."""
    return bool(route.types & _CLOCK_BIT) and route.channels == ALL_CHANNELS


def route_label(route: Route) -> str:
    """One route in a matrix cell: "pb+mw ch2,3 >ch1", "pb+mw follow A:2,3"."""
    label = type_codes(route.types)
    if route.channels != ALL_CHANNELS:
        label += " ch" + channel_list(route.channels)
    if route.to_channel:
        label += " >ch" + str(route.to_channel)
    if route.follow_input is not None:
        label += " follow " + route.follow_input + ":" + channel_list(route.follow_channels)
    return label


def matrix_cells(preset: Preset) -> list:
    """Route labels per cell: cells[row][column], rows INPUTS, columns OUTPUTS."""
    cells: list = [[[] for _ in OUTPUTS] for _ in INPUTS]
    for route in preset.routes:
        row = cells[INPUTS.index(route.source)]
        for out in route.outputs:
            row[OUTPUTS.index(out)].append(route_label(route))
    return cells


def port_label(config: Config, port: str) -> str:
    """A port with its device name: "A Digitakt", or the port alone."""
    name = config.devices.get(port)
    return port + " " + name if name else port


def type_legend() -> str:
    return ", ".join(TYPE_CODES.get(n, n) + " " + n for n in midi.TYPE_NAMES)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - len(text))


def describe(config: Config) -> str:
    """One-screen summary: each preset as a routing matrix, inputs by outputs."""
    lines = []
    count = len(config.presets)
    head = "%d preset%s" % (count, "" if count == 1 else "s")
    if config.control_input is not None and config.control_channel:
        head += "; Program Change on channel %d from %s selects the preset" % (
            config.control_channel,
            "any input" if config.control_input == "any" else "input " + config.control_input,
        )
    else:
        head += "; no Program Change control"
    head += "; switch: " + ("at the next bar" if config.switch == "bar" else "now")
    lines.append(head)
    rows = [port_label(config, p) for p in INPUTS]
    row_width = max(len(r) for r in rows) + 2
    for index, preset in enumerate(config.presets):
        lines.append("")
        lines.append(button_label(index) + "  " + preset.name)
        cells = matrix_cells(preset)
        texts = [["; ".join(c) if c else "." for c in row] for row in cells]
        ports = list(OUTPUTS)
        names = [config.devices.get(p, "") for p in OUTPUTS]
        widths = []
        for col in range(len(OUTPUTS)):
            widths.append(max([len(ports[col]), len(names[col])] + [len(t[col]) for t in texts]))
        lines.append(_row(" " * row_width, ports, widths))
        if any(names):
            lines.append(_row(" " * row_width, names, widths))
        for r, row in enumerate(texts):
            lines.append(_row(_pad(rows[r], row_width), row, widths))
    lines.append("")
    legend = "types: " + type_legend() + "; .: nothing; chN: input channels N; >chN: sent on "
    legend += "channel N; follow X:N: sent on the channel of the latest note-on from input X "
    legend += "among channels N"
    lines.extend(wrap(legend, 92))
    return "\n".join(lines)


def _row(label: str, cells: list, widths: list) -> str:
    parts = [label]
    for i, text in enumerate(cells):
        parts.append(_pad(text, widths[i]) + "  ")
    return "".join(parts).rstrip()


def wrap(text: str, width: int) -> list:
    """Text as lines of at most `width` characters, broken between words."""
    lines = []
    line = ""
    for word in text.split(" "):
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = line + " " + word if line else word
    lines.append(line)
    return lines
