"""Switchyard on CircuitPython itself: a CircuitPython UF2 booted in rp2040js (emu/run.mjs).

    python emu/pico.py --uf2 FILE --bootrom FILE [--mpy-cross PATH] [--py]
                       [--json FILE] [--seconds S]

FILE is a CircuitPython 9 or 10 UF2 for raspberry_pi_pico (the one circuitpython.org offers,
or one built from a release), the bootrom the RP2040's 16 KB mask ROM (emu/README.md). The
CIRCUITPY image holds exactly what tools/deploy.py installs (.mpy with --mpy-cross, .py
with --py or without one). Needs node (emu/package.json: `npm ci --prefix emu`) and
mkfs.fat + mcopy (dosfstools, mtools).

It boots the firmware, reads the serial console, then
1. at the REPL before code.py runs the package: gc.mem_free(), and the same after
   importing the package and building the box's objects (free heap after boot);
2. runs code.py (the firmware) and plays the studio's input A and B as bytes that arrive at
   31250 baud wire timing (one byte each 320 us, fed to the UART RX FIFO when its stop bit
   ends), records what every DIN output sends: UART outputs by the byte the firmware
   writes to the data register, PIO outputs by decoding pin transitions, each with its
   emulated start time; and reports latency, clock jitter and drops like `make demo`;
3. prints emulated cycles per wall second.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from bisect import bisect_right
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))

import deploy  # noqa: E402

CIRCUITPY_OFFSET = 1024 * 1024  # CIRCUITPY_FIRMWARE_SIZE (1020 KB) + NVM (4 KB) on the Pico
CIRCUITPY_BYTES = 1024 * 1024  # to the end of the 2 MB flash
BIT_NS = 32_000  # 31250 baud
BYTE_NS = 10 * BIT_NS
ENGINE_FUEL_PER_BYTE = 27_855  # README, Measured figures (tools/bench.py), if no build/bench.json


class EmuError(RuntimeError):
    pass


# ------------------------------------------------------------------------- the drive


def drive_files(mpy_cross: str | None) -> dict[str, bytes]:
    """{path on CIRCUITPY: bytes}: what tools/deploy.py puts on a fresh drive."""
    with tempfile.TemporaryDirectory(prefix="switchyard-emu-drive-") as tmp:
        drive = Path(tmp) / "CIRCUITPY"
        drive.mkdir()
        # deploy checks the drive's major version against mpy-cross's: give it the tool's
        version = "%d.%d.%d" % deploy.mpy_cross_version(mpy_cross) if mpy_cross else "9.2.9"
        (drive / "boot_out.txt").write_text(
            f"Adafruit CircuitPython {version} on 2025-09-07; Raspberry Pi Pico with rp2040\n"
            "Board ID:raspberry_pi_pico\n"
        )
        args = ["--to", str(drive), "--source", str(REPO)]
        args += ["--mpy-cross", mpy_cross] if mpy_cross else ["--py"]
        out = subprocess.run(
            [sys.executable, str(REPO / "tools" / "deploy.py"), *args],
            capture_output=True, text=True, check=False,
        )
        if out.returncode != 0:
            raise EmuError("deploy.py failed: " + out.stderr.strip())
        files = {}
        for path in sorted(drive.rglob("*")):
            rel = path.relative_to(drive).as_posix()
            if path.is_file() and rel != "boot_out.txt":
                files[rel] = path.read_bytes()
        return files


def fat_image(files: dict[str, bytes], path: Path) -> None:
    """A FAT12 CIRCUITPY volume (512-byte sectors, as CircuitPython formats it)."""
    for tool in ("mkfs.fat", "mcopy", "mmd"):
        if shutil.which(tool) is None:
            raise EmuError(f"{tool} not found: install dosfstools and mtools")
    if path.exists():
        path.unlink()
    subprocess.run(
        ["mkfs.fat", "-F", "12", "-S", "512", "-s", "1", "-n", "CIRCUITPY", "-C", str(path),
         str(CIRCUITPY_BYTES // 1024)],
        check=True, capture_output=True,
    )
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    made = set()
    with tempfile.TemporaryDirectory(prefix="switchyard-emu-fat-") as tmp:
        for rel, data in files.items():
            parts = rel.split("/")
            for k in range(1, len(parts)):
                folder = "/".join(parts[:k])
                if folder not in made:
                    subprocess.run(["mmd", "-i", str(path), "::" + folder], env=env, check=True)
                    made.add(folder)
            local = Path(tmp) / rel.replace("/", "__")
            local.write_bytes(data)
            subprocess.run(
                ["mcopy", "-i", str(path), str(local), "::" + rel], env=env, check=True
            )


# ---------------------------------------------------------------------------- emulator


def button_pins() -> list[int]:
    ns: dict = {}
    exec((REPO / "boards" / "raspberry_pi_pico.py").read_text(), ns)
    return [int(pin[2:]) for _name, pin in ns["BUTTONS"]]


class Emulator:
    """emu/run.mjs in a child process."""

    def __init__(self, uf2: str, bootrom: str, fs: Path | None):
        node = shutil.which("node")
        if node is None:
            raise EmuError("node not found (Node 20 runs rp2040js)")
        if not (REPO / "emu" / "node_modules" / "rp2040js").is_dir():
            raise EmuError("rp2040js is not installed: npm ci --prefix emu")
        cmd = [node, str(REPO / "emu" / "run.mjs"), "--uf2", uf2, "--bootrom", bootrom]
        if fs is not None:
            cmd += ["--fs", str(fs), "--fs-offset", str(CIRCUITPY_OFFSET)]
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )
        self.ns = 0
        self.cycles = 0
        self.wall_ms = 0
        self.clk_sys = 0
        self.exceptions: dict = {}
        self.handler_cycles: dict = {}
        self.console = ""
        self.uart: list[tuple[int, int, int]] = []  # (n, ns, byte)
        self.pins: list[tuple[int, int, int]] = []  # (pin, ns, v)
        first = self._event()
        if first.get("ev") != "ready":
            raise EmuError("run.mjs did not start: %r" % first)
        # rp2040js reads an undriven input low (it models no pull-up): hold every button
        # released, or FN reads held at power-up and the box starts its self-test.
        for pin in button_pins():
            self.send(cmd="pin", pin=pin, v=1)

    def _event(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise EmuError("run.mjs ended (exit %s)" % self.proc.poll())
        return json.loads(line)

    def send(self, **msg) -> None:
        self.proc.stdin.write(json.dumps(msg) + "\n")
        self.proc.stdin.flush()

    def run_until(self, ns: int) -> None:
        self.send(cmd="run", ns=ns)
        while True:
            ev = self._event()
            kind = ev["ev"]
            if kind == "stopped":
                self.ns = ev["ns"]
                self.cycles = ev["cycles"]
                self.wall_ms += ev["wall_ms"]
                self.clk_sys = ev.get("clk_sys", 0)
                self.exceptions = ev.get("exceptions", {})
                self.handler_cycles = ev.get("handler_cycles", {})
                return
            if kind == "cdc":
                self.console += bytes.fromhex(ev["hex"]).decode("utf-8", "replace")
            elif kind == "uart":
                self.uart.append((ev["n"], ev["ns"], ev["byte"]))
            elif kind == "pin":
                self.pins.append((ev["pin"], ev["ns"], ev["v"]))

    def wait_for(self, text: str, limit_ns: int, step_ns: int = 20_000_000, since: int = 0):
        while text not in self.console[since:]:
            if self.ns >= limit_ns:
                raise EmuError(
                    "no %r on the console after %.1f s emulated; it shows:\n%s"
                    % (text, self.ns / 1e9, self.console[-800:])
                )
            self.run_until(self.ns + step_ns)

    def type(self, text: str) -> None:
        self.send(cmd="cdc", hex=text.encode().hex())

    def repl(self, line: str, limit_s: float = 20.0) -> str:
        """Run one line at the REPL; its output."""
        mark = len(self.console)
        self.type(line + "\r")
        self.wait_for("\n>>> ", self.ns + int(limit_s * 1e9), step_ns=5_000_000, since=mark)
        out = self.console[mark:]
        out = out.split("\n", 1)[1] if "\n" in out else out  # the echoed line
        return out.rsplit(">>> ", 1)[0].strip()

    def close(self) -> None:
        try:
            self.send(cmd="quit")
        except (BrokenPipeError, OSError):
            pass
        self.proc.wait(timeout=10)


def to_repl(emu: Emulator, limit_s: float = 30.0) -> float:
    """Boot until the REPL prompt (interrupting code.py); emulated seconds it took."""
    limit = int(limit_s * 1e9)
    emu.run_until(300_000_000)
    deadline = emu.ns + limit
    while ">>> " not in emu.console:
        emu.type("\x03")
        emu.run_until(emu.ns + 100_000_000)
        if "Press any key to enter the REPL" in emu.console:
            emu.type("\r")
            emu.run_until(emu.ns + 200_000_000)
        if emu.ns > deadline:
            raise EmuError("no REPL prompt; the console shows:\n" + emu.console[-1000:])
    return emu.ns / 1e9


HEAP_PROBE = (
    ("boot", "import gc;gc.collect();print('FREE', gc.mem_free(), gc.mem_alloc())"),
    ("import", "import switchyard.app as A, switchyard.piotx;gc.collect();"
     "print('FREE', gc.mem_free(), gc.mem_alloc())"),
    ("built", "app = A.build();gc.collect();print('FREE', gc.mem_free(), gc.mem_alloc())"),
)


def heap_after_boot(uf2: str, bootrom: str, mpy_cross: str | None) -> dict:
    with tempfile.TemporaryDirectory(prefix="switchyard-emu-") as tmp:
        image = Path(tmp) / "circuitpy.img"
        files = drive_files(mpy_cross)
        fat_image(files, image)
        emu = Emulator(uf2, bootrom, image)
        try:
            started = time.monotonic()
            boot_s = to_repl(emu)
            banner = [line for line in emu.console.splitlines() if "CircuitPython" in line]
            result = {"boot_s": boot_s, "banner": banner[-1] if banner else ""}
            for key, line in HEAP_PROBE:
                out = emu.repl(line, limit_s=60)
                found = [ln.split() for ln in out.splitlines() if ln.startswith("FREE ")]
                if not found or len(found[-1]) != 3:
                    raise EmuError("heap probe failed:\n" + out)
                result[key + "_free"] = int(found[-1][1])
                result[key + "_alloc"] = int(found[-1][2])
                result[key + "_console"] = out
            result["cycles"] = emu.cycles
            result["emulated_s"] = emu.ns / 1e9
            result["wall_s"] = time.monotonic() - started
            result["run_wall_s"] = emu.wall_ms / 1000
            result["files"] = {k: len(v) for k, v in files.items()}
            return result
        finally:
            emu.close()


# ------------------------------------------------------------------- the calibration


def bench_source() -> str:
    """emu_bench.py for the drive: tools/calibrate.py's int_add and fib, and tools/bench.py's
    engine measurement (four outputs, 16-byte reads, mixed_stream(400)), timed on the chip
    with time.monotonic_ns(): in the emulator that is emulated time, exact."""
    import bench
    import calibrate
    from guest import ENGINE_SETUP

    data = bench.mixed_stream(400)
    return "\n".join([
        "import time, gc, microcontroller",
        calibrate.INT_ADD_SETUP,
        calibrate.FIB_SETUP,
        ENGINE_SETUP,
        "DATA = %r" % data,
        "FOUR_OUTPUTS = %r" % bench.FOUR_OUTPUTS,
        "def _ns(code):",
        "    gc.collect()",
        "    t = time.monotonic_ns()",
        "    exec(code)",
        "    return time.monotonic_ns() - t",
        "def run():",
        "    r = {'hz': microcontroller.cpu.frequency}",
        "    a, b = %r" % (calibrate.INT_ADD_RUNS,),
        "    r['int_add_ns'] = (_ns(b) - _ns(a)) / %d" % calibrate.INT_ADD_EXTRA_ITERATIONS,
        "    a, b = %r" % (calibrate.FIB_RUNS,),
        "    r['fib_ns'] = (_ns(b) - _ns(a)) / %d" % (
            calibrate.fib_calls(24) - calibrate.fib_calls(14)),
        "    global feed, feeds, app",
        "    feed = FeedIn(bytearray(DATA), 16)",
        "    feeds = [feed]",
        "    app = engine(FOUR_OUTPUTS, [('A', feed)])",
        "    run_until_drained(app, feeds)",
        "    one = _ns('run_until_drained(app, feeds)')",
        "    three = _ns('for _ in range(3): run_until_drained(app, feeds)')",
        "    r['engine_ns_per_byte'] = (three - one) / (2 * len(DATA))",
        "    r['drops'] = app.drops()",
        "    print('BENCH', r)",
    ]) + "\n"


def calibrate_on_pico(uf2: str, bootrom: str, mpy_cross: str | None) -> dict:
    """emu_bench.run() at the REPL of the emulated Pico, at the clock the firmware set."""
    import ast

    with repl_on_pico(uf2, bootrom, mpy_cross, {"emu_bench.py": bench_source()}) as emu:
        mark = emu.cycles
        wall = emu.wall_ms
        out = emu.repl("import emu_bench; emu_bench.run()", limit_s=120)
        found = [ln for ln in out.splitlines() if ln.startswith("BENCH ")]
        if not found:
            raise EmuError("emu_bench failed:\n" + out)
        result = ast.literal_eval(found[-1][len("BENCH "):])
        result["speed_hz"] = (emu.cycles - mark) / max(1e-9, (emu.wall_ms - wall) / 1000)
        return result


@contextlib.contextmanager
def repl_on_pico(uf2: str, bootrom: str, mpy_cross: str | None, extra: dict[str, str]):
    """The emulated Pico at its REPL, with what deploy installs and `extra` files on the
    drive, once code.py has set the box up (and the clock) and been interrupted."""
    files = drive_files(mpy_cross)
    files.update({name: text.encode() for name, text in extra.items()})
    with tempfile.TemporaryDirectory(prefix="switchyard-emu-") as tmp:
        image = Path(tmp) / "circuitpy.img"
        fat_image(files, image)
        emu = Emulator(uf2, bootrom, image)
        try:
            emu.wait_for("preset 1:", 60_000_000_000, step_ns=5_000_000)
            to_repl(emu)
            yield emu
        finally:
            emu.close()


# ------------------------------------------------------------------------- the wires


def wire_bytes(events: list[tuple[int, bytes]]) -> list[tuple[int, int]]:
    """(start ns, byte) of each byte a MIDI source sends: back to back at 31250 baud, as
    sim/chip.py feed() puts them on the wire."""
    out = []
    free = 0
    for t_us, data in events:
        start = max(t_us * 1000, free)
        for byte in data:
            out.append((start, byte))
            start += BYTE_NS
        free = start
    return out


def uart_tx_wire(writes: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """(start ns, byte) on a hardware UART's TX pin from (ns, byte) data-register writes.

    rp2040js hands each byte over as it is written and always reports the TX FIFO empty,
    so the wire is modelled here: the UART sends its FIFO back to back."""
    out = []
    free = 0
    for t, byte in writes:
        start = max(t, free)
        out.append((start, byte))
        free = start + BYTE_NS
    return out


def decode_8n1(transitions: list[tuple[int, int]], bit_ns: int = BIT_NS) -> list[tuple[int, int]]:
    """(start ns, byte) from a TX pin's (ns, level) transitions (idle high, 8N1, LSB first).

    A level of -1 (not driven) reads high, as the pad's pull-up would make it. A frame whose
    stop bit is low is dropped (a framing error on the receiving device)."""
    times = [t for t, _ in transitions]
    levels = [1 if v != 0 else 0 for _, v in transitions]

    def level_at(t: float) -> int:
        k = bisect_right(times, t) - 1
        return levels[k] if k >= 0 else 1

    out = []
    k = 0
    ready = 0.0  # no start bit before the previous frame's stop bit is half through
    while k < len(times):
        if levels[k] != 0 or times[k] < ready or level_at(times[k] - 1) == 0:
            k += 1
            continue
        t0 = times[k]
        byte = 0
        for bit in range(8):
            byte |= level_at(t0 + (bit + 1.5) * bit_ns) << bit
        ready = t0 + 9.5 * bit_ns
        if level_at(ready) == 1:
            out.append((int(t0), byte))
        k = bisect_right(times, ready)
    return out


# ---------------------------------------------------------------------- a button


def press_check(uf2: str, bootrom: str, mpy_cross: str | None, button: str = "P2") -> dict:
    """Press a preset button through its GPIO (to GND for 100 ms) once the firmware runs;
    when its LED lights and the others' go out (ms after the press)."""
    ns: dict = {}
    exec((REPO / "boards" / "raspberry_pi_pico.py").read_text(), ns)
    pin = int(dict(ns["BUTTONS"])[button][2:])
    leds = {int(p[2:]): name for name, p in ns["LEDS"] if name.startswith("P")}
    with tempfile.TemporaryDirectory(prefix="switchyard-emu-") as tmp:
        image = Path(tmp) / "circuitpy.img"
        fat_image(drive_files(mpy_cross), image)
        emu = Emulator(uf2, bootrom, image)
        try:
            emu.wait_for("preset 1:", 60_000_000_000, step_ns=5_000_000)
            emu.send(cmd="watch", pins=sorted(leds))
            at = emu.ns + 50_000_000
            emu.run_until(at)
            emu.send(cmd="pin", pin=pin, v=0)
            emu.run_until(at + 100_000_000)
            emu.send(cmd="pin", pin=pin, v=1)
            emu.run_until(at + 400_000_000)
            changes = [(leds[p], (t - at) / 1e6, v) for p, t, v in emu.pins]
            lit = [ms for name, ms, v in changes if name == button and v == 1]
            return {"button": button, "changes": changes, "lit_ms": lit[0] if lit else None}
        finally:
            emu.close()


# ------------------------------------------------------------ CLK's time source


CLOCK_PIN = 22  # a GPIO the board leaves free (boards/raspberry_pi_pico.py): CLK's clocks
CLOCK_SOURCE = """\
import time, gc, supervisor, board, digitalio, microcontroller, rp2pio
from switchyard import clockgen, usclock

def steps(read, n, mask):
    # the smallest, middle and largest step of a time source read back to back
    out = [0] * n
    k = 0
    prev = read()
    while k < n:
        t = read()
        if t != prev:
            out[k] = (t - prev) & mask
            k += 1
            prev = t
    out.sort()
    return out[0], out[n // 2], out[-1]

def alloc(read, n):
    # heap bytes a read of the time source takes (the collector off meanwhile)
    gc.collect()
    gc.disable()
    f0 = gc.mem_free()
    for _ in range(n):
        read()
    f1 = gc.mem_free()
    gc.enable()
    return (f0 - f1) / n

def reads_per_ms(read):
    t0 = supervisor.ticks_ms()
    while supervisor.ticks_ms() == t0:
        pass
    t0 = supervisor.ticks_ms()
    n = 0
    while ((supervisor.ticks_ms() - t0) & 0x1FFFFFFF) < 20:
        read()
        n += 1
    return n / 20

counter = usclock.make(rp2pio)
pin = digitalio.DigitalInOut(board.GP%d)
pin.switch_to_output(False)

def probe():
    r = {"hz": microcontroller.cpu.frequency, "uptime_ms": supervisor.ticks_ms()}
    r["usclock_step_us"] = steps(counter.now_us, 200, usclock.MASK)
    r["usclock_alloc_bytes"] = alloc(counter.now_us, 200)
    r["usclock_reads_per_ms"] = reads_per_ms(counter.now_us)
    r["monotonic_ns_step_ns"] = steps(time.monotonic_ns, 400, -1)
    r["monotonic_ns_alloc_bytes"] = alloc(time.monotonic_ns, 200)
    r["monotonic_us_alloc_bytes"] = alloc(clockgen.monotonic_us, 200)
    r["monotonic_us_reads_per_ms"] = reads_per_ms(clockgen.monotonic_us)
    r["ticks_ms_step_ms"] = steps(supervisor.ticks_ms, 20, -1)
    print("CLOCK", r)

def run(seconds, source):
    state = [False]
    def rt(source, byte):
        if byte == 0xF8:
            state[0] = not state[0]
            pin.value = state[0]
    now_us = counter.now_us if source == "usclock" else clockgen.monotonic_us
    gen = clockgen.ClockGen(rt, 3, 1200, True, now_us, supervisor.ticks_ms)
    t0 = supervisor.ticks_ms()
    ms = int(seconds * 1000)
    poll = gen.poll
    ticks = supervisor.ticks_ms
    gc.collect()
    free = gc.mem_free()
    while ((ticks() - t0) & 0x1FFFFFFF) < ms:
        poll(ticks())
    print("CLOCK", {"source": source, "clocks": gen.sent, "heap_used": free - gc.mem_free()})
""" % CLOCK_PIN


def clock_on_pico(uf2: str, bootrom: str, mpy_cross: str | None, seconds: float) -> dict:
    """CLK's generator (switchyard.clockgen at 120.0 BPM) polled in a loop of its own at the
    REPL of the emulated Pico, after code.py set the CPU clock, on each of its time
    sources: switchyard.usclock's PIO counter (the box's) and time.monotonic_ns() (the
    fallback). Each clock toggles GP22, whose edges rp2040js times in emulated ns. Also
    each source's steps read back to back, the heap a read takes and reads per ms, and
    supervisor.ticks_ms()'s steps."""
    import ast

    period_ns = 60e9 / (120.0 * 24)

    def lines(out: str) -> list[dict]:
        found = [ln for ln in out.splitlines() if ln.startswith("CLOCK ")]
        if not found:
            raise EmuError("emu_clock failed:\n" + out)
        return [ast.literal_eval(ln[len("CLOCK "):]) for ln in found]

    with repl_on_pico(uf2, bootrom, mpy_cross, {"emu_clock.py": CLOCK_SOURCE}) as emu:
        emu.send(cmd="watch", pins=[CLOCK_PIN])
        result = lines(emu.repl("import emu_clock; emu_clock.probe()", limit_s=120))[-1]
        for source in ("usclock", "monotonic_ns"):
            before = len(emu.pins)
            run = lines(emu.repl("emu_clock.run(%r, %r)" % (seconds, source),
                                 limit_s=seconds + 60))[-1]
            # from the second clock: the first goes at the generator's first look, which
            # is not on the grid the rest keep
            edges = [ns for pin, ns, _ in emu.pins[before:] if pin == CLOCK_PIN][1:]
            dev = sorted(abs((b - a) - period_ns) / 1000 for a, b in zip(edges, edges[1:]))
            run["edges"] = len(edges)
            if dev:
                run["interval_deviation_us"] = {
                    "p50": round(dev[len(dev) // 2], 1),
                    "p99": round(dev[int(len(dev) * 0.99)], 1),
                    "max": round(dev[-1], 1), "count": len(dev)}
            if len(edges) > 1:
                # the last clock against the first plus whole periods: drift
                run["last_error_us"] = round(
                    ((edges[-1] - edges[0]) - (len(edges) - 1) * period_ns) / 1000, 1)
            result[source] = run
    return result


# ---------------------------------------------------------------------- the studio


def board_outputs() -> tuple[dict[int, str], dict[int, str]]:
    """({GPIO of a PIO output: name}, {UART number of a "uart" output: name}) from
    boards/raspberry_pi_pico.py."""
    sys.path.insert(0, str(REPO / "lib"))
    from switchyard.app import _uart_index

    ns: dict = {}
    exec((REPO / "boards" / "raspberry_pi_pico.py").read_text(), ns)
    pio = {int(pin[2:]): name for name, driver, pin in ns["OUTPUTS"] if driver != "uart"}
    uart = {_uart_index(pin): name for name, driver, pin in ns["OUTPUTS"] if driver == "uart"}
    return pio, uart


def play_studio(uf2: str, bootrom: str, mpy_cross: str | None, seconds: float,
                presets: bytes | None = None) -> dict:
    """Boot the firmware from a fresh drive (with `presets` as its presets.json, if
    given), play the studio scenario into A and B."""
    sys.path.insert(0, str(REPO))
    from sim import scenario

    outputs, uart_outputs = board_outputs()
    with tempfile.TemporaryDirectory(prefix="switchyard-emu-") as tmp:
        image = Path(tmp) / "circuitpy.img"
        files = drive_files(mpy_cross)
        if presets is not None:
            files["presets.json"] = presets
        fat_image(files, image)
        emu = Emulator(uf2, bootrom, image)
        try:
            started = time.monotonic()
            emu.send(cmd="watch", pins=sorted(outputs))
            emu.wait_for("preset 1:", 60_000_000_000, step_ns=5_000_000)
            t0 = emu.ns
            boot_cycles = emu.cycles
            boot_wall = emu.wall_ms
            feeds = {"A": scenario.digitakt(seconds), "B": scenario.keystep(seconds - 0.5)}
            uart_of = {"A": 0, "B": 1}
            ins = {}
            arrivals = []
            for port, events in feeds.items():
                wire = wire_bytes(events)
                ins[port] = [(t // 1000, b) for t, b in wire]
                arrivals += [(t0 + t + BYTE_NS, uart_of[port], b) for t, b in wire]
            arrivals.sort()
            for at, n, byte in arrivals:
                if at > emu.ns:
                    emu.run_until(at)
                emu.send(cmd="uart", n=n, byte=byte)
            emu.run_until(emu.ns + 300_000_000)
            wall = time.monotonic() - started
            logs: dict[str, list[tuple[int, int]]] = {}
            for pin, name in outputs.items():
                transitions = [(t - t0, v) for p, t, v in emu.pins if p == pin]
                logs[name] = [(int(t // 1000), b) for t, b in decode_8n1(transitions)]
            for n, name in uart_outputs.items():
                writes = [(t - t0, b) for u, t, b in emu.uart if u == n]
                logs[name] = [(int(t // 1000), b) for t, b in uart_tx_wire(writes)]
            return {
                "ins": ins,
                "outs": logs,
                "console": emu.console,
                "t0_s": t0 / 1e9,
                "run_cycles": emu.cycles - boot_cycles,
                "run_wall_s": (emu.wall_ms - boot_wall) / 1000,
                "emulated_s": (emu.ns - t0) / 1e9,
                "wall_s": wall,
            }
        finally:
            emu.close()


def studio_report(result: dict, devices: dict[str, str]) -> dict:
    """The `make demo` figures (sim/analysis.py) of an emulated run."""
    from sim import analysis

    report: dict = {"outputs": {}}
    box_all, first_all, jitter_all, added_all = [], [], [], []
    ins = result["ins"]
    for port in sorted(result["outs"]):
        log = result["outs"][port]
        box, first = analysis.latencies(ins, log)
        jitter = analysis.clock_jitter(ins["A"], log) if analysis.clock_times(log) else []
        box_all += box
        first_all += first
        added_all += analysis.added_delays(ins, log)
        jitter_all += jitter
        counts = analysis.counts(log)
        report["outputs"][port] = {
            "device": devices.get(port, ""),
            "bytes": len(log),
            "messages": {
                "%s%s" % (t, "" if ch is None else " ch%d" % (ch + 1)): n
                for (t, ch), n in sorted(counts.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0))
            },
        }
    report["latency_us"] = analysis.summary_stats(box_all)
    report["latency_first_byte_us"] = analysis.summary_stats(first_all)
    report["clock_jitter_us"] = analysis.summary_stats(jitter_all)
    report["added_delay_us"] = analysis.summary_stats(added_all)
    return report


def print_studio(report: dict, sim_report: dict | None) -> None:
    for port, info in report["outputs"].items():
        name = ("out %s" % port) + (" (%s)" % info["device"] if info["device"] else "")
        sim_bytes = ""
        if sim_report is not None and port in sim_report["outputs"]:
            sim_bytes = "   (simulator %d)" % sim_report["outputs"][port]["bytes"]
        print("%-22s %5d bytes%s" % (name, info["bytes"], sim_bytes))
        if not info["messages"]:
            print("    (nothing)")
        sim_msgs = sim_report["outputs"].get(port, {}).get("messages", {}) if sim_report else {}
        for kind, n in info["messages"].items():
            extra = "   (simulator %d)" % sim_msgs.get(kind, 0) if sim_report else ""
            print("    %-26s %5d%s" % (kind, n, extra))
    for label, key in (
        ("latency (last byte in -> first byte out)", "latency_us"),
        ("latency (first byte in -> first byte out)", "latency_first_byte_us"),
        ("added delay (last byte in -> last byte out)", "added_delay_us"),
        ("clock jitter on the outputs", "clock_jitter_us"),
    ):
        st = report[key]
        line = "%s: p50 %d us, p99 %d us, max %d us (%d)" % (
            label, st["p50"], st["p99"], st["max"], st["count"])
        if sim_report is not None:
            ss = sim_report[key]
            line += "; simulator p50 %d, p99 %d, max %d" % (ss["p50"], ss["p99"], ss["max"])
        print(line)


def clk_studio_doc() -> dict:
    """The shipped presets.json with preset 1's clock from CLK at 120.0 BPM (the route the
    Digitakt's clock took), as tools/bench.py's simulate_clk has it."""
    doc = json.loads((REPO / "presets.json").read_text())
    doc["tempo"] = {"bpm": 120}
    doc["presets"][0]["routes"][0]["from"] = "CLK"
    return doc


def clk_deviations(outs: dict[str, list[tuple[int, int]]]) -> dict:
    """Each output's CLK interval deviation from 60 / (120 * 24) s (the first clock left
    out: it goes at the generator's first look)."""
    period = 60e6 / (120.0 * 24)
    result = {}
    for port in ("1", "3", "4", "5"):
        times = [t for t, b in outs.get(port, []) if b == 0xF8][1:]
        dev = sorted(abs((b - a) - period) for a, b in zip(times, times[1:]))
        if dev:
            result[port] = {"p50": round(dev[len(dev) // 2], 1),
                            "p99": round(dev[int(len(dev) * 0.99)], 1),
                            "max": round(dev[-1], 1), "count": len(dev)}
    return result


def clk_studio_report(args, results: dict) -> bool:
    """The studio scenario with CLK on the emulated Pico, beside the simulator's."""
    sys.path.insert(0, str(REPO / "tools"))
    import bench

    try:
        played = play_studio(args.uf2, args.bootrom, args.mpy_cross, args.clk_studio,
                             json.dumps(clk_studio_doc()).encode())
    except EmuError as error:
        print(f"pico.py: {error}", file=sys.stderr)
        return False
    emulated = clk_deviations(played["outs"])
    simulated = bench.simulate_clk(args.clk_studio)["clk_interval_deviation_by_output_us"]
    print("CLK at 120 BPM under the studio load, %.1f s, interval deviation (us):"
          % args.clk_studio)
    for port, st in emulated.items():
        sim = simulated.get(port, {})
        print("  out %s: emulated p50 %s, p99 %s, max %s (%d); simulator p50 %s, p99 %s, max %s"
              % (port, st["p50"], st["p99"], st["max"], st["count"], sim.get("p50"),
                 sim.get("p99"), sim.get("max")))
    results["clk_studio"] = {"emulated": emulated, "simulator": simulated,
                             "console": played["console"], "outs": played["outs"]}
    return True


def clock_report(args, results: dict) -> bool:
    try:
        clk = clock_on_pico(args.uf2, args.bootrom, args.mpy_cross, args.clock)
    except EmuError as error:
        print(f"pico.py: {error}", file=sys.stderr)
        return False
    print("CLK's generator alone on the emulated Pico at %s Hz, %s s a time source:" % (
        clk["hz"], args.clock))
    for source in ("usclock", "monotonic_ns"):
        run = clk[source]
        print("  %-13s %s clocks, interval deviation %s, last clock %s us from first + "
              "periods, %s B of heap used" % (
                  source, run["clocks"], run.get("interval_deviation_us"),
                  run.get("last_error_us"), run["heap_used"]))
    print("  usclock reads: steps (min, median, max) %s us, %s B of heap a read, %s reads a "
          "ms; time.monotonic_ns(): steps %s ns, %s B a read (%s B for clockgen.monotonic_us,"
          " %s reads a ms); supervisor.ticks_ms() steps %s ms" % (
              clk["usclock_step_us"], clk["usclock_alloc_bytes"], clk["usclock_reads_per_ms"],
              clk["monotonic_ns_step_ns"], clk["monotonic_ns_alloc_bytes"],
              clk["monotonic_us_alloc_bytes"], clk["monotonic_us_reads_per_ms"],
              clk["ticks_ms_step_ms"]))
    results["clock"] = clk
    return True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="pico.py", description=__doc__.split("\n")[0])
    parser.add_argument("--uf2", required=True)
    parser.add_argument("--bootrom", required=True)
    parser.add_argument("--mpy-cross", metavar="PATH")
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument("--seconds", type=float, default=8.0, help="studio scenario length")
    parser.add_argument("--heap-only", action="store_true", help="skip the studio scenario")
    parser.add_argument(
        "--calibrate", action="store_true",
        help="also time int_add, fib and the engine on the chip (tools/calibrate.py, bench.py)",
    )
    parser.add_argument(
        "--clock", type=float, metavar="SECONDS",
        help="also run CLK's generator alone this long and time its clocks on a GPIO")
    parser.add_argument("--clock-only", action="store_true",
                        help="only that (with --clock): no heap, press or studio runs")
    parser.add_argument(
        "--clk-studio", type=float, metavar="SECONDS",
        help="play the studio scenario with preset 1's clock from CLK at 120 BPM and time "
             "CLK's clocks on outputs 1, 3, 4, 5 beside the simulator's (and nothing else)")
    args = parser.parse_args(argv)
    for name in ("uf2", "bootrom"):
        if not Path(getattr(args, name)).is_file():
            print(f"pico.py: --{name} {getattr(args, name)}: no such file", file=sys.stderr)
            return 1
    if args.clock_only and not args.clock:
        print("pico.py: --clock-only needs --clock SECONDS", file=sys.stderr)
        return 2
    alone = clk_studio_report if args.clk_studio else clock_report if args.clock_only else None
    if alone is not None:  # one run and nothing else
        results: dict = {}
        if not alone(args, results):
            return 1
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=1, sort_keys=True))
        return 0
    forms = {}
    try:
        if args.mpy_cross:
            deploy.mpy_cross_version(args.mpy_cross)
        forms["py"] = heap_after_boot(args.uf2, args.bootrom, None)
        if args.mpy_cross:
            forms["mpy"] = heap_after_boot(args.uf2, args.bootrom, args.mpy_cross)
    except (EmuError, deploy.Refused) as error:
        print(f"pico.py: {error}", file=sys.stderr)
        return 1
    for form, r in forms.items():
        speed = r["cycles"] / r["run_wall_s"] if r["run_wall_s"] else 0
        print(
            f".{form}: {r['banner']}\n  free after boot {r['boot_free']} B, after importing "
            f"the package {r['import_free']} B (package {r['import_alloc'] - r['boot_alloc']} B)"
            f", after building the box {r['built_free']} B; REPL after {r['boot_s']:.2f} s "
            f"emulated; {speed / 1e6:.2f} M cycles per wall s"
        )
    results = {"heap": forms}
    try:
        pressed = press_check(args.uf2, args.bootrom, args.mpy_cross)
    except EmuError as error:
        print(f"pico.py: {error}", file=sys.stderr)
        return 1
    print("button %s pressed through its GPIO: %s" % (pressed["button"], (
        "its LED lit %.1f ms later (LEDs: %s)" % (pressed["lit_ms"], ", ".join(
            "%s %s at %.1f ms" % (n, "on" if v == 1 else "off", ms)
            for n, ms, v in pressed["changes"]))
        if pressed["lit_ms"] is not None else "its LED never lit")))
    results["press"] = pressed
    if not args.heap_only:
        sys.path.insert(0, str(REPO))
        from sim.cli import run_studio

        devices = json.loads((REPO / "presets.json").read_text()).get("devices", {})
        try:
            played = play_studio(args.uf2, args.bootrom, args.mpy_cross, args.seconds)
        except EmuError as error:
            print(f"pico.py: {error}", file=sys.stderr)
            return 1
        report = studio_report(played, devices)
        _sim, sim_report = run_studio(args.seconds)
        lines = played["console"].splitlines()
        print("\nstudio scenario, %.1f s, on the emulated Pico (code.py started %.2f s after "
              "reset); serial console, last lines:" % (args.seconds, played["t0_s"]))
        for text in lines[-6:]:
            print("  | " + text)
        print_studio(report, sim_report)
        speed = played["run_cycles"] / played["run_wall_s"] if played["run_wall_s"] else 0
        print("emulated %.2f s in %.1f s wall: %.2f M cycles per wall second"
              % (played["emulated_s"], played["wall_s"], speed / 1e6))
        results["studio"] = {"report": report, "simulator": sim_report,
                             "console": played["console"], "speed_hz": speed,
                             "outs": played["outs"], "ins": played["ins"]}
    if args.calibrate:
        try:
            cal = calibrate_on_pico(args.uf2, args.bootrom, args.mpy_cross)
        except EmuError as error:
            print(f"pico.py: {error}", file=sys.stderr)
            return 1
        print_calibration(cal)
        results["calibration"] = cal
    if args.clock and not clock_report(args, results):
        return 1
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, sort_keys=True))
    return 0


def print_calibration(cal: dict) -> None:
    """Cycles on the emulated chip against tools/calibrate.py's published figures and the
    simulator's fuel."""
    import calibrate

    sys.path.insert(0, str(REPO))
    from sim.cost import CostModel

    hz = cal["hz"]
    per_fuel = {"int_add_iteration": cal["int_add_ns"], "fib_call": cal["fib_ns"]}
    print("on the emulated chip at %d MHz:" % (hz // 1_000_000))
    for source in calibrate.SOURCES:
        if source["chip"] != "RP2040":
            continue
        ns = per_fuel[source["benchmark"]]
        cycles = ns * hz / 1e9
        published = source["seconds"] / source["units"] * source["mhz"] * 1e6
        print("  %-34s %7.0f cycles, published %7.0f (%s): %+.1f %%"
              % (source["benchmark"], cycles, published, source["firmware"],
                 100 * (cycles / published - 1)))
    bench_json = REPO / "build" / "bench.json"  # make bench writes it
    engine = json.loads(bench_json.read_text()) if bench_json.is_file() else {}
    fuel = engine.get("engine_fuel_per_byte", ENGINE_FUEL_PER_BYTE)
    cycles = cal["engine_ns_per_byte"] * hz / 1e9
    model = CostModel.load()
    print("  engine, four outputs, 16-byte reads: %.0f cycles a byte, %d fuel (%s): %.2f ns "
          "per fuel at 125 MHz; the simulator uses %.2f"
          % (cycles, fuel, "build/bench.json" if engine else "README", cycles / fuel * 8,
             model.ns_per_fuel))


if __name__ == "__main__":
    sys.exit(main())
