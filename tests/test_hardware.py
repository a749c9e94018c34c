"""hardware/netlist.json against the board files, the chip's pin rules, CA-033, the BOM and the
committed schematic picture.

The board files (boards/*.py) are the source of truth for GPIO assignment; the netlist is the
source of truth for the circuit. These tests walk the netlist's nets on their own (they do not
reuse the drawing code's tracing) and check that every port, button and LED the firmware drives
is wired to the GPIO its board file names.
"""

from __future__ import annotations

import csv
import importlib
import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
HARDWARE = ROOT / "hardware"
if str(ROOT) not in sys.path:
    # boards/ is a plain package at the repo root; appended so the root's code.py cannot
    # shadow the standard library's `code` module.
    sys.path.append(str(ROOT))

BOARD_MODULES = ("boards.raspberry_pi_pico", "boards.raspberry_pi_pico2")
MCU = "U1"

# RP2040/RP2350 GPIO function table (UART function), user-visible Pico pins only.
UART_RX = {0: {"GP1", "GP13", "GP17"}, 1: {"GP5", "GP9", "GP21"}}
UART_TX = {0: {"GP0", "GP12", "GP16", "GP28"}, 1: {"GP4", "GP8", "GP20"}}
# Wired inside the Pico module (SMPS mode, VBUS sense, LED, VSYS/3 ADC): not on the header.
INTERNAL_GPIO = {"GP23", "GP24", "GP25", "GP29"}
PIO_STATE_MACHINES = {"RP2040": 8, "RP2350": 12}
OPTOS_AT_3V3 = ("H11L1", "PC900V")
NEEDS_5V = ("6N137", "6N138", "6N139")


def load_netlist() -> dict[str, Any]:
    with open(HARDWARE / "netlist.json", encoding="utf-8") as f:
        return json.load(f)


NETLIST = load_netlist()
COMPONENTS = {c["ref"]: c for c in NETLIST["components"]}
NETS: dict[str, list[str]] = NETLIST["nets"]


def net_of(node: str) -> str | None:
    found = [name for name, nodes in NETS.items() if node in nodes]
    assert len(found) <= 1, f"{node} is on several nets: {found}"
    return found[0] if found else None


def ohms(ref: str) -> float:
    value = COMPONENTS[ref]["value"]
    m = re.fullmatch(r"([\d.]+)\s*(k?)\s*Ω", value)
    assert m, f"{ref}: cannot read a resistance from {value!r}"
    return float(m.group(1)) * (1000 if m.group(2) else 1)


def walk_series(node: str) -> tuple[list[str], str]:
    """From a pin, step through resistors and ferrite beads; stop at a net that branches."""
    parts: list[str] = []
    net = net_of(node)
    assert net is not None, f"{node} is not connected"
    here = node
    while True:
        others = [n for n in NETS[net] if n != here]
        if len(others) != 1 or net in ("GND", "+3V3"):
            return parts, net
        ref, pin = others[0].split(".")
        if not ref.startswith(("R", "FB")) or ref.startswith("RUN"):
            return parts, net
        parts.append(ref)
        here = f"{ref}.{'2' if pin == '1' else '1'}"
        nxt = net_of(here)
        assert nxt is not None, f"{here} is not connected"
        net = nxt


def mcu_pins_on(net: str) -> list[str]:
    return [n.split(".", 1)[1] for n in NETS[net] if n.startswith(MCU + ".")]


def by_function(function: str) -> list[dict[str, Any]]:
    return [c for c in NETLIST["components"] if c.get("function") == function]


def jack_for(function: str, port: str) -> str:
    refs = [c["ref"] for c in by_function(function) if c["port"] == port]
    assert len(refs) == 1, f"expected one {function} jack for port {port}, found {refs}"
    return refs[0]


def load_schematic_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("hardware_schematic", HARDWARE / "schematic.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(params=BOARD_MODULES)
def board(request: pytest.FixtureRequest) -> ModuleType:
    return importlib.import_module(request.param)


# --- the netlist is well formed -------------------------------------------------------------


def pin_names(comp: dict[str, Any]) -> set[str]:
    ref = comp["ref"]
    if "pins" in comp:
        if ref == MCU:
            return set(comp["pins"].values())
        return set(comp["pins"])
    if ref.startswith("D"):
        return {"A", "K"}
    return {"1", "2"}


def test_every_node_names_a_real_pin_and_sits_on_one_net():
    seen: dict[str, str] = {}
    for net, nodes in NETS.items():
        assert len(nodes) >= 2, f"net {net} connects nothing: {nodes}"
        for node in nodes:
            ref, _, pin = node.partition(".")
            assert ref in COMPONENTS, f"{net}: unknown part {ref}"
            assert pin in pin_names(COMPONENTS[ref]), f"{net}: {ref} has no pin {pin!r}"
            assert node not in seen, f"{node} is on {seen[node]} and {net}"
            seen[node] = net
    for node in NETLIST["no_connect"]:
        assert node not in seen, f"{node} is marked not connected but is on {seen.get(node)}"


def test_every_part_is_connected_on_all_its_used_pins():
    connected = {n.split(".")[0] for nodes in NETS.values() for n in nodes}
    assert connected == set(COMPONENTS)
    for ref, comp in COMPONENTS.items():
        if ref == MCU:
            continue
        for pin in pin_names(comp):
            node = f"{ref}.{pin}"
            assert net_of(node) is not None or node in NETLIST["no_connect"], f"{node} floats"


def test_nothing_reaches_5v():
    # The box is 3.3 V throughout: VBUS/VSYS feed only the Pico's own regulator.
    for pin in ("VBUS", "VSYS"):
        assert net_of(f"{MCU}.{pin}") is None
    assert mcu_pins_on("+3V3") == ["3V3(OUT)"]
    assert mcu_pins_on("GND") == ["GND"]


# --- board files against the netlist -------------------------------------------------------


def test_inputs_are_wired_to_their_rx_pin_through_an_opto(board):
    for port, uart, pin in board.INPUTS:
        jack = jack_for("midi_in", port)
        assert pin in UART_RX[uart], f"IN {port}: {pin} cannot be UART{uart} RX"
        parts, anode_net = walk_series(f"{jack}.4")
        assert [ohms(p) for p in parts if p.startswith("R")] == [220.0]
        optos = [n.split(".")[0] for n in NETS[anode_net] if n.endswith(".1")]
        assert len(optos) == 1, f"IN {port}: pin 4 should reach one opto anode, got {optos}"
        opto = optos[0]
        assert net_of(f"{opto}.2") == net_of(f"{jack}.5"), "opto cathode must return to pin 5"
        rx_net = net_of(f"{opto}.4")
        assert rx_net is not None
        assert mcu_pins_on(rx_net) == [pin], f"IN {port}: opto output reaches {mcu_pins_on(rx_net)}"


def test_outputs_are_wired_to_their_tx_pin(board):
    for port, kind, pin in board.OUTPUTS:
        jack = jack_for("midi_out", port)
        parts, tx_net = walk_series(f"{jack}.5")
        assert mcu_pins_on(tx_net) == [pin], f"OUT {port}: pin 5 reaches {mcu_pins_on(tx_net)}"
        assert [ohms(p) for p in parts if p.startswith("R")] == [10.0]
        parts, rail = walk_series(f"{jack}.4")
        assert rail == "+3V3"
        assert [ohms(p) for p in parts if p.startswith("R")] == [33.0]
        assert net_of(f"{jack}.2") == "GND"
        assert kind in ("pio", "uart")


def test_outputs_1_and_2_can_also_use_the_hardware_uart(board):
    # busio.UART(tx=..., rx=...) needs TX and RX on the same instance: out 1 pairs with the
    # UART0 input, out 2 with the UART1 input, so the "uart" driver can serve either.
    rx_uart = {uart for _port, uart, _pin in board.INPUTS}
    assert rx_uart == {0, 1}
    by_port = {port: (kind, pin) for port, kind, pin in board.OUTPUTS}
    assert by_port["1"][1] in UART_TX[0]
    assert by_port["2"][1] in UART_TX[1]
    for port, kind, pin in board.OUTPUTS:
        if kind == "uart":
            assert any(pin in UART_TX[u] for u in rx_uart), f"OUT {port}: {pin} is no UART TX"


def test_pio_outputs_fit_the_state_machines(board):
    assert board.PIO_STATE_MACHINES == PIO_STATE_MACHINES[board.CHIP]
    pio = [pin for _port, kind, pin in board.OUTPUTS if kind == "pio"]
    assert len(pio) <= board.PIO_STATE_MACHINES


def test_buttons_are_wired_to_gnd_from_their_gpio(board):
    switches = {c["label"]: c["ref"] for c in by_function("button")}
    assert set(switches) == {name for name, _pin in board.BUTTONS}
    for name, pin in board.BUTTONS:
        sw = switches[name]
        net = net_of(f"{sw}.1")
        assert net is not None and mcu_pins_on(net) == [pin], f"button {name}"
        assert net_of(f"{sw}.2") == "GND"


def test_leds_are_wired_from_their_gpio_through_a_resistor(board):
    leds = {c["label"]: c["ref"] for c in by_function("led")}
    assert set(leds) == {name for name, _pin in board.LEDS}
    for name, pin in board.LEDS:
        led = leds[name]
        parts, gpio_net = walk_series(f"{led}.A")
        assert mcu_pins_on(gpio_net) == [pin], f"LED {name}"
        assert len(parts) == 1 and 330 <= ohms(parts[0]) <= 2200, f"LED {name}: {parts}"
        assert net_of(f"{led}.K") == "GND"


def board_pins(board: ModuleType) -> list[str]:
    pins = [pin for _port, _uart, pin in board.INPUTS]
    pins += [pin for _port, _kind, pin in board.OUTPUTS]
    pins += [pin for _name, pin in board.BUTTONS]
    pins += [pin for _name, pin in board.LEDS]
    return pins


def test_no_gpio_is_used_twice_and_none_is_internal(board):
    pins = board_pins(board)
    assert len(pins) == len(set(pins)), f"GPIO used twice: {sorted(pins)}"
    assert not set(pins) & INTERNAL_GPIO


def test_every_gpio_in_the_netlist_is_one_the_board_file_drives(board):
    wired = {n.split(".", 1)[1] for nodes in NETS.values() for n in nodes if n.startswith("U1.GP")}
    assert wired == set(board_pins(board))
    assert not wired & INTERNAL_GPIO


def pico_pin_number(gpio: str) -> int:
    numbers = [int(n) for n, name in COMPONENTS[MCU]["pins"].items() if name == gpio]
    assert len(numbers) == 1
    return numbers[0]


def test_build_guide_pin_table_matches_the_board_file(board):
    readme = (HARDWARE / "README.md").read_text(encoding="utf-8")
    rows = [("midi_in", f"MIDI IN {port}", port, pin) for port, _uart, pin in board.INPUTS]
    rows += [("midi_out", f"MIDI OUT {port}", port, pin) for port, _kind, pin in board.OUTPUTS]
    for function, label, port, pin in rows:
        jack = jack_for(function, port)
        row = f"| {label} | {jack} | {pin} (pin {pico_pin_number(pin)}) |"
        assert row in readme, f"README pin table: expected a row starting {row!r}"
    assert " ".join(pin for _name, pin in board.BUTTONS) in readme
    assert " ".join(pin for _name, pin in board.LEDS) in readme


# --- electrical values (MIDI CA-033 at 3.3 V) -----------------------------------------------


def test_receivers_are_3v3_optos_with_reverse_diode_and_pullup():
    optos = by_function("opto")
    assert len(optos) == 2
    for opto in optos:
        u = opto["ref"]
        assert opto["value"] in OPTOS_AT_3V3
        assert not any(bad in opto["part"] for bad in NEEDS_5V)
        assert net_of(f"{u}.6") == "+3V3" and net_of(f"{u}.5") == "GND"
        anode, cathode = net_of(f"{u}.1"), net_of(f"{u}.2")
        diodes = [n.split(".")[0] for n in NETS[anode] if n.startswith("D")]
        assert len(diodes) == 1
        d = diodes[0]
        assert COMPONENTS[d]["value"] == "1N4148"
        # Antiparallel: the diode conducts only when pins 4/5 are reversed.
        assert net_of(f"{d}.K") == anode and net_of(f"{d}.A") == cathode
        rx = net_of(f"{u}.4")
        pullups = [n.split(".")[0] for n in NETS[rx] if n.startswith("R")]
        assert len(pullups) == 1
        assert net_of(f"{pullups[0]}.1") == "+3V3"
        # Open-collector output: strong enough for clean 31250 baud edges, within 16 mA sink.
        assert 270 <= ohms(pullups[0]) <= 1000
        assert 3.3 / ohms(pullups[0]) < 0.016
        caps = [n.split(".")[0] for n in NETS["+3V3"] if n.startswith("C")]
        assert any(COMPONENTS[c].get("near", "").startswith(u) for c in caps), f"{u} decoupling"


def test_midi_in_pin_2_floats_and_unused_pins_are_marked():
    for jack in by_function("midi_in"):
        for pin in ("1", "2", "3"):
            assert f"{jack['ref']}.{pin}" in NETLIST["no_connect"]
    for jack in by_function("midi_out"):
        for pin in ("1", "3"):
            assert f"{jack['ref']}.{pin}" in NETLIST["no_connect"]


def test_loop_current_meets_the_receiver_spec():
    # Current on: 3.3 V through RA + RC + the receiver's 220 Ω and its LED (1.2..1.5 V).
    jack = jack_for("midi_out", "1")
    ra = sum(ohms(p) for p in walk_series(f"{jack}.4")[0] if p.startswith("R"))
    rc = sum(ohms(p) for p in walk_series(f"{jack}.5")[0] if p.startswith("R"))
    low = (3.3 - 1.5) / (ra + rc + 220)
    high = (3.3 - 1.2) / (ra + rc + 220)
    assert 0.005 < low < high < 0.010, (low, high)


# --- BOM ------------------------------------------------------------------------------------


def read_bom() -> tuple[list[dict[str, str]], dict[str, str]]:
    with open(HARDWARE / "bom.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    total = [r for r in rows if r["reference"] == "TOTAL"]
    assert len(total) == 1 and rows[-1] is total[0]
    return rows[:-1], total[0]


def test_bom_quantities_match_the_netlist():
    rows, total = read_bom()
    listed: list[str] = []
    for row in rows:
        refs = row["reference"].split()
        assert int(row["quantity"]) == len(refs), row
        for ref in refs:
            assert COMPONENTS[ref]["value"] == row["value"], ref
            assert COMPONENTS[ref]["part"] == row["part"], ref
        listed += refs
    assert sorted(listed) == sorted(COMPONENTS), "BOM and netlist list different parts"
    assert int(total["quantity"]) == len(COMPONENTS) == sum(int(r["quantity"]) for r in rows)


def test_bom_has_the_parts_a_builder_needs():
    rows, _total = read_bom()
    count: dict[str, int] = {}
    for row in rows:
        count[row["value"]] = count.get(row["value"], 0) + int(row["quantity"])
    assert count["DIN-5 180° female"] == 8
    assert count["H11L1"] == 2 and count["1N4148"] == 2
    assert count["33 Ω"] == 6 and count["10 Ω"] == 6 and count["220 Ω"] == 2
    assert count["tactile switch"] == 5
    assert sum(n for v, n in count.items() if v.startswith("LED")) == 6


def test_committed_bom_is_generated_from_the_netlist():
    schematic = load_schematic_module()
    generated = schematic.bom_csv(schematic.Netlist.load())
    assert (HARDWARE / "bom.csv").read_text(encoding="utf-8") == generated, "run make schematic"


# --- schematic picture ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def schematic() -> ModuleType:
    return load_schematic_module()


def svg_text(svg: str) -> str:
    return "\n".join(re.findall(r"<tspan[^>]*>([^<]*)</tspan>", svg))


def test_committed_svg_matches_the_netlist(schematic):
    generated = schematic.render_svg(schematic.Netlist.load())
    committed = (HARDWARE / "schematic.svg").read_text(encoding="utf-8")
    assert committed == generated, "hardware/schematic.svg is stale: run make schematic"
    assert schematic.render_svg(schematic.Netlist.load()) == generated  # deterministic


def test_svg_shows_every_part_and_gpio(schematic):
    text = svg_text((HARDWARE / "schematic.svg").read_text(encoding="utf-8"))
    tokens = set(re.split(r"[\s()]+", text))
    for ref in COMPONENTS:
        assert ref in tokens, f"{ref} is not drawn"
    board = importlib.import_module(BOARD_MODULES[0])
    for pin in board_pins(board):
        assert pin in tokens, f"{pin} is not labelled"


def test_picture_is_drawn_from_the_netlist(schematic):
    doc = load_netlist()
    for comp in doc["components"]:
        if comp["ref"] == "R13":
            comp["value"] = "330 Ω"
    # Move OUT 3's transmit pin from GP6 to GP2 (the picture must follow the netlist).
    doc["nets"]["OUT3_TX"] = ["U1.GP2" if n == "U1.GP6" else n for n in doc["nets"]["OUT3_TX"]]
    text = svg_text(schematic.render_svg(schematic.Netlist(doc)))
    assert "330 Ω" in text and "OUT3_TX (GP2)" in text and "OUT3_TX (GP6)" not in text


def test_png_is_committed():
    data = (HARDWARE / "schematic.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width > 2000 and height > 1000
