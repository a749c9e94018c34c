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
# parsing, saving a preset, and the panic (FN long press), none of them in a steady pass.
SLICES_ALLOWED = {
    ("app", "_save_preset"),
    ("merge", "__init__"),
    ("ports", "__init__"),
    ("presets", "parse"),
    ("presets", "_hex4"),
    ("presets", "_scan_string"),
    ("presets", "_scan_key"),
    ("presets", "_scan"),
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
