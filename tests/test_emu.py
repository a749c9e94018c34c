"""emu/: the host side of running the firmware on CircuitPython in rp2040js.

The emulator itself needs a CircuitPython UF2 and the RP2040 bootrom, which this repository
does not hold, so it runs behind `make emu` only. These tests cover what does not need them:
decoding output pins into bytes, the wire timing of inputs and UART outputs, the drive image's
contents, and `make emu` refusing to start without a UF2.
"""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load(name):
    spec = importlib.util.spec_from_file_location("emu_" + name, ROOT / "emu" / (name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


pico = load("pico")
BIT = pico.BIT_NS


def line(frames, idle_before=0):
    """(ns, level) transitions of an 8N1 TX pin sending (start ns, byte) frames."""
    out = [(idle_before, 1)]
    for start, byte in frames:
        bits = [0] + [(byte >> k) & 1 for k in range(8)] + [1]
        for k, level in enumerate(bits):
            if level != out[-1][1]:
                out.append((start + k * BIT, level))
    return out


def test_decode_8n1_reads_bytes_and_their_start_times():
    frames = [(1_000_000, 0xF8), (1_320_000, 0x90), (1_640_000, 0x3C), (5_000_123, 0x00)]
    assert pico.decode_8n1(line(frames)) == frames


def test_decode_8n1_by_hand():
    # 0x55 = 0101 0101, LSB first after the start bit: 0 1 0 1 0 1 0 1 0 1(stop):
    # the line toggles every bit from the start bit to the stop bit.
    transitions = [(0, 1)] + [(100 + k * BIT, k % 2) for k in range(10)]
    assert pico.decode_8n1(transitions) == [(100, 0x55)]


def test_decode_8n1_drops_a_frame_with_a_low_stop_bit_and_reads_undriven_as_high():
    broken = [(0, 1), (1000, 0), (1000 + 10 * BIT, 1)]  # low through the stop bit: a break
    assert pico.decode_8n1(broken) == []
    undriven = [(0, -1), (500, 0), (500 + BIT, -1)]  # start bit, then all ones (0xFF)
    assert pico.decode_8n1(undriven) == [(500, 0xFF)]


def test_uart_tx_wire_sends_the_fifo_back_to_back():
    writes = [(1000, 0x90), (1010, 0x3C), (1020, 0x64), (2_000_000, 0xF8)]
    assert pico.uart_tx_wire(writes) == [
        (1000, 0x90),
        (1000 + pico.BYTE_NS, 0x3C),
        (1000 + 2 * pico.BYTE_NS, 0x64),
        (2_000_000, 0xF8),
    ]


def test_wire_bytes_queue_behind_a_busy_line_like_the_simulator():
    events = [(100, b"\x90\x3c\x64"), (200, b"\xf8"), (10_000, b"\xfc")]
    assert pico.wire_bytes(events) == [
        (100_000, 0x90),
        (420_000, 0x3C),
        (740_000, 0x64),
        (1_060_000, 0xF8),  # queued behind the note: the line was busy at 200 us
        (10_000_000, 0xFC),
    ]


def test_drive_image_holds_what_deploy_installs_as_py():
    files = pico.drive_files(None)
    package = sorted(p.name for p in (ROOT / "lib" / "switchyard").glob("*.py"))
    assert sorted(k.split("/")[-1] for k in files if k.startswith("lib/switchyard/")) == package
    assert files["code.py"] == (ROOT / "code.py").read_bytes()
    assert files["boot.py"] == (ROOT / "boot.py").read_bytes()
    assert files["presets.json"] == (ROOT / "presets.json").read_bytes()
    assert not [k for k in files if k.endswith(".mpy")]


@pytest.mark.parametrize("extra", [[], ["UF2=/nonexistent/circuitpython.uf2"]])
def test_make_emu_without_a_uf2_fails_with_one_line(extra):
    run = subprocess.run(
        ["make", "--no-print-directory", "-s", "emu", *extra],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    assert run.returncode != 0
    message = [
        ln for ln in run.stderr.splitlines() if ln.strip() and not re.match(r"make(\[\d+\])?: ", ln)
    ]
    assert len(message) == 1, run.stderr
    assert "UF2" in message[0]


def test_cpunix_refuses_a_binary_that_is_not_circuitpython(tmp_path, capsys):
    cpunix = load("cpunix")
    fake = tmp_path / "micropython"
    fake.write_text(f"#!{sys.executable}\nprint('micropython')\n")
    fake.chmod(0o755)
    assert cpunix.main(["--micropython", str(fake)]) == 1
    assert "not CircuitPython's unix port" in capsys.readouterr().err
