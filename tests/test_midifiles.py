"""Real files through the CLI, and both inputs at the full wire rate.

Standard MIDI Files written with mido go through `python -m sim run --preset 4` (Everything):
every output carries the file's messages (meta events aside), in order. Then 60 s of virtual
time with both inputs at 100 % of the wire (scenario.full_load).
"""

from __future__ import annotations

import json
import math

import mido
import pytest
from sim_helpers import (
    ALL_OUTPUTS,
    Simulation,
    analysis,
    messages,
    msg_bytes,
    read_byte_log,
    run_cli,
    scenario,
    write_presets,
)


def dense_cc() -> mido.MidiFile:
    """Filter and resonance automation every 5 ms for 4 s, with notes."""
    mid = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=500_000))  # 120 BPM: 1 tick = 1.04 ms
    for k in range(800):
        track.append(mido.Message("control_change", channel=0, control=74,
                                  value=int(64 + 63 * math.sin(k / 25)), time=5 if k else 0))
        if k % 100 == 0:
            track.append(mido.Message("note_on", channel=0, note=36 + k // 100, velocity=100))
        if k % 100 == 90:
            track.append(mido.Message("note_off", channel=0, note=36 + k // 100, velocity=0))
    return mid


def long_sysex() -> mido.MidiFile:
    """A 2 KB patch dump between notes (a dump as synths send them)."""
    mid = mido.MidiFile(ticks_per_beat=96)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.Message("note_on", channel=2, note=60, velocity=90, time=0))
    track.append(mido.Message("sysex", data=[0x01, 0x2F] + [(k * 7) & 0x7F for k in range(2000)],
                              time=48))
    track.append(mido.Message("note_off", channel=2, note=60, velocity=0, time=96 * 4))
    track.append(mido.Message("sysex", data=[0x7E, 0x7F, 0x06, 0x01], time=10))
    return mid


def many_channels() -> mido.MidiFile:
    """Every channel, every channel-message type (no Program Change on channel 16: the
    shipped presets.json takes those as preset changes)."""
    mid = mido.MidiFile(ticks_per_beat=96)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    for ch in range(16):
        if ch != 15:
            track.append(mido.Message("program_change", channel=ch, program=ch * 3, time=6))
        track.extend([
            mido.Message("note_on", channel=ch, note=40 + ch, velocity=64 + ch, time=2),
            mido.Message("polytouch", channel=ch, note=40 + ch, value=30, time=2),
            mido.Message("aftertouch", channel=ch, value=50, time=2),
            mido.Message("pitchwheel", channel=ch, pitch=-8192 + ch * 1000, time=2),
            mido.Message("control_change", channel=ch, control=1, value=ch * 8, time=2),
            mido.Message("control_change", channel=ch, control=64, value=127, time=2),
            mido.Message("note_off", channel=ch, note=40 + ch, velocity=ch, time=4),
            mido.Message("control_change", channel=ch, control=64, value=0, time=2),
        ])
    return mid


def tracks_and_tempos() -> mido.MidiFile:
    """Type 1: a tempo track with changes, a bass track and a drum track."""
    mid = mido.MidiFile(type=1, ticks_per_beat=120)
    tempo = mido.MidiTrack()
    tempo.append(mido.MetaMessage("track_name", name="tempo"))
    tempo.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(90)))
    tempo.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(140), time=480))
    tempo.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(70), time=480))
    bass = mido.MidiTrack()
    drums = mido.MidiTrack()
    for k in range(24):
        bass.append(mido.Message("note_on", channel=0, note=36 + k % 5, velocity=100,
                                 time=0 if k == 0 else 20))
        bass.append(mido.Message("note_off", channel=0, note=36 + k % 5, velocity=0, time=40))
        drums.append(mido.Message("note_on", channel=9, note=36 + (k % 2) * 2, velocity=127,
                                  time=0 if k == 0 else 50))
        drums.append(mido.Message("note_on", channel=9, note=36 + (k % 2) * 2, velocity=0,
                                  time=10))
    mid.tracks.extend([tempo, bass, drums])
    return mid


FILES = {
    "dense_cc": dense_cc,
    "long_sysex": long_sysex,
    "many_channels": many_channels,
    "tracks_and_tempos": tracks_and_tempos,
}


# The 2 KB SysEx goes at full wire rate to the 7 outputs of preset 4: each output costs
# ~5.2k fuel a SysEx byte plus ~33k a DMA write (sim/cost_model.json), which fits in the
# 320 us a byte the wire gives only with the Pico at the 200 MHz its firmware sets (at
# 125 MHz its 127-byte lanes filled and it was cut, closed with F7 and counted).
@pytest.mark.parametrize("name", [
    "dense_cc",
    "long_sysex",
    "many_channels",
    "tracks_and_tempos",
])
def test_midi_file_through_everything(tmp_path, name):
    mid = FILES[name]()
    path = tmp_path / (name + ".mid")
    mid.save(str(path))
    expected = [tuple(m.bytes()) for m in mido.MidiFile(str(path)) if not m.is_meta]
    assert len(expected) >= 4
    out = tmp_path / "out"
    proc = run_cli("run", "--preset", "4", "--in", "A=%s" % path, "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert msg_bytes(messages(read_byte_log(out / "in-A.jsonl"))) == expected
    for port in ALL_OUTPUTS:
        got = msg_bytes(messages(read_byte_log(out / ("out-%s.jsonl" % port))))
        assert got == expected, port
    summary = json.loads((out / "summary.json").read_text())
    assert summary["drops"] == 0 and summary["parse_errors"] == 0
    assert summary["rx_overflow"] == 0
    # played at the file's tempo: the last message comes when mido says it does
    last_us = round(mid.length * 1e6)
    in_a = read_byte_log(out / "in-A.jsonl")
    first_of_last = analysis.parse_log(in_a)[-1].t_first
    assert abs(first_of_last - last_us) < 320 * 2100  # behind at most one queued SysEx


# Each full input fanned out to two outputs is the heaviest load the Pico carries: with the
# cost model of sim/cost_model.json it runs with 0 drops, and still does with every cost
# twice as high (1.6 times is the Pico at 125 MHz instead of the 200 its firmware sets;
# reads grow as the loop falls behind, and a bigger read costs less a byte; tools/bench.py:
# load_fanout_drops_at_cost_scale). The outputs' DMA double buffering is what holds it:
# with one buffer the wires ran dry between passes.
@pytest.mark.parametrize("fanout", [
    pytest.param(False, id="each_input_to_one_output"),
    pytest.param(True, id="each_input_to_two_outputs"),
])
def test_both_inputs_at_full_wire_rate_for_60_seconds(tmp_path, record_property, fanout):
    routes = [{"from": "A", "to": ["1", "3"] if fanout else ["1"]},
              {"from": "B", "to": ["2", "4"] if fanout else ["2"]}]
    path = write_presets(tmp_path / "split.json", [{"name": "full load", "routes": routes}])
    sim = Simulation(presets_path=path, preset=1)
    sim.play("A", scenario.full_load(60.0, channel=0))
    sim.play("B", scenario.full_load(60.0, channel=1))
    sim.run()
    s = sim.summary()
    record_property("full_load_summary", {k: s[k] for k in
                                          ("drops", "rx_overflow", "cpu_busy_fraction")})
    print("full load 60 s: drops %d, RX overflow %d, CPU busy %.1f %%"
          % (s["drops"], s["rx_overflow"], 100 * s["cpu_busy_fraction"]))
    ins = sim.inputs()
    outs = sim.outputs()
    a_bytes = [b for _, b in ins["A"]]
    b_bytes = [b for _, b in ins["B"]]
    assert len(a_bytes) == len(b_bytes) == 62_500 * 3
    assert s["rx_overflow"] == 0
    assert s["drops"] == 0
    assert s["parse_errors"] == 0
    carried = (("1", a_bytes), ("2", b_bytes))
    if fanout:
        carried += (("3", a_bytes), ("4", b_bytes))
    for port, src in carried:
        assert [b for _, b in outs[port]] == src, port
    for port in ("5", "6", "USB") + (() if fanout else ("3", "4")):
        assert outs[port] == [], port


def _keystep_at_full_wire(seconds: float) -> bytes:
    """Input B never resting: notes, a bend gesture, sustain, and every 2 s a 1,000-byte
    SysEx (a patch dump), on channel 9 (see test_contention's tracing rules)."""
    out = bytearray()
    k = 0
    while len(out) < seconds * 3125:
        note = 48 + k % 8
        out += bytes([0x98, note, 100, 0xB8, 64, 127])
        out += b"".join(bytes([0xE8, (k + j) % 128, 64]) for j in range(20))
        out += bytes([0x88, note, 0, 0xB8, 64, 0])
        if k % 150 == 0:
            out += b"\xf0\x7d\x02" + bytes(j % 128 for j in range(1000)) + b"\xf7"
        k += 1
    return bytes(out)


def test_both_inputs_at_full_wire_rate_into_one_output_for_60_seconds(tmp_path):
    # 200 % of one wire for a minute: out 1 gives up what the rules let it, and only that.
    from engine_helpers import parse_din
    from test_contention import source_of

    from sim.oracle import full_output_violations, valid_messages

    routes = [{"from": "A", "to": ["1"]}, {"from": "B", "to": ["1"]}]
    path = write_presets(tmp_path / "merge.json", [{"name": "merged", "routes": routes}])
    sim = Simulation(presets_path=path, preset=1)
    a = bytearray(scenario.full_load(60.0, channel=0)[0][1])
    for pos in range(len(a) - 96, 0, -96):  # a clock every 96 bytes (30 ms), in the stream
        a[pos:pos] = b"\xf8"
    b = _keystep_at_full_wire(60.0)
    sim.play("A", [(0, bytes(a))])
    sim.play("B", [(0, b)])
    sim.run()
    s = sim.summary()
    got = bytes(b for _, b in sim.outputs()["1"])
    msgs, realtime = parse_din(got)
    sent = {"A": valid_messages(bytes(a))[0], "B": valid_messages(b)[0]}
    assert full_output_violations(sent, msgs, source_of) == []
    out = s["outputs"]["1"]
    assert sum(len(m) for m in sent.values()) == len(msgs) + out["drops"] + out["coalesced"]
    assert out["coalesced"] > 10_000 and out["drops"] > 0
    assert realtime == b"\xf8" * a.count(0xF8)  # clock is never given up
    dumps = [m for m in msgs if m[0] == 0xF0]
    assert dumps and all(len(m) == 1004 for m in dumps)
    assert s["rx_overflow"] == 0 and s["parse_errors"] == 0
    print("merged at 200 %% for 60 s: %d given up (%d SysEx), %d coalesced, %d of %d dumps whole"
          % (out["drops"], out["sysex_drops"], out["coalesced"], len(dumps),
             sum(1 for m in sent["B"] if m[0] == 0xF0)))
