"""The studio on preset 1 (Studio): the Digitakt on A, the Keystep on B, the shipped presets.json.

Routing facts are checked with mido against what the inputs carried; timing runs with the
measured cost model, reports latency and jitter, and asserts only the hard facts (no drops,
no RX overflow, every clock byte delivered in order on every clocked output).
"""

from __future__ import annotations

import pytest
from sim_helpers import (
    ALL_OUTPUTS,
    REALTIME,
    Simulation,
    analysis,
    messages,
    msg_bytes,
    non_realtime,
    scenario,
)

SECONDS = 8.0
CLOCKED = ("1", "3", "4", "5")


def on_channel(events: list[tuple[int, bytes]], channel: int) -> list[tuple[int, bytes]]:
    """The same events with every channel status byte moved to `channel` (0-based)."""
    out = []
    for t_us, data in events:
        out.append((t_us, bytes(
            (b & 0xF0) | channel if 0x80 <= b < 0xF0 else b for b in data
        )))
    return out


def is_bend_or_wheel(m) -> bool:
    return m.type == "pitchwheel" or (m.type == "control_change" and m.control in (1, 33))


@pytest.fixture(scope="module", params=[0, 4], ids=["keystep_ch1", "keystep_ch5"])
def studio(request):
    keystep_channel = request.param
    sim = Simulation(preset=1)
    sim.play("A", scenario.digitakt(SECONDS))
    sim.play("B", on_channel(scenario.keystep(SECONDS - 0.5), keystep_channel))
    sim.run()
    return sim, keystep_channel


def test_keystep_bend_and_wheel_follow_the_digitakts_rev2_part(studio):
    sim, _ = studio
    ins = sim.inputs()
    outs = sim.outputs()
    # what the Keystep sent, with the time its last byte reached the box
    wheel_in = [tm for tm in analysis.parse_log(ins["B"]) if is_bend_or_wheel(tm.msg)]
    assert len(wheel_in) > 100
    # the Digitakt's latest note-on among ch 2 and 3 (0-based 1, 2), by the time it arrived
    part_notes = [
        (tm.t_last, tm.msg.channel)
        for tm in analysis.parse_log(ins["A"])
        if tm.msg.type == "note_on" and tm.msg.velocity and tm.msg.channel in (1, 2)
    ]
    assert {ch for _, ch in part_notes} == {1, 2}  # the DT plays both Rev2 parts

    def part_at(t_us):
        ch = 1  # before any note: the lowest channel of the set
        for t, c in part_notes:
            if t <= t_us:
                ch = c
        return ch

    expected_rev2 = []
    for tm in wheel_in:
        m = tm.msg.copy(channel=part_at(tm.t_last))
        expected_rev2.append(tuple(m.bytes()))
    got_rev2 = [tuple(m.bytes()) for m in messages(outs["3"]) if is_bend_or_wheel(m)]
    assert got_rev2 == expected_rev2
    assert {b[0] & 0x0F for b in got_rev2} == {1, 2}  # it did follow both parts
    got_minitaur = [tuple(m.bytes()) for m in messages(outs["4"]) if is_bend_or_wheel(m)]
    assert got_minitaur == [tuple(tm.msg.copy(channel=0).bytes()) for tm in wheel_in]
    for port in ("1", "2", "5", "6", "USB"):
        assert not [m for m in messages(outs[port]) if is_bend_or_wheel(m)], port


def test_keystep_notes_reach_only_the_digitakt(studio):
    sim, keystep_channel = studio
    ins = sim.inputs()
    outs = sim.outputs()
    keys = [m for m in messages(ins["B"]) if m.type in ("note_on", "note_off")]
    assert len(keys) > 20
    assert msg_bytes(messages(outs["2"])) == msg_bytes(keys)  # out 2 carries the keys, only
    key_set = set(msg_bytes(keys))
    for port in ("1", "3", "4", "5", "6", "USB"):
        notes = [tuple(m.bytes()) for m in messages(outs[port])
                 if m.type in ("note_on", "note_off")]
        assert not key_set & set(notes), port
    if keystep_channel:
        for port in ("3", "4"):
            assert all(m.channel != keystep_channel for m in non_realtime(messages(outs[port])))


def test_digitakt_channels_reach_their_synths(studio):
    sim, _ = studio
    ins = sim.inputs()
    outs = sim.outputs()
    dt = non_realtime(messages(ins["A"]))
    ch1 = [m for m in dt if m.channel == 0]
    ch23 = [m for m in dt if m.channel in (1, 2)]
    assert len(ch1) > 100 and len(ch23) > 10
    assert len(ch1) + len(ch23) == len(dt)
    minitaur = [m for m in non_realtime(messages(outs["4"])) if not is_bend_or_wheel(m)]
    rev2 = [m for m in non_realtime(messages(outs["3"])) if not is_bend_or_wheel(m)]
    assert msg_bytes(minitaur) == msg_bytes(ch1)
    assert msg_bytes(rev2) == msg_bytes(ch23)
    dt_set = set(msg_bytes(dt))
    for port in ("1", "2", "5", "6", "USB"):
        assert not dt_set & set(msg_bytes(messages(outs[port]))), port


def test_clock_and_transport_only_on_the_clocked_outputs(studio):
    sim, _ = studio
    ins = sim.inputs()
    outs = sim.outputs()
    rt_in = [b for _, b in ins["A"] if b in REALTIME]
    assert rt_in[0] == 0xFA and rt_in[-1] == 0xFC and rt_in.count(0xF8) > 300
    for port in CLOCKED:
        assert [b for _, b in outs[port] if b in REALTIME] == rt_in, port
    for port in ("2", "6", "USB"):
        assert not [b for _, b in outs[port] if b in REALTIME], port
    # OP-Z and the Keystep get nothing but clock and transport
    for port in ("1", "5"):
        assert non_realtime(messages(outs[port])) == [], port


def test_timing_hard_facts_and_report(studio, record_property):
    sim, _ = studio
    s = sim.summary()
    assert s["cost_model"]["ns_per_fuel"] > 0  # the measured model, not the free one
    assert s["drops"] == 0
    assert s["rx_overflow"] == 0
    assert s["parse_errors"] == 0
    ins = sim.inputs()
    outs = sim.outputs()
    box, jitter = [], []
    for port in ALL_OUTPUTS:
        box += analysis.latencies(ins, outs[port])[0]
        if port in CLOCKED:
            jitter += analysis.clock_jitter(ins["A"], outs[port])
    lat = analysis.summary_stats(box)
    jit = analysis.summary_stats(jitter)
    record_property("latency_us", lat)
    record_property("clock_jitter_us", jit)
    print("studio latency us %s, clock jitter us %s, cpu busy %.1f %%"
          % (lat, jit, 100 * s["cpu_busy_fraction"]))
    assert lat["count"] > 500
    # every latency is positive: nothing leaves before it has fully arrived
    assert min(box) > 0
