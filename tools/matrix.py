"""Draw presets.json as routing matrices: docs/presets.svg.

    python tools/matrix.py                      # presets.json -> docs/presets.svg
    python tools/matrix.py --check              # exit 1 if docs/presets.svg is stale
    python tools/matrix.py --presets FILE --out FILE.svg

One matrix per preset: inputs (A, B, USB) as rows, outputs (1..6, USB) as columns, each
cell listing the routes from that input to that output in the short type codes of
tools/check.py. Hand-written SVG, no dependency; the output is deterministic so the test
can compare it with the committed file.
"""

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "lib"))
if str(REPO) not in sys.path:
    sys.path.append(str(REPO))  # appended: the root code.py must not shadow the stdlib's code

from switchyard import presets  # noqa: E402

from tools import describe  # noqa: E402

FONT = "DejaVu Sans Mono, Menlo, Consolas, monospace"
FONT_SIZE = 12
CHAR_W = 7.3  # advance of one monospace character at FONT_SIZE, rounded up
LINE_H = 15
PAD = 8
MARGIN = 16
TITLE_H = 30
PANEL_TITLE_H = 26
HEADER_H = 2 * LINE_H + 2 * PAD
PANEL_GAP = 18
MIN_COL_W = 78
ROUTED_FILL = "#dcebfa"
EMPTY_FILL = "#ffffff"
HEADER_FILL = "#eef0f3"
GRID = "#9aa5b1"
INK = "#1f2933"
FAINT = "#9aa5b1"


def _escape(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def _text_w(text: str) -> int:
    return int(len(text) * CHAR_W + 0.999)


def _text(
    x: float, y: float, text: str, anchor: str = "start", weight: str = "", fill: str = INK
) -> str:
    bold = ' font-weight="bold"' if weight else ""
    return (
        f'<text x="{x:g}" y="{y:g}" text-anchor="{anchor}" fill="{fill}"{bold}>'
        f"{_escape(text)}</text>"
    )


def render(config: presets.Config, source: str = "presets.json") -> str:
    """The SVG document for config; source names the file in the title."""
    ports = describe.row_ports(config)
    row_labels = [describe.port_label(config, port) for port in ports]
    label_w = max(_text_w(label) for label in row_labels) + 2 * PAD
    grids = [describe.matrix_cells(preset, ports) for preset in config.presets]
    # one column width for all panels, so the matrices line up
    col_w = []
    for col, port in enumerate(presets.OUTPUTS):
        texts = [port, config.devices.get(port, "")]
        for cells in grids:
            for row in cells:
                texts.extend(row[col])
        col_w.append(max(MIN_COL_W, max(_text_w(t) for t in texts) + 2 * PAD))
    width = 2 * MARGIN + label_w + sum(col_w)
    legend = _legend_lines(width - 2 * MARGIN)

    body = []
    y = MARGIN + TITLE_H
    title = f"Switchyard presets ({source})"
    body.append(_text(MARGIN, MARGIN + 18, title, weight="bold"))
    for index, preset in enumerate(config.presets):
        y = _panel(body, config, index, preset, grids[index], row_labels, label_w, col_w, y)
        y += PANEL_GAP
    for line in legend:
        y += LINE_H
        body.append(_text(MARGIN, y, line, fill=INK))
    height = y + MARGIN

    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="{FONT}" font-size="{FONT_SIZE}">'
    )
    lines = [head, f"<title>{_escape(title)}</title>"]
    lines.append(f'<rect width="{width}" height="{height}" fill="#ffffff"/>')
    lines.extend(body)
    lines.append("</svg>")
    return "\n".join(lines) + "\n"


def _panel(body, config, index, preset, cells, row_labels, label_w, col_w, y) -> int:
    """Draw one preset's matrix with its top at y; returns the y below it."""
    heading = describe.button_label(index) + "  " + preset.name
    body.append(_text(MARGIN, y + 18, heading, weight="bold"))
    y += PANEL_TITLE_H
    x0 = MARGIN + label_w
    # header: output port and device name
    body.append(_rect(MARGIN, y, label_w, HEADER_H, HEADER_FILL))
    body.append(_text(MARGIN + PAD, y + PAD + 11, "in \\ out", fill=FAINT))
    x = x0
    for col, port in enumerate(presets.OUTPUTS):
        body.append(_rect(x, y, col_w[col], HEADER_H, HEADER_FILL))
        mid = x + col_w[col] / 2
        body.append(_text(mid, y + PAD + 11, port, anchor="middle", weight="bold"))
        name = config.devices.get(port, "")
        if name:
            body.append(_text(mid, y + PAD + 11 + LINE_H, name, anchor="middle"))
        x += col_w[col]
    y += HEADER_H
    for r, row in enumerate(cells):
        lines = max([1] + [len(c) for c in row])
        row_h = lines * LINE_H + 2 * PAD
        body.append(_rect(MARGIN, y, label_w, row_h, HEADER_FILL))
        body.append(_text(MARGIN + PAD, y + PAD + 11, row_labels[r], weight="bold"))
        x = x0
        for col, labels in enumerate(row):
            body.append(_rect(x, y, col_w[col], row_h, ROUTED_FILL if labels else EMPTY_FILL))
            mid = x + col_w[col] / 2
            if not labels:
                body.append(_text(mid, y + PAD + 11, "·", anchor="middle", fill=FAINT))
            for i, label in enumerate(labels):
                body.append(_text(mid, y + PAD + 11 + i * LINE_H, label, anchor="middle"))
            x += col_w[col]
        y += row_h
    return y


def _rect(x: float, y: float, w: float, h: float, fill: str) -> str:
    return f'<rect x="{x:g}" y="{y:g}" width="{w:g}" height="{h:g}" fill="{fill}" stroke="{GRID}"/>'


def _legend_lines(width: int) -> list[str]:
    text = (
        "Types: " + describe.type_legend() + ". chN: only input channels N; >chN: sent on "
        "channel N; follow X:N: sent on the channel of the latest note-on from input X among "
        "channels N. Buttons: P1..P4, then FN+P1..FN+P4."
    )
    return describe.wrap(text, max(20, int(width / CHAR_W) - 2))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="matrix.py", description=__doc__.split("\n")[0])
    parser.add_argument("--presets", default=str(REPO / "presets.json"), help="presets file")
    parser.add_argument("--out", default=str(REPO / "docs" / "presets.svg"), help="SVG to write")
    parser.add_argument("--check", action="store_true", help="only check that --out is current")
    args = parser.parse_args(argv)
    result = presets.load(args.presets)
    if not result.ok or result.config is None:
        for error in result.errors:
            print(error, file=sys.stderr)
        return 1
    svg = render(result.config, Path(args.presets).name)
    out = Path(args.out)
    if args.check:
        if not out.exists() or out.read_text(encoding="utf-8") != svg:
            print(f"{out} is out of date; run python tools/matrix.py", file=sys.stderr)
            return 1
        return 0
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(svg, encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
