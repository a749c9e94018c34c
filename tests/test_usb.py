"""USB MIDI through the simulator: routes from and to "USB", a slow host, an absent host, and
what the host receives (whole messages, no running status, realtime in packets of its own).
"""

from __future__ import annotations

import pytest
from sim_helpers import (
    REALTIME,
    Simulation,
    analysis,
    clock_events,
    merge_events,
    messages,
    msg_bytes,
    scenario,
    write_presets,
)

USB_PRESETS = [
    {"name": "USB both ways", "routes": [
        {"from": "A", "to": ["1", "USB"]},
        {"from": "USB", "to": ["2", "3"]},
        {"from": "B", "to": ["4"]},
    ]},
]


@pytest.fixture
def usb_presets(tmp_path):
    return write_presets(tmp_path / "usb.json", USB_PRESETS)


def is_subsequence(short: list, long: list) -> bool:
    it = iter(long)
    return all(any(x == y for y in it) for x in short)


def test_routes_from_and_to_usb(usb_presets):
    sim = Simulation(presets_path=usb_presets, preset=1)
    from_computer = [
        (50_000, bytes([0x90, 62, 80])),
        (50_000, bytes([0xB1, 7, 100, 0xE1, 0, 64])),  # one USB read, several messages
        (70_000, bytes([0xF0, 0x43, 0x10, 0x4C, 0, 0, 0x7E, 0, 0xF7])),
        (90_000, bytes([0x80, 62, 0])),
    ]
    from_dt = [(20_000, bytes([0x91, 40, 90])), (60_000, bytes([0xC3, 12])),
               (80_000, bytes([0x81, 40, 0]))]
    sim.play("USB", from_computer)
    sim.play("A", from_dt)
    sim.run()
    outs = sim.outputs()
    usb_in = [tuple(m.bytes()) for m in messages(sim.inputs()["USB"])]
    assert len(usb_in) == 5
    assert msg_bytes(messages(outs["2"])) == usb_in
    assert msg_bytes(messages(outs["3"])) == usb_in
    a_in = msg_bytes(messages(sim.inputs()["A"]))
    assert msg_bytes(messages(outs["USB"])) == a_in
    assert msg_bytes(messages(outs["1"])) == a_in
    for port in ("4", "5", "6"):
        assert outs[port] == [], port
    assert sim.summary()["drops"] == 0


def din_and_usb_run(usb_presets, events, **usb):
    sim = Simulation(presets_path=usb_presets, preset=1, **usb)
    sim.play("A", events)
    sim.run(until_us=events[-1][0] + 320 * len(events[-1][1]) + 300_000)
    return sim


@pytest.fixture(scope="module")
def full_wire():
    return scenario.full_load(2.0)  # A at 100 % of the wire: 1042 messages a second


def test_a_slow_host_drops_whole_messages_counted_and_din_is_unaffected(usb_presets, full_wire):
    fast = din_and_usb_run(usb_presets, full_wire)
    slow = din_and_usb_run(usb_presets, full_wire, usb_bytes_per_ms=2)
    sent = msg_bytes(messages(slow.inputs()["A"]))
    assert len(sent) == 2083
    # the fast host gets everything
    assert msg_bytes(messages(fast.outputs()["USB"])) == sent
    assert fast.summary()["drops"] == 0
    # The slow host (2 bytes of packets a ms: half a message) gets whole messages. The
    # input is pitch bend and CC74, values the box coalesces when full: each controller's
    # values arrive in order, some skipped, and the last one always.
    got = msg_bytes(messages(slow.outputs()["USB"]))
    assert len(got) < len(sent)
    for key in {m[:2] if m[0] & 0xF0 == 0xB0 else m[:1] for m in sent}:
        mine = [m for m in got if m[:len(key)] == key]
        theirs = [m for m in sent if m[:len(key)] == key]
        assert is_subsequence(mine, theirs) and mine[-1] == theirs[-1]
    usb_out = slow.app.router.outputs[-1]
    assert usb_out.name == "USB"
    lost = len(sent) - len(got)
    assert usb_out.drops() + usb_out.coalesced() == lost  # every message given up counted
    assert usb_out.coalesced() > 0 and usb_out.lost() == 0
    assert slow.summary()["drops"] == usb_out.drops()
    # every packet the host got is a whole message
    assert [p[1:1 + len(m)] for (_, p), m in zip(slow.chip.usb.packets, got, strict=True)] == [
        bytes(m) for m in got]
    # DIN out 1 carries everything, at the same times as with a fast host
    fast_1, slow_1 = fast.outputs()["1"], slow.outputs()["1"]
    assert [b for _, b in slow_1] == [b for _, b in fast_1]
    assert msg_bytes(messages(slow_1)) == sent
    shift = max(abs(s - f) for (s, _), (f, _) in zip(slow_1, fast_1, strict=True))
    # The CPU is shared and input A runs at 100 % of the wire: the slow host's short writes
    # cost the loop some passes (measured ~1.2 byte times at most); DIN stays within two.
    assert shift < 640, shift
    assert slow.summary()["rx_overflow"] == 0


def test_an_absent_host_never_stalls_din(usb_presets, full_wire):
    events = merge_events(scenario.digitakt(3.0))
    fast = din_and_usb_run(usb_presets, events)
    absent = din_and_usb_run(usb_presets, events, usb_connected=False)
    assert absent.outputs()["USB"] == []
    fast_1, absent_1 = fast.outputs()["1"], absent.outputs()["1"]
    assert [b for _, b in absent_1] == [b for _, b in fast_1]
    # An absent host must not make DIN later (a stall); DIN may come earlier than with a
    # host present, whose USB writes cost the loop time (measured: up to 340 us earlier).
    late = max(s - f for (s, _), (f, _) in zip(absent_1, fast_1, strict=True))
    assert late < 320, late
    jitter = analysis.clock_jitter(absent.inputs()["A"], absent_1)
    assert len(jitter) > 100 and max(jitter) < 1_000
    # and at full load
    fast = din_and_usb_run(usb_presets, full_wire)
    absent = din_and_usb_run(usb_presets, full_wire, usb_connected=False)
    assert [b for _, b in absent.outputs()["1"]] == [b for _, b in fast.outputs()["1"]]
    assert absent.summary()["rx_overflow"] == 0


class Spinning(Exception):
    pass


def test_run_until_drained_returns_with_an_absent_host(usb_presets):
    sim = Simulation(presets_path=usb_presets, preset=1, usb_connected=False)
    sim.play("A", [(10_000, bytes([0x90, 60, 100])), (20_000, bytes([0x80, 60, 0]))])
    step = sim.app.step
    passes = [0]

    def counted_step():
        passes[0] += 1
        if passes[0] > 50_000:
            raise Spinning("still running at %d us" % sim.chip.clock.now_us)
        return step()

    sim.app.step = counted_step
    sim.run()  # the USB output can never drain; the DIN ones can
    assert msg_bytes(messages(sim.outputs()["1"])) == [(0x90, 60, 100), (0x80, 60, 0)]
    assert sim.chip.clock.now_us < 5_000_000


def test_usb_output_has_no_running_status_and_realtime_packets_of_its_own(usb_presets):
    # The Digitakt with running status (its chords) and clock between the bytes of messages.
    dt = scenario.digitakt(2.0)
    squeezed = [(t, b) for t, b in dt]
    # a clock byte inside a note-on and inside a SysEx, as a DIN source may send them
    squeezed.append((1_500_000, bytes([0x92, 0xF8, 50, 0xF8, 70])))
    squeezed.append((1_600_000, bytes([0xF0, 0x7D, 0xF8, 1, 2, 0xFE, 3, 0xF7])))
    events = merge_events(squeezed)
    sim = Simulation(presets_path=usb_presets, preset=1)
    sim.play("A", events)
    sim.run()
    received = [b for _, b in sim.outputs()["USB"]]
    got = msg_bytes(messages(sim.outputs()["USB"]))
    sent = msg_bytes(messages(sim.inputs()["A"]))
    # realtime may move to the nearest message boundary; everything else keeps its order
    assert [m for m in got if m[0] not in REALTIME] == [m for m in sent if m[0] not in REALTIME]
    assert [m for m in got if m[0] in REALTIME] == [m for m in sent if m[0] in REALTIME]
    assert (0xF0, 0x7D, 1, 2, 3, 0xF7) in got and (0x92, 50, 70) in got
    # no running status: a data byte only ever follows its own status or a SysEx
    expect = 0
    in_sysex = False
    for b in received:
        if b >= 0xF8:
            assert expect == 0 and not in_sysex, "realtime inside a message on USB"
            continue
        if b >= 0x80:
            assert expect == 0 or b == 0xF7, "message cut short"
            in_sysex = b == 0xF0
            expect = 0 if b >= 0xF0 else (1 if b & 0xF0 in (0xC0, 0xD0) else 2)
            continue
        if in_sysex:
            continue
        assert expect > 0, "running status on USB"
        expect -= 1
    packets = [p for _, p in sim.chip.usb.packets]
    assert len(packets) > 100
    for p in packets:
        rt = [b for b in p[1:] if b in REALTIME]
        if rt:  # a realtime byte travels alone (TinyUSB: CIN 0x5 or 0xF, one byte)
            assert p[0] & 0x0F in (0x5, 0xF) and p[1] in REALTIME and p[2:] == b"\x00\x00", p
    assert sum(1 for p in packets if p[1] == 0xF8) == received.count(0xF8)


def test_usb_input_clock_reaches_din(tmp_path):
    path = write_presets(tmp_path / "usbclock.json", [
        {"name": "DAW clock", "routes": [{"from": "USB", "to": ["1", "2"],
                                          "types": ["clock", "transport"]}]},
    ])
    sim = Simulation(presets_path=path, preset=1)
    clocks = clock_events(100_000, 48)
    sim.play("USB", clocks)
    sim.run()
    for port in ("1", "2"):
        out = sim.outputs()[port]
        assert [b for _, b in out] == [0xFA] + [0xF8] * 48, port
        starts = analysis.clock_times(out)
        sent = [t for t, d in clocks if d == b"\xf8"]
        assert all(0 <= o - s < 1_000 for o, s in zip(starts, sent, strict=True)), port
