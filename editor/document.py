"""Open, format and validate a presets document, with the messages tools/check.py prints.

The page edits the parsed JSON document; every change comes back here to be formatted (the
text a download or a drive write saves) and checked by switchyard.presets.load(), the code
the box and tools/check.py run, on that text written under the file's own name. So each
message is, word for word, the line `tools/check.py presets.json` prints in the file's folder.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "lib") not in sys.path:
    sys.path.insert(0, str(REPO / "lib"))

from switchyard import midi, presets  # noqa: E402

from tools import describe  # noqa: E402

STUDIO_PRESETS = REPO / "presets.json"
DEFAULT_NAME = "presets.json"
MAX_PRESETS_BYTES = presets.MAX_FILE_BYTES  # the most the box reads

# What a musician calls each message type (midi.TYPE_NAMES), for the page's side panel.
TYPE_LABELS = {
    "clock": "Clock (F8, 24 a beat)",
    "transport": "Start, stop, continue",
    "notes": "Notes (note on and off)",
    "poly_aftertouch": "Poly aftertouch",
    "cc": "Control changes (CC, all but the mod wheel)",
    "modwheel": "Mod wheel (CC 1 and 33)",
    "program": "Program change",
    "aftertouch": "Channel aftertouch (pressure)",
    "pitchbend": "Pitch bend",
    "sysex": "SysEx (patch dumps)",
    "common": "Song position, song select, MTC, tune request",
    "active_sensing": "Active sensing",
    "reset": "System reset",
}

# A message's JSON path as the validator writes it: presets[0].routes[6].to[0], devices["1"]
_PATH = re.compile(r'^((?:[A-Za-z_]\w*|\["[^"]*"\])(?:\[\d+\]|\.[A-Za-z_]\w*|\["[^"]*"\])*): ')
_PART = re.compile(r'\[(\d+)\]|\["([^"]*)"\]|\.?([A-Za-z_]\w*)')


class Problem(Exception):
    """A request the editor refuses; the message says why and what to do."""

    def __init__(self, message: str, status: int = 400, details: list[str] | None = None):
        super().__init__(message)
        self.status = status
        self.details = details or []


def safe_name(name: str | None) -> str:
    """The file name alone (no folders), for the messages; presets.json when there is none."""
    base = re.split(r"[\\/]", (name or "").strip())[-1].strip()
    return base if base and base not in (".", "..") else DEFAULT_NAME


def too_big(name: str, size: int) -> Problem:
    return Problem(
        "%s is %s bytes; a presets file holds at most %s (the most the box reads), so nothing "
        "was opened" % (name, format(size, ","), format(MAX_PRESETS_BYTES, ",")),
        status=413,
    )


def path_parts(path: str) -> list:
    """presets[0].routes[6].to[0] -> ["presets", 0, "routes", 6, "to", 0]."""
    parts: list = []
    for index, quoted, word in _PART.findall(path):
        parts.append(int(index) if index else quoted if quoted else word)
    return parts


def message(text: str, filename: str, level: str) -> dict:
    """A validator line with the JSON path it names (None for line/column or whole-file)."""
    rest = text[len(filename) + 2 :] if text.startswith(filename + ": ") else text
    match = _PATH.match(rest)
    path = match.group(1) if match else None
    return {
        "level": level,
        "text": text,
        "path": path,
        "parts": path_parts(path) if path else [],
    }


def check_text(text: str, filename: str = DEFAULT_NAME) -> dict:
    """presets.load() on text saved as filename: ok, and the errors and warnings."""
    filename = safe_name(filename)
    with tempfile.TemporaryDirectory(prefix="switchyard-editor-") as folder:
        path = Path(folder) / filename
        path.write_text(text, encoding="utf-8")
        result = presets.load(str(path))
    prefix = str(path)  # load() names the file as given; check.py is given the bare name
    errors = [filename + e[len(prefix) :] if e.startswith(prefix) else e for e in result.errors]
    warnings = [
        filename + w[len(prefix) :] if w.startswith(prefix) else w for w in result.warnings
    ]
    return {
        "ok": result.ok,
        "errors": [message(e, filename, "error") for e in errors],
        "warnings": [message(w, filename, "warning") for w in warnings],
    }


def _one_line(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def _preset_lines(preset, comma: str) -> list[str]:
    routes = preset.get("routes") if isinstance(preset, dict) else None
    if not isinstance(routes, list) or not routes:
        return ["    " + _one_line(preset) + comma]
    head = "".join(
        "%s: %s, " % (_one_line(k), _one_line(v)) for k, v in preset.items() if k != "routes"
    )
    lines = ["    {" + head + '"routes": [']
    for k, route in enumerate(routes):
        lines.append("      " + _one_line(route) + ("," if k < len(routes) - 1 else ""))
    lines.append("    ]}" + comma)
    return lines


def format_doc(doc) -> str:
    """The document as the shipped presets.json is laid out: a route a line."""
    if not isinstance(doc, dict) or not doc:
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    lines = []
    items = list(doc.items())
    for i, (key, value) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        if key == "presets" and isinstance(value, list) and value:
            lines.append("  %s: [" % _one_line(key))
            for j, preset in enumerate(value):
                lines.extend(_preset_lines(preset, "," if j < len(value) - 1 else ""))
            lines.append("  ]" + comma)
        else:
            lines.append("  %s: %s%s" % (_one_line(key), _one_line(value), comma))
    return "{\n" + "\n".join(lines) + "\n}\n"


def validate_doc(doc, filename: str = DEFAULT_NAME) -> dict:
    """The text a save writes, and what the checker says about it."""
    text = format_doc(doc)
    verdict = check_text(text, filename)
    verdict["text"] = text
    verdict["filename"] = safe_name(filename)
    return verdict


def _shape_problem(doc) -> str | None:
    """Where the document is too far from the presets shape to draw as matrices, or None."""
    if not isinstance(doc, dict):
        return "the file holds %s, not one object" % type(doc).__name__
    for key in ("control", "devices"):
        if key in doc and not isinstance(doc[key], dict):
            return '"%s" is not an object' % key
    entries = doc.get("presets", [])
    if not isinstance(entries, list):
        return '"presets" is not a list'
    for i, preset in enumerate(entries):
        if not isinstance(preset, dict):
            return "presets[%d] is not an object" % i
        routes = preset.get("routes", [])
        if not isinstance(routes, list):
            return "presets[%d].routes is not a list" % i
        for k, route in enumerate(routes):
            if not isinstance(route, dict):
                return "presets[%d].routes[%d] is not an object" % (i, k)
            if "to" in route and not isinstance(route["to"], list):
                return "presets[%d].routes[%d].to is not a list" % (i, k)
    return None


def open_bytes(data: bytes, name: str | None) -> dict:
    """An uploaded presets file, checked; the document to edit, or Problem (nothing opened)."""
    filename = safe_name(name)
    if len(data) > MAX_PRESETS_BYTES:
        raise too_big(filename, len(data))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise Problem(
            "%s is not a text file (not UTF-8), so it is not a presets.json; nothing was opened"
            % filename
        ) from None
    verdict = check_text(text, filename)
    try:
        doc = json.loads(text[1:] if text.startswith("\ufeff") else text)
    except ValueError:
        reasons = [e["text"] for e in verdict["errors"]]
        raise Problem(
            "%s is not JSON, so it is not a presets.json; nothing was opened" % filename,
            details=reasons,
        ) from None
    shape = _shape_problem(doc)
    if shape is not None:
        raise Problem(
            "%s is JSON but not in the presets shape (%s), so the editor cannot draw it; nothing "
            "was opened. Fix it in a text editor (`tools/check.py %s` says where)"
            % (filename, shape, filename),
            details=[e["text"] for e in verdict["errors"]],
        )
    verdict.update({"doc": doc, "filename": filename})
    return verdict


def open_studio() -> dict:
    """The shipped presets.json (the studio's)."""
    return open_bytes(STUDIO_PRESETS.read_bytes(), STUDIO_PRESETS.name)


def meta() -> dict:
    """What the page needs to know about the box: ports, types, panel labels, limits."""
    return {
        "inputs": list(presets.INPUTS),
        # a route's "from" also takes the box's own clock (switchyard/clockgen.py)
        "route_inputs": list(presets.INPUTS) + [presets.CLOCK_INPUT],
        "outputs": list(presets.OUTPUTS),
        "control_inputs": list(presets.CONTROL_INPUTS),
        "switch_modes": list(presets.SWITCH_MODES),
        "types": [
            {"name": n, "label": TYPE_LABELS[n], "code": describe.TYPE_CODES.get(n, n)}
            for n in midi.TYPE_NAMES
        ],
        "buttons": [describe.button_label(i) for i in range(presets.MAX_PRESETS)],
        "max_presets": presets.MAX_PRESETS,
        "max_presets_bytes": MAX_PRESETS_BYTES,
    }
