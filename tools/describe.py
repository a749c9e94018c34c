"""Presets as people read them: the routing matrix tools/check.py prints, and its parts.

    describe(config)        each preset as a matrix, inputs by outputs (tools/check.py)
    matrix_cells(preset)    the route labels of each cell (tools/matrix.py's SVG)
    route_label, type_codes, channel_list, button_label, port_label, type_legend, wrap

Used by tools/check.py, tools/matrix.py and the editor; the box never shows a summary, so
this lives here and not in lib/switchyard. It imports switchyard.midi and switchyard.presets,
so lib/ must be on sys.path first (each user puts it there). It keeps to what MicroPython
has, as the presets code does: tests/test_presets.py runs it there and compares the lines.
"""

from switchyard import midi, transforms
from switchyard.presets import (
    ALL_CHANNELS,
    CLOCK_INPUT,
    INPUTS,
    OUTPUTS,
    Config,
    Preset,
    Route,
)

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


def route_label(route: Route) -> str:
    """One route in a matrix cell: "pb+mw ch2,3 >ch1", "pb+mw follow A:2,3"."""
    label = type_codes(route.types)
    if route.channels != ALL_CHANNELS:
        label += " ch" + channel_list(route.channels)
    if route.to_channel:
        label += " >ch" + str(route.to_channel)
    if route.follow_input is not None:
        label += " follow " + route.follow_input + ":" + channel_list(route.follow_channels)
    if route.clock_divide > 1:
        label += " /%d" % route.clock_divide  # every n-th clock
    return label


def transform_label(route: Route) -> str:
    """What a route changes, for the line under its matrix: "C-1..B3 +12, vel 30..110"."""
    parts = []
    if route.keys is not None:
        parts.append("keys %s..%s" % (transforms.note_name(route.keys[0]),
                                      transforms.note_name(route.keys[1])))
    if route.transpose:
        parts.append("transpose %+d" % route.transpose)
    if route.velocity is not None:
        kind, low, high = route.velocity
        parts.append("velocity %d" % low if kind == "fixed" else "velocity %d..%d" % (low, high))
    if route.cc_map:
        parts.append(" ".join("CC%d>CC%d" % (k, v) for k, v in sorted(route.cc_map.items())))
    return ", ".join(parts)


def transform_lines(preset: Preset) -> list:
    """The notes [1], [2]... that matrix_cells() marks, one a line."""
    lines = []
    for route in preset.routes:
        if route.transforms():
            lines.append("[%d] %s" % (len(lines) + 1, transform_label(route)))
    return lines


def send_line(preset: Preset) -> str | None:
    """What a preset sends when chosen, in order, or None."""
    if not preset.send:
        return None
    parts = []
    for entry in preset.send:
        what = []
        if entry.bank is not None:
            what.append("bank %d/%d" % entry.bank)
        what += ["cc%d=%d" % pair for pair in entry.ccs]
        if entry.program >= 0:
            what.append("program %d (%d)" % (entry.program, entry.program + 1))
        parts.append("out %s ch%d %s" % (",".join(entry.outputs), entry.channel,
                                         " ".join(what)))
    return "sends when chosen: " + "; ".join(parts)


def row_ports(config: Config) -> tuple:
    """The matrix rows: the inputs, and CLK (the box's own clock) when a route uses it."""
    if any(r.source == CLOCK_INPUT for p in config.presets for r in p.routes):
        return INPUTS + (CLOCK_INPUT,)
    return INPUTS


def matrix_cells(preset: Preset, rows: tuple = INPUTS) -> list:
    """Route labels per cell: cells[row][column], rows `rows` (row_ports()), columns
    OUTPUTS."""
    cells: list = [[[] for _ in OUTPUTS] for _ in rows]
    marks = 0
    for route in preset.routes:
        label = route_label(route)
        if route.transforms():  # what it changes: transform_lines(), by this number
            marks += 1
            label += " [%d]" % marks
        if route.source not in rows:
            continue
        row = cells[rows.index(route.source)]
        for out in route.outputs:
            row[OUTPUTS.index(out)].append(label)
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
    if config.tempo_bpm10:
        head += "; CLK at %d.%d BPM" % (config.tempo_bpm10 // 10, config.tempo_bpm10 % 10)
    lines.append(head)
    row_names = row_ports(config)
    rows = [port_label(config, p) for p in row_names]
    row_width = max(len(r) for r in rows) + 2
    for index, preset in enumerate(config.presets):
        lines.append("")
        lines.append(button_label(index) + "  " + preset.name)
        cells = matrix_cells(preset, row_names)
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
        for note in transform_lines(preset):
            lines.extend(wrap(note, 92))
        sends = send_line(preset)
        if sends is not None:
            lines.extend(wrap(sends, 92))
    lines.append("")
    legend = "types: " + type_legend() + "; .: nothing; chN: input channels N; >chN: sent on "
    legend += "channel N; follow X:N: sent on the channel of the latest note-on from input X "
    legend += "among channels N"
    if any(r.transforms() for p in config.presets for r in p.routes):
        legend += "; [N]: the route changes what it sends, as note N under the preset says"
    if any(r.clock_divide > 1 for p in config.presets for r in p.routes):
        legend += "; /N: every N-th clock (from Start)"
    if CLOCK_INPUT in row_ports(config):
        legend += "; CLK: the box's own clock"
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
