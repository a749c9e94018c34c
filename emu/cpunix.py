"""The engine on CircuitPython's own VM: the unix port of a CircuitPython release.

    python emu/cpunix.py --micropython PATH [--mpy-cross PATH] [--heap BYTES]

PATH is the `micropython` binary of CircuitPython's ports/unix (its sys.implementation.name
says "circuitpython"); --mpy-cross is CircuitPython's mpy-cross of the same release (as
tools/deploy.py takes it). Neither is part of this repository: build them from the
CircuitPython release you run on the board (docs/INSTALL.md, ".mpy files").

For lib/switchyard as deploy installs it (.py, and .mpy when --mpy-cross is given), each in a
fresh interpreter with a GC heap of --heap bytes (a Pico's heap after boot, by default):
- free heap before and after importing the package, and after building the studio engine
  (presets.json, the stand-in ports of tools/guest.py) and running a stream through it;
- whether the engine runs a second time with micropython.heap_lock() on (no allocation);
- the smallest heap in which `import switchyard.app` succeeds (bisection, 256-byte steps),
  which for .py includes compiling each module's source on the board (the largest, app.py,
  router.py and presetcheck.py, are 20 to 22 KB each).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))

from deploy import Refused, firmware_items, mpy_cross_version  # noqa: E402
from guest import ENGINE_SETUP  # noqa: E402

# gc.mem_free() of CircuitPython 9.2.9 on a raspberry_pi_pico at the REPL after boot
# (emulated, emu/README.md); the unix port's -X heapsize is its whole GC heap.
PICO_HEAP = 158_736
PACKAGE = (
    "switchyard.midi",
    "switchyard.stream",
    "switchyard.jsonscan",
    "switchyard.presets",
    "switchyard.presetcheck",
    "switchyard.merge",
    "switchyard.router",
    "switchyard.ports",
    "switchyard.panel",
    "switchyard.piotx",
    "switchyard.app",
)


def studio_streams(messages: int = 400) -> tuple[bytes, bytes]:
    """Input A as the Digitakt plays (clock, notes on three channels, CCs), input B as the
    Keystep adds pitch bend and mod wheel on its own channel."""
    a = bytearray()
    b = bytearray()
    for i in range(messages):
        k = i % 6
        if k == 0:
            a += bytes([0xF8])
        elif k == 1:
            a += bytes([0x90, 36 + i % 24, 100])
        elif k == 2:
            a += bytes([0x91, 48 + i % 12, 90])
        elif k == 3:
            a += bytes([0x80, 36 + (i - 2) % 24, 0])
        elif k == 4:
            a += bytes([0xB2, 74, i & 0x7F])
        else:
            a += bytes([0x81, 48 + (i - 3) % 12, 0])
        if i % 4 == 0:
            b += bytes([0xE4, i & 0x7F, 64])
        elif i % 4 == 2:
            b += bytes([0xB4, 1, (i * 3) & 0x7F])
    return bytes(a), bytes(b)


GUEST = r"""
import gc, sys, micropython
sys.path.insert(0, {lib!r})
gc.collect()
r = {{"impl": sys.implementation.name, "version": sys.version,
      "boot_free": gc.mem_free(), "boot_alloc": gc.mem_alloc()}}
for name in {package!r}:
    __import__(name)
gc.collect()
r["import_free"] = gc.mem_free()
r["import_alloc"] = gc.mem_alloc()
if {engine!r}:
    exec({setup!r}, globals())
    # tools/guest.py's FeedIn copies with buf[0:n] = chunk; on CircuitPython 9 (MicroPython
    # 1.21 VM) a slice subscript allocates a slice object, so copy byte by byte (a UART's
    # readinto is C code and allocates nothing).
    class FeedIn(FeedIn):
        def readinto(self, buf):
            k = self.index
            if k >= len(self.chunks):
                return 0
            chunk = self.chunks[k]
            n = self.lengths[k]
            for i in range(n):
                buf[i] = chunk[i]
            self.index = k + 1
            self.pos += n
            return n
    feed_a = FeedIn(bytearray({a!r}), 4)
    feed_b = FeedIn(bytearray({b!r}), 4)
    feeds = [feed_a, feed_b]
    app = engine({config!r}, [("A", feed_a), ("B", feed_b)])
    r["passes"] = run_until_drained(app, feeds)
    gc.collect()
    r["engine_free"] = gc.mem_free()
    r["engine_alloc"] = gc.mem_alloc()
    r["drops"] = app.drops()
    r["parse_errors"] = app.parse_errors()
    locked = "ok"
    micropython.heap_lock()
    try:
        run_until_drained(app, feeds)
    except MemoryError as e:
        micropython.heap_unlock()
        sys.print_exception(e)
        locked = "MemoryError"
    micropython.heap_unlock()
    r["heap_locked_run"] = locked
print("<<RESULT>>" + repr(r))
"""


def run_guest(micropython: str, lib: Path, heap: int, engine: bool) -> dict | None:
    """One fresh interpreter; the result dict, or None if it ran out of heap."""
    a, b = studio_streams()
    config = (REPO / "presets.json").read_text(encoding="utf-8")
    script = GUEST.format(
        lib=str(lib), package=PACKAGE, engine=engine, setup=ENGINE_SETUP, a=a, b=b,
        config=config,
    )
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(script)
        path = f.name
    run = subprocess.run(
        [micropython, "-X", "heapsize=%d" % heap, path],
        capture_output=True, text=True, timeout=300, check=False,
    )
    Path(path).unlink()
    for line in run.stdout.splitlines():
        if line.startswith("<<RESULT>>"):
            result = eval(line[len("<<RESULT>>"):], {"__builtins__": {}})  # a dict literal
            return result
    if "MemoryError" in run.stdout + run.stderr:
        return None
    raise RuntimeError("guest failed:\n" + run.stdout + run.stderr)


def smallest_heap(
    micropython: str, lib: Path, engine: bool, low: int = 4096, high: int = 1 << 20
) -> int:
    """The smallest -X heapsize (to 256 bytes) in which the whole package imports (and,
    with engine, the studio engine is built and runs)."""
    if run_guest(micropython, lib, high, engine=engine) is None:
        raise RuntimeError("the package does not import in %d bytes" % high)
    while high - low > 256:
        mid = (low + high) // 2 // 256 * 256
        if run_guest(micropython, lib, mid, engine=engine) is None:
            low = mid
        else:
            high = mid
    return high


def install(lib: Path, mpy_cross: str | None) -> dict:
    """lib/switchyard as tools/deploy.py installs it; {module file: size}."""
    sizes = {}
    for item in firmware_items(REPO, mpy_cross):
        target = lib / item.rel[len("lib/"):]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(item.data)
        sizes[target.name] = len(item.data)
    return sizes


def measure(micropython: str, mpy_cross: str | None, heap: int) -> dict:
    forms = {}
    for form, tool in (("py", None), ("mpy", mpy_cross)):
        if form == "mpy" and tool is None:
            continue
        with tempfile.TemporaryDirectory(prefix="switchyard-cpunix-") as tmp:
            lib = Path(tmp)
            sizes = install(lib, tool)
            smallest = smallest_heap(micropython, lib, engine=True)
            result = run_guest(micropython, lib, heap, engine=True)
            if result is None:  # figures from the smallest heap that works, marked so
                result = run_guest(micropython, lib, smallest, engine=True)
                result["memory_error_at_heap"] = True
            result["files"] = sizes
            result["heap"] = heap
            result["smallest_heap"] = smallest_heap(micropython, lib, engine=False)
            result["smallest_heap_engine"] = smallest
            forms[form] = result
    return forms


def check_tools(micropython: str, mpy_cross: str | None) -> None:
    run = subprocess.run(
        [micropython, "-c", "import sys; print(sys.implementation.name)"],
        capture_output=True, text=True, timeout=30, check=False,
    )
    if run.stdout.strip() != "circuitpython":
        raise Refused(
            "%s is not CircuitPython's unix port (sys.implementation.name is %r)"
            % (micropython, run.stdout.strip() or run.stderr.strip())
        )
    if mpy_cross:
        mpy_cross_version(mpy_cross)


def report(forms: dict, heap: int) -> str:
    lines = ["CircuitPython unix port, GC heap %d bytes" % heap]
    for form, r in forms.items():
        if r.get("memory_error_at_heap"):
            lines.append(".%s: MemoryError in %d bytes; its column is at the smallest heap "
                         "that runs it, %d bytes" % (form, heap, r["smallest_heap_engine"]))
    first = next(iter(forms.values()))
    lines.append(first["version"])
    lines.append("%-28s" % "" + "".join("%12s" % ("." + f) for f in forms))
    rows = (
        ("package on the drive (B)", lambda r: sum(r["files"].values())),
        ("free at start (B)", lambda r: r["boot_free"]),
        ("free after import (B)", lambda r: r["import_free"]),
        ("  package in RAM (B)", lambda r: r["import_alloc"] - r["boot_alloc"]),
        ("free after engine set-up (B)", lambda r: r["engine_free"]),
        ("  engine objects (B)", lambda r: r["engine_alloc"] - r["import_alloc"]),
        ("smallest heap to import (B)", lambda r: r["smallest_heap"]),
        ("  ... and run the engine (B)", lambda r: r["smallest_heap_engine"]),
        ("run under heap_lock", lambda r: r["heap_locked_run"]),
        ("drops / parse errors", lambda r: "%d / %d" % (r["drops"], r["parse_errors"])),
    )
    for label, get in rows:
        lines.append("%-28s" % label + "".join("%12s" % (get(r),) for r in forms.values()))
    lines.append("module sizes (B): " + ", ".join(
        "%s %s" % (name, " / ".join(
            str(forms[f]["files"].get(name.replace(".py", "." + f), "-")) for f in forms))
        for name in sorted(forms["py"]["files"])
    ))
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="cpunix.py", description=__doc__.split("\n")[0])
    parser.add_argument("--micropython", required=True, metavar="PATH")
    parser.add_argument("--mpy-cross", metavar="PATH")
    parser.add_argument("--heap", type=int, default=PICO_HEAP, metavar="BYTES")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    try:
        check_tools(args.micropython, args.mpy_cross)
    except Refused as refusal:
        print("cpunix.py: %s" % refusal, file=sys.stderr)
        return 1
    forms = measure(args.micropython, args.mpy_cross, args.heap)
    print(report(forms, args.heap))
    if args.json:
        Path(args.json).write_text(json.dumps(forms, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
