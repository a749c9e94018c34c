"""What running the firmware on CircuitPython itself (emu/) showed that CPython does not.

Each test pins one behaviour of CircuitPython 9.2.9 on a raspberry_pi_pico, seen in rp2040js
or on CircuitPython's unix port, that the simulator's CPython would not show by itself.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "lib") not in sys.path:
    sys.path.insert(0, str(ROOT / "lib"))

from switchyard import presets  # noqa: E402


class CircuitPythonFile:
    """A file opened on CircuitPython: read(n) allocates n + 1 bytes before it reads (a
    vstr of the asked size, py/stream.c), however short the file, and fails with
    MemoryError when the heap has no block that large."""

    def __init__(self, data: bytes, largest_block: int):
        self.data = data
        self.pos = 0
        self.largest_block = largest_block
        self.asked: list[int] = []

    def read(self, n: int = -1) -> bytes:
        self.asked.append(n)
        want = len(self.data) - self.pos if n < 0 else n
        if want + 1 > self.largest_block:
            raise MemoryError("memory allocation failed, allocating %d bytes" % (want + 1))
        chunk = self.data[self.pos : self.pos + want]
        self.pos += len(chunk)
        return chunk

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def opener(data: bytes, largest_block: int, files: list):
    def fake_open(path, mode="r"):
        f = CircuitPythonFile(data, largest_block)
        files.append(f)
        return f

    return fake_open


def test_presets_load_needs_no_32k_block(monkeypatch):
    # On the emulated Pico with the package installed as .py, code.py stopped with
    # "MemoryError: memory allocation failed, allocating 32770 bytes" in presets.load:
    # read(MAX_FILE_BYTES + 1) asked for 32 KB at once for a 1.5 KB file.
    data = (ROOT / "presets.json").read_bytes()
    files: list = []
    monkeypatch.setattr(presets, "open", opener(data, 4096, files), raising=False)
    result = presets.load("/presets.json")
    assert result.ok, result.errors
    assert max(files[0].asked) <= 1024


def test_presets_load_still_refuses_a_file_over_the_limit(monkeypatch):
    data = b" " * (presets.MAX_FILE_BYTES + 1)
    files: list = []
    monkeypatch.setattr(presets, "open", opener(data, 4096, files), raising=False)
    result = presets.load("/presets.json")
    assert not result.ok
    assert "larger than 32768 bytes" in result.errors[0]
    assert max(files[0].asked) <= 1024


# Functions of lib/switchyard allowed to subscript with a slice: set-up, presets.json
# parsing, saving a preset or CLK's tapped tempo (and reading it at start-up), and the
# panic (FN long press), none of them in a steady pass.
SLICES_ALLOWED = {
    ("app", "_save_preset"),
    ("app", "_save_tempo"),
    ("app", "nvm_read_tempo"),
    ("merge", "__init__"),
    ("ports", "__init__"),
    ("presets", "parse"),
    ("presets", "unload_checks"),
    ("transforms", "note_number"),
    ("monitor", "__init__"),
    ("jsonscan", "_hex4"),
    ("jsonscan", "_scan_string"),
    ("jsonscan", "_scan_key"),
    ("jsonscan", "scan"),
    ("router", "panic_step"),
}


def test_no_slice_subscripts_in_the_steady_path():
    # On CircuitPython 9.2.9's VM (MicroPython 1.21) `buf[0:n] = chunk` allocates a slice
    # object: it raises MemoryError under micropython.heap_lock() on its unix port, where
    # CircuitPython 10.2.1 and MicroPython 1.27 (the VM of the heap_lock tests) allocate
    # nothing. So those tests cannot see a slice added to the loop; this one does.
    import ast

    found = set()
    for path in sorted((ROOT / "lib" / "switchyard").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for sub in ast.walk(node):
                    if isinstance(sub, ast.Subscript) and isinstance(sub.slice, ast.Slice):
                        found.add((path.stem, node.name))
    assert found <= SLICES_ALLOWED, sorted(found - SLICES_ALLOWED)


# --- the doubles against CircuitPython 9.2.9 on the emulated Pico -----------------------
# emu probe at the REPL (busio.UART(board.GP0, board.GP1, baudrate=31250, timeout=0), four
# bytes 90 3C 64 F8 in its RX FIFO):
#   u.readinto(buf, 2) -> 2 (buf starts 90 3C); u.readinto(buf) -> 2 (64 F8)
#   u.readinto(bytearray(4), 2) with nothing received -> None
#   u.write("ab") -> 2, and 61 62 went to the UART; usb_midi.ports[1].write("ab") -> 2


def _chip():
    if str(ROOT) not in sys.path:
        sys.path.append(str(ROOT))
    from sim import chip as chip_module
    from sim.chip import Chip

    c = Chip()
    chip_module.install(c)
    return chip_module, c


def test_uart_readinto_takes_a_length_as_circuitpython_does():
    chip_module, chip = _chip()
    try:
        from sim.doubles import board, busio

        u = busio.UART(board.GP0, board.GP1, baudrate=31250, timeout=0)
        assert u.readinto(bytearray(4), 2) is None  # nothing received yet
        chip.feed("GP1", 0, b"\x90\x3c\x64\xf8")
        chip.clock.advance_to(4 * 320 + 10)
        buf = bytearray(8)
        assert u.readinto(buf, 2) == 2 and buf[:2] == b"\x90\x3c" and buf[2] == 0
        assert u.readinto(buf) == 2 and buf[:2] == b"\x64\xf8"
    finally:
        chip_module._current = None


def test_uart_and_usb_midi_write_take_a_str_as_its_utf8_bytes():
    chip_module, chip = _chip()
    try:
        from sim.doubles import board, busio, usb_midi

        u = busio.UART(board.GP0, board.GP1, baudrate=31250, timeout=0)
        assert u.write("ab") == 2
        chip.clock.advance_to(1000)
        assert [b for _t, b in chip.wire_log["GP0"]] == [0x61, 0x62]
        assert usb_midi.ports[1].write("ab") == 2
    finally:
        chip_module._current = None
