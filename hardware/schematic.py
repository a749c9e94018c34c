"""Draw the Switchyard schematic and write the BOM, all from hardware/netlist.json.

    python hardware/schematic.py        (make schematic)

writes hardware/schematic.svg, hardware/schematic.png and hardware/bom.csv. The netlist is the
source of truth: every part, value and GPIO in the picture is read from it (the series parts of
each jack are found by following its nets), so the picture cannot drift from the netlist, and
tests/test_hardware.py regenerates the SVG and the BOM and compares them with the committed files.
The SVG is deterministic (no timestamps, clip ids renumbered from 0).
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import schemdraw
import schemdraw.elements as elm

HERE = Path(__file__).resolve().parent
NETLIST = HERE / "netlist.json"
SVG = HERE / "schematic.svg"
PNG = HERE / "schematic.png"
BOM = HERE / "bom.csv"

# Parts a signal passes straight through: a jack's chain of these ends at a rail or a GPIO.
SERIES_PREFIXES = ("R", "FB")
MCU = "U1"
POWER_NETS = ("+3V3", "GND")


def ref_prefix(ref: str) -> str:
    return ref.rstrip("0123456789")


def ref_key(ref: str) -> tuple[str, int]:
    prefix = ref_prefix(ref)
    return (prefix, int(ref[len(prefix) :]))


class Netlist:
    """hardware/netlist.json with the look-ups the drawing and the BOM need."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.title: str = doc["title"]
        self.components: dict[str, dict[str, Any]] = {c["ref"]: c for c in doc["components"]}
        self.nets: dict[str, list[str]] = doc["nets"]
        self.no_connect: list[str] = doc.get("no_connect", [])
        self._net_of: dict[str, str] = {}
        for name, nodes in self.nets.items():
            for node in nodes:
                if node in self._net_of:
                    raise ValueError(f"{node} is on two nets: {self._net_of[node]} and {name}")
                self._net_of[node] = name

    @classmethod
    def load(cls, path: Path = NETLIST) -> Netlist:
        with open(path, encoding="utf-8") as f:
            return cls(json.load(f))

    def net_of(self, node: str) -> str | None:
        return self._net_of.get(node)

    def by_function(self, function: str) -> list[dict[str, Any]]:
        found = [c for c in self.doc["components"] if c.get("function") == function]
        return sorted(found, key=lambda c: ref_key(c["ref"]))

    def mcu_pin(self, net: str) -> str | None:
        """The Pico pin name (GP0, 3V3(OUT), ...) on a net, if any."""
        for node in self.nets.get(net, []):
            ref, pin = node.split(".", 1)
            if ref == MCU:
                return pin
        return None

    def mcu_physical(self, name: str) -> list[int]:
        pins = self.components[MCU]["pins"]
        return sorted(int(num) for num, pin_name in pins.items() if pin_name == name)

    def trace(self, node: str) -> tuple[list[str], str]:
        """Follow a signal from `node` through series parts (R, FB).

        Returns the parts in order and the net where the chain ends: a rail, a GPIO net or a
        branch (a net with more than one other node).
        """
        chain: list[str] = []
        net = self.net_of(node)
        if net is None:
            raise ValueError(f"{node} is not on any net")
        current = node
        while True:
            others = [n for n in self.nets[net] if n != current]
            if len(others) != 1 or net in POWER_NETS:
                return chain, net
            ref, pin = others[0].split(".", 1)
            if ref_prefix(ref) not in SERIES_PREFIXES or ref in chain:
                return chain, net
            chain.append(ref)
            current = f"{ref}.{'2' if pin == '1' else '1'}"
            next_net = self.net_of(current)
            if next_net is None:
                raise ValueError(f"{current} is not on any net")
            net = next_net


# ---------------------------------------------------------------------------------------------
# Bill of materials


BOM_COLUMNS = ("reference", "value", "part", "quantity", "notes")


def bom_rows(netlist: Netlist) -> list[dict[str, Any]]:
    """One row per (value, part): references, quantity, footprint and panel labels."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for comp in netlist.doc["components"]:
        groups.setdefault((comp["value"], comp["part"]), []).append(comp)
    rows = []
    for (value, part), comps in groups.items():
        comps = sorted(comps, key=lambda c: ref_key(c["ref"]))
        optional = all(c.get("optional", False) for c in comps)
        labels = ", ".join(f"{c['ref']} {c['label']}" for c in comps if "label" in c)
        notes = [comps[0].get("footprint", "")]
        if labels:
            notes.append("panel: " + labels)
        if optional:
            notes.append("optional (CA-033 RF filter): fit a wire link instead")
        rows.append(
            {
                "reference": " ".join(c["ref"] for c in comps),
                "value": value,
                "part": part,
                "quantity": len(comps),
                "notes": "; ".join(n for n in notes if n),
                "optional": optional,
            }
        )
    rows.sort(key=lambda r: ref_key(r["reference"].split()[0]))
    return rows


def bom_csv(netlist: Netlist) -> str:
    rows = bom_rows(netlist)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(BOM_COLUMNS)
    for row in rows:
        writer.writerow([row[c] for c in BOM_COLUMNS])
    total = sum(r["quantity"] for r in rows)
    optional = sum(r["quantity"] for r in rows if r["optional"])
    writer.writerow(["TOTAL", "", f"{len(rows)} line items", total, f"{optional} of them optional"])
    return out.getvalue()


# ---------------------------------------------------------------------------------------------
# Drawing

FONT = 11
SMALL = 9
NET_COLOR = "#1f4e9a"
PITCH = 1.25  # pin spacing of the jack and opto boxes
NOTES = (
    "MIDI OUT (MIDI Association CA-033, 3.3 V): 33 Ω from +3V3 to pin 4, 10 Ω from the GPIO"
    " (PIO UART TX) to pin 5, pin 2 to GND; ferrite beads optional.",
    "MIDI IN: 220 Ω into an opto that runs at 3.3 V (H11L1, or PC900V: same pinout; not"
    " 6N137/6N138, they need 4.5-5 V), 1N4148 across its LED, 470 Ω pull-up; pin 2 open.",
    "Labels with the same name are the same net. Pin numbers outside the boxes, pin names inside.",
)

Drawing = schemdraw.Drawing
XY = Any  # a schemdraw point or an (x, y) tuple


def _part_label(netlist: Netlist, ref: str) -> str:
    comp = netlist.components[ref]
    if ref_prefix(ref) == "FB":
        return f"{ref}\nbead" + (" (opt.)" if comp.get("optional") else "")
    return f"{ref}\n{comp['value']}"


def _text(
    d: Drawing,
    at: XY,
    text: str,
    size: float = FONT,
    halign: str = "left",
    valign: str = "center",
    color: str = "black",
) -> None:
    d.add(elm.Label().at(at).label(text, fontsize=size, halign=halign, valign=valign, color=color))


def _labelled(element: elm.Element, text: str, loc: str = "top") -> elm.Element:
    return element.label(text, loc=loc, fontsize=SMALL)


def _series_part(ref: str) -> elm.Element:
    if ref_prefix(ref) == "FB":
        return elm.ResistorIEC(fill="#999999").scale(0.7)
    return elm.Resistor().scale(0.8)


def _net_flag(d: Drawing, at: XY, text: str, to_left: bool) -> None:
    """A signal label: where two ends carry the same name they are one net."""
    d.add(elm.Dot(radius=0.08).at(at))
    x, y = at
    _text(
        d,
        (x - 0.2, y) if to_left else (x + 0.2, y),
        text,
        size=SMALL,
        halign="right" if to_left else "left",
        color=NET_COLOR,
    )


def _net_name(netlist: Netlist, net: str) -> str:
    gpio = netlist.mcu_pin(net)
    return f"{net} ({gpio})" if gpio else net


def _vdd(d: Drawing, at: XY, net: str) -> None:
    d.add(elm.Vdd().at(at).label(net, fontsize=SMALL))


def _gnd(d: Drawing, at: XY) -> None:
    d.add(elm.Ground().at(at))


def _box(
    title: str,
    pins: Iterable[tuple[str, str, str]],
    anchor: str,
    at: XY,
    pitch: float = PITCH,
    pad_w: float = 1.6,
    leadlen: float = 0.5,
    title_loc: str = "top",
    title_size: float = FONT,
) -> elm.Ic:
    """A labelled box; pins are (number, name, side), listed from the bottom of each side up."""
    return (
        elm.Ic(
            pins=[elm.IcPin(name=name, pin=num, side=side) for num, name, side in pins],
            pinspacing=pitch,
            edgepadH=0.5,
            edgepadW=pad_w,
            lsize=SMALL,
            plblsize=SMALL,
            leadlen=leadlen,
        )
        .right()
        .label(title, loc=title_loc, fontsize=title_size)
        .anchor(anchor)
        .at(at)
    )


def draw_output(d: Drawing, netlist: Netlist, jack: dict[str, Any], x: float, y: float) -> None:
    """One MIDI OUT: +3V3 -> 33 Ω -> (FB) -> pin 4, TX -> 10 Ω -> (FB) -> pin 5, pin 2 -> GND."""
    ref = jack["ref"]
    pins = [("2", "shld", "left"), ("5", "sink", "left"), ("4", "src", "left")]
    box = d.add(_box(f"{ref}  {jack['label']}", pins, "pin4", (x, y)))
    for pin in ("4", "5"):
        chain, end = netlist.trace(f"{ref}.{pin}")
        start = getattr(box, f"pin{pin}")
        for part in chain:
            start = d.add(
                _labelled(_series_part(part).at(start).left(), _part_label(netlist, part))
            ).end
        lead = d.add(elm.Line().at(start).left().length(0.5))
        if end in POWER_NETS:
            rise = d.add(elm.Line().at(lead.end).up().length(0.4))
            _vdd(d, rise.end, end)
        else:
            _net_flag(d, lead.end, _net_name(netlist, end), to_left=True)
    shield = d.add(elm.Line().at(box.pin2).left().length(0.6))
    if netlist.net_of(f"{ref}.2") == "GND":
        _gnd(d, shield.end)


def _part_on_net(netlist: Netlist, net: str, prefix: str) -> str:
    return next(n.split(".")[0] for n in netlist.nets[net] if ref_prefix(n.split(".")[0]) == prefix)


def draw_input(d: Drawing, netlist: Netlist, jack: dict[str, Any], x: float, y: float) -> None:
    """One MIDI IN: pin 4 -> 220 -> opto LED -> pin 5, 1N4148 across it, pull-up on VO."""
    ref = jack["ref"]
    opto = next(c for c in netlist.by_function("opto") if c["port"] == jack["port"])
    u = opto["ref"]
    pins = [("2", "n.c.", "right"), ("5", "sink", "right"), ("4", "src", "right")]
    box = d.add(_box(f"{ref}  {jack['label']}", pins, "pin4", (x, y)))
    d.add(elm.NoConnect().at(box.pin2))
    # LED side on the left (pins 1, 2), detector side on the right (6, 4, 5).
    opto_pins = [
        ("2", "K", "left"),
        ("1", "A", "left"),
        ("5", "GND", "right"),
        ("4", "VO", "right"),
        ("6", "VCC", "right"),
    ]
    ic = d.add(_box(f"{u}  {opto['value']}", opto_pins, "pin1", (x + 9.0, y)))
    chain, anode_net = netlist.trace(f"{ref}.4")
    start = box.pin4
    for part in chain:
        start = d.add(
            _labelled(_series_part(part).at(start).right(), _part_label(netlist, part))
        ).end
    d.add(elm.Line().at(start).to(ic.pin1))
    d.add(elm.Line().at(box.pin5).to(ic.pin2))
    # The protection diode sits across the LED: cathode on the anode row.
    diode = _part_on_net(netlist, anode_net, "D")
    xd = ic.pin1[0] - 1.2
    d.add(elm.Dot(radius=0.08).at((xd, ic.pin1[1])))
    d.add(elm.Dot(radius=0.08).at((xd, ic.pin2[1])))
    d.add(
        _labelled(
            elm.Diode().endpoints((xd, ic.pin2[1]), (xd, ic.pin1[1])),
            _part_label(netlist, diode),
            loc="bottom",
        )
    )
    vcc = d.add(elm.Line().at(ic.pin6).right().length(0.6))
    rise = d.add(elm.Line().at(vcc.end).up().length(0.6))
    _vdd(d, rise.end, netlist.net_of(f"{u}.6") or "?")
    gnd = d.add(elm.Line().at(ic.pin5).right().length(0.6))
    drop = d.add(elm.Line().at(gnd.end).down().length(0.4))
    _gnd(d, drop.end)
    rx_net = netlist.net_of(f"{u}.4") or "?"
    pullup = _part_on_net(netlist, rx_net, "R")
    vo = d.add(elm.Line().at(ic.pin4).right().length(2.2))
    d.add(elm.Dot(radius=0.08).at(vo.end))
    rpu = d.add(
        _labelled(
            elm.Resistor().scale(0.8).at(vo.end).up(), _part_label(netlist, pullup), loc="bottom"
        )
    )
    _vdd(d, rpu.end, netlist.net_of(f"{pullup}.1") or "?")
    out = d.add(elm.Line().at(vo.end).right().length(1.0))
    _net_flag(d, out.end, _net_name(netlist, rx_net), to_left=False)


def draw_mcu(d: Drawing, netlist: Netlist, x: float, y: float) -> None:
    u1 = netlist.components[MCU]
    names = {int(k): v for k, v in u1["pins"].items()}
    used = {
        node.split(".", 1)[1]: net
        for net, nodes in netlist.nets.items()
        for node in nodes
        if node.startswith(MCU + ".")
    }
    # Pico pin 1 is top left, pin 40 top right; a box side lists its pins from the bottom up.
    pins = [(str(n), names[n], "left") for n in range(20, 0, -1)]
    pins += [(str(n), names[n], "right") for n in range(21, 41)]
    ic = d.add(
        _box(
            f"{MCU}  {u1['value']}\n(or Pico 2)",
            pins,
            "pin1",
            (x, y),
            pitch=0.9,
            pad_w=4.2,
            leadlen=0.6,
            title_loc="center",
            title_size=FONT + 2,
        )
    )
    for n, name in sorted(names.items()):
        at = getattr(ic, f"pin{n}")
        left = n <= 20
        if name in used:
            lead = elm.Line().at(at).length(1.0)
            lead = d.add(lead.left() if left else lead.right())
            _net_flag(d, lead.end, used[name], to_left=left)
        elif name == "VBUS":
            # The USB socket is the Pico's own: 5 V in, USB MIDI and the CIRCUITPY drive.
            out = d.add(elm.Line().at(at).right().length(0.8))
            rise = d.add(elm.Line().at(out.end).up().length(1.6))
            d.add(
                _box(
                    "USB micro-B on the Pico\n5 V in, USB MIDI, CIRCUITPY",
                    [("1", "VBUS", "left")],
                    "pin1",
                    rise.end,
                    pad_w=1.2,
                    leadlen=0.8,
                    title_size=SMALL,
                )
            )
        elif name.startswith("GP"):
            d.add(elm.NoConnect().at(at))


def _column_head(d: Drawing, netlist: Netlist, net: str, at: XY) -> None:
    _net_flag(d, at, "", to_left=False)
    gpio = netlist.mcu_pin(net)
    _text(
        d,
        (at[0], at[1] + 0.5),
        f"{net}\n({gpio})",
        size=SMALL,
        halign="center",
        valign="bottom",
        color=NET_COLOR,
    )


def draw_buttons(d: Drawing, netlist: Netlist, x: float, y: float) -> None:
    for i, sw in enumerate(netlist.by_function("button")):
        ref = sw["ref"]
        px = x + i * 3.4
        _column_head(d, netlist, netlist.net_of(f"{ref}.1") or "?", (px, y))
        button = d.add(
            _labelled(
                elm.Button().at((px, y)).down().scale(0.7), f"{ref}\n{sw['label']}", loc="bottom"
            )
        )
        if netlist.net_of(f"{ref}.2") == "GND":
            _gnd(d, button.end)
    _text(d, (x - 1.0, y + 2.4), "Buttons: GPIO to GND, internal pull-up (pressed = 0)", size=SMALL)


def draw_leds(d: Drawing, netlist: Netlist, x: float, y: float) -> None:
    for i, led in enumerate(netlist.by_function("led")):
        ref = led["ref"]
        chain, gpio_net = netlist.trace(f"{ref}.A")
        px = x + i * 3.4
        _column_head(d, netlist, gpio_net, (px, y))
        start: XY = (px, y)
        for part in reversed(chain):
            start = d.add(
                _labelled(
                    _series_part(part).at(start).down(), _part_label(netlist, part), loc="bottom"
                )
            ).end
        diode = d.add(
            _labelled(elm.LED().at(start).down().scale(0.8), f"{ref}\n{led['label']}", loc="bottom")
        )
        if netlist.net_of(f"{ref}.K") == "GND":
            _gnd(d, diode.end)
    _text(d, (x - 1.0, y + 2.4), "LEDs: GPIO high = on", size=SMALL)


def draw_power(d: Drawing, netlist: Netlist, x: float, y: float) -> None:
    """Every capacitor from +3V3 to GND, each marked with the part it belongs next to."""
    caps = sorted({n.split(".")[0] for n in netlist.nets["+3V3"] if n.startswith("C")}, key=ref_key)
    for i, cap in enumerate(c for c in caps if netlist.net_of(f"{c}.2") == "GND"):
        near = netlist.components[cap].get("near")
        where = f"at {near}" if near else "bulk"
        cx = x + i * 3.4
        _vdd(d, (cx, y), "+3V3")
        c = d.add(
            _labelled(
                elm.Capacitor().scale(0.6).at((cx, y)).down(),
                f"{_part_label(netlist, cap)}\n{where}",
                loc="bottom",
            )
        )
        _gnd(d, c.end)
    _text(
        d,
        (x - 1.0, y + 2.4),
        "Power: USB 5 V -> Pico VBUS -> on-board buck -> 3V3(OUT) = +3V3",
        size=SMALL,
    )


def build_drawing(netlist: Netlist) -> Drawing:
    d = schemdraw.Drawing(show=False)
    d.config(fontsize=FONT, lw=1.2, unit=2.5, bgcolor="white")
    _text(d, (-31.0, 16.0), netlist.title, size=FONT + 5)
    for i, line in enumerate(NOTES):
        _text(d, (-31.0, 14.6 - i * 0.8), line, size=SMALL)
    draw_mcu(d, netlist, -4.0, 9.0)
    for i, jack in enumerate(netlist.by_function("midi_in")):
        draw_input(d, netlist, jack, -27.5, 6.0 - i * 8.0)
    for i, jack in enumerate(netlist.by_function("midi_out")):
        col, row = divmod(i, 3)
        draw_output(d, netlist, jack, 20.5 + col * 16.5, 8.0 - row * 7.0)
    draw_buttons(d, netlist, -29.0, -13.5)
    draw_leds(d, netlist, 2.0, -13.5)
    draw_power(d, netlist, 26.0, -13.5)
    return d


_CLIP_ID = re.compile(r"clip(\d+)")
# Break the one-line SVG after each element that is not inside a <text>, so diffs stay readable.
_ELEMENT_END = re.compile(r"(/>|</text>|</g>|</defs>)(?=<)")


def render_svg(netlist: Netlist) -> str:
    d = build_drawing(netlist)
    d.draw(show=False, canvas="svg")
    svg = d.fig.getimage("svg").decode("utf-8")  # type: ignore[union-attr]
    # schemdraw numbers clip paths with a process-wide counter: renumber from 0 so the file
    # only changes when the drawing does.
    ids: dict[str, str] = {}

    def renumber(m: re.Match[str]) -> str:
        return "clip" + ids.setdefault(m.group(1), str(len(ids)))

    svg = _CLIP_ID.sub(renumber, svg)
    return _ELEMENT_END.sub("\\1\n", svg).rstrip("\n") + "\n"


def write_png(netlist: Netlist, path: Path, dpi: int = 110) -> None:
    import matplotlib

    matplotlib.use("Agg")
    d = build_drawing(netlist)
    d.draw(show=False, canvas="matplotlib")
    d.save(str(path), transparent=False, dpi=dpi)


def main(argv: list[str]) -> int:
    netlist = Netlist.load()
    SVG.write_text(render_svg(netlist), encoding="utf-8")
    BOM.write_text(bom_csv(netlist), encoding="utf-8")
    if "--no-png" not in argv:
        write_png(netlist, PNG)
    print(f"wrote {SVG.name}, {BOM.name}" + ("" if "--no-png" in argv else f", {PNG.name}"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
