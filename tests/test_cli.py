"""`python -m sim run` and `python -m sim demo` as a user runs them: a subprocess in the repo.

Each input format goes in and comes out again (mido is the oracle for what the outputs
carry); the files written have the documented shapes; buttons, presets and --seconds show
in summary.json; every user mistake is one line on stderr and exit status 2.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import mido
import pytest
from sim_helpers import (
    ALL_OUTPUTS,
    messages,
    msg_bytes,
    read_byte_log,
    run_cli,
    write_jsonl_events,
)

INPUT_FILES = ("in-A.jsonl", "in-B.jsonl", "in-USB.jsonl")
OUTPUT_FILES = tuple("out-%s.jsonl" % p for p in ALL_OUTPUTS)
WIRE_BYTE_US = 320


def check_summary_shape(summary: dict) -> None:
    assert isinstance(summary["drops"], int)
    assert isinstance(summary["parse_errors"], int)
    assert isinstance(summary["preset_changes"], list)
    for change in summary["preset_changes"]:
        assert set(change) >= {"t_us", "preset"}
        assert isinstance(change["t_us"], int) and isinstance(change["preset"], int)


def run_ok(*args: str) -> subprocess.CompletedProcess:
    proc = run_cli("run", *args)
    assert proc.returncode == 0, proc.stderr
    return proc


def load_out(out: Path) -> tuple[dict, dict, dict]:
    names = sorted(p.name for p in out.iterdir())
    for name in INPUT_FILES + OUTPUT_FILES + ("summary.json",):
        assert name in names, names
    ins = {n[3:-6]: read_byte_log(out / n) for n in INPUT_FILES}
    outs = {n[4:-6]: read_byte_log(out / n) for n in OUTPUT_FILES}
    summary = json.loads((out / "summary.json").read_text())
    check_summary_shape(summary)
    return ins, outs, summary


# ---- round trips ---------------------------------------------------------------------------

JSONL_EVENTS = [
    (10_000, bytes([0x90, 60, 100])),
    (12_000, bytes([0xB0, 74, 10, 75, 20])),  # running status on the input
    (20_000, bytes([0xE3, 0x00, 0x40])),
    (30_000, bytes([0xC5, 7])),
    (31_000, bytes([0xF0, 0x7D, 1, 2, 3, 0xF7])),
    (40_000, bytes([0x80, 60, 0])),
    (40_500, bytes([0xD2, 99])),
]


def test_jsonl_round_trip(tmp_path):
    src = write_jsonl_events(tmp_path / "a.jsonl", JSONL_EVENTS)
    out = tmp_path / "out"
    run_ok("--preset", "4", "--in", "A=%s" % src, "--out", str(out))
    ins, outs, summary = load_out(out)
    # in-A.jsonl: every byte, at its wire time (start bits 320 us apart within an event)
    expected_in = []
    for t_us, data in JSONL_EVENTS:
        start = max([t_us] + [t + WIRE_BYTE_US for t, _ in expected_in[-1:]])
        for k, b in enumerate(data):
            expected_in.append((start + k * WIRE_BYTE_US, b))
    assert ins["A"] == expected_in
    assert ins["B"] == [] and ins["USB"] == []
    sent = messages(ins["A"])
    assert len(sent) == 8  # the running-status CC counts twice
    for port in ALL_OUTPUTS:  # preset 4 (Everything) routes A to every output
        assert msg_bytes(messages(outs[port])) == msg_bytes(sent), port
        assert all(t >= ins["A"][0][0] for t, _ in outs[port])
    assert summary["drops"] == 0 and summary["parse_errors"] == 0
    assert summary["preset_changes"] == []


def test_syx_round_trip(tmp_path):
    dump = bytes([0xF0, 0x00, 0x20, 0x3C]) + bytes(k & 0x7F for k in range(300)) + b"\xf7"
    data = dump + bytes([0xF0, 0x7E, 0x7F, 0x06, 0x01, 0xF7])
    src = tmp_path / "patch.syx"
    src.write_bytes(data)
    out = tmp_path / "out"
    run_ok("--preset", "4", "--in", "B=%s" % src, "--out", str(out))
    ins, outs, summary = load_out(out)
    assert bytes(b for _, b in ins["B"]) == data
    assert [t for t, _ in ins["B"]] == [k * WIRE_BYTE_US for k in range(len(data))]
    sent = messages(ins["B"])
    assert [m.type for m in sent] == ["sysex", "sysex"]
    for port in ALL_OUTPUTS:
        assert msg_bytes(messages(outs[port])) == msg_bytes(sent), port
        assert bytes(b for _, b in outs[port]) == data, port
    assert summary["drops"] == 0


def test_mid_round_trip(tmp_path):
    mid = mido.MidiFile(ticks_per_beat=96)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=500_000, time=0))
    expected = []
    for k in range(12):
        msgs = [
            mido.Message("note_on", channel=k % 3, note=48 + k, velocity=90, time=24),
            mido.Message("control_change", channel=k % 3, control=74, value=k * 10, time=0),
            mido.Message("note_off", channel=k % 3, note=48 + k, velocity=0, time=12),
        ]
        track.extend(msgs)
        expected.extend(msgs)
    track.append(mido.Message("pitchwheel", channel=9, pitch=-2000, time=5))
    expected.append(track[-1])
    src = tmp_path / "song.mid"
    mid.save(str(src))
    out = tmp_path / "out"
    run_ok("--preset", "4", "--in", "A=%s" % src, "--out", str(out))
    ins, outs, summary = load_out(out)
    want = msg_bytes(expected)
    assert msg_bytes(messages(ins["A"])) == want
    # the file's tempo: 24 ticks at 96 tpb and 120 BPM = 125 ms between the first notes
    starts = [t for t, b in ins["A"] if b & 0xF0 == 0x90]
    assert starts[1] - starts[0] == pytest.approx(187_500, abs=1)  # 24 + 12 + 0 ticks later
    assert starts[0] == pytest.approx(125_000, abs=1)
    for port in ALL_OUTPUTS:
        assert msg_bytes(messages(outs[port])) == want, port
    assert summary["drops"] == 0


# ---- buttons, presets, --seconds --------------------------------------------------------------


def test_press_and_preset_show_in_preset_changes(tmp_path):
    out = tmp_path / "out"
    run_ok(
        "--preset", "3",
        "--press", "P1@0.5",
        "--press", "FN@1+0.2",  # a short FN press does nothing
        "--press", "p4@1.5+0.3",
        "--out", str(out),
    )
    _, outs, summary = load_out(out)
    changes = summary["preset_changes"]
    assert [c["preset"] for c in changes] == [1, 4]
    assert 500_000 < changes[0]["t_us"] <= 530_000
    assert 1_500_000 < changes[1]["t_us"] <= 1_530_000
    assert all(log == [] for log in outs.values())  # no MIDI in, no panic: nothing out


def test_preset_option_selects_the_starting_preset(tmp_path):
    # Everything (4) carries B's notes to output 1; Studio (1) does not.
    src = write_jsonl_events(tmp_path / "b.jsonl", [(5_000, bytes([0x92, 64, 90]))])
    for preset, expect_out1 in (("4", 1), ("1", 0)):
        out = tmp_path / ("out" + preset)
        run_ok("--preset", preset, "--in", "B=%s" % src, "--out", str(out))
        _, outs, summary = load_out(out)
        assert len(messages(outs["1"])) == expect_out1, preset
        assert summary["preset_changes"] == []


def test_seconds_limits_the_run(tmp_path):
    events = [(k * 100_000, bytes([0x90, 60, 100])) for k in range(50)]  # 0 .. 4.9 s
    src = write_jsonl_events(tmp_path / "a.jsonl", events)
    out = tmp_path / "out"
    run_ok("--preset", "4", "--in", "A=%s" % src, "--seconds", "1.25", "--out", str(out))
    _, outs, summary = load_out(out)
    assert summary["end_us"] == 1_250_000
    got = messages(outs["1"])
    assert len(got) == 13  # the notes at 0.0 .. 1.2 s
    assert max(t for t, _ in outs["1"]) < 1_250_000


def test_without_seconds_runs_until_drained(tmp_path):
    events = [(3_000_000, bytes([0xF0] + [0x11] * 200 + [0xF7]))]
    src = write_jsonl_events(tmp_path / "a.jsonl", events)
    out = tmp_path / "out"
    run_ok("--preset", "4", "--in", "A=%s" % src, "--out", str(out))
    _, outs, summary = load_out(out)
    for port in ALL_OUTPUTS:
        assert bytes(b for _, b in outs[port]) == events[0][1], port
    last_in = 3_000_000 + 201 * WIRE_BYTE_US
    assert summary["end_us"] >= max(t for t, _ in outs["1"]) >= last_in
    assert summary["end_us"] < last_in + 1_000_000  # and stops soon after


# ---- errors: one line, exit status 2 ----------------------------------------------------------


def assert_usage_error(proc, *needles: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    err = proc.stderr.strip()
    assert "Traceback" not in proc.stderr
    assert len(err.splitlines()) == 1, err
    for needle in needles:
        assert needle in err, (needle, err)


@pytest.fixture
def good_jsonl(tmp_path):
    return write_jsonl_events(tmp_path / "ok.jsonl", [(0, bytes([0x90, 60, 100]))])


def test_error_unknown_port(tmp_path, good_jsonl):
    proc = run_cli("run", "--in", "C=%s" % good_jsonl, "--out", str(tmp_path / "o"))
    assert_usage_error(proc, "'C'", "A, B, USB")


@pytest.mark.parametrize(
    ("spec", "needle"),
    [("P9@1", "'P9'"), ("SHIFT@1+2", "'SHIFT'")],
)
def test_error_unknown_button(tmp_path, spec, needle):
    proc = run_cli("run", "--press", spec, "--out", str(tmp_path / "o"))
    assert_usage_error(proc, needle, "P1")


@pytest.mark.parametrize("spec", ["P1", "P1@", "P1@soon", "FN@1+x", "P2@-1", "FN@1+0"])
def test_error_malformed_press(tmp_path, spec):
    proc = run_cli("run", "--press", spec, "--out", str(tmp_path / "o"))
    assert_usage_error(proc, spec)
    assert not (tmp_path / "o").exists()


JSONL_BAD = {
    "bad_json": ('{"t_us": 0, "bytes": [144, 60, 100]}\n{"t_us": 5, "bytes": [128, 60\n', ":2"),
    "byte_out_of_range": ('{"t_us": 0, "bytes": [144, 60, 256]}\n', ":1"),
    "negative_byte": ('{"t_us": 0, "bytes": [-1]}\n', ":1"),
    "time_backwards": (
        '{"t_us": 100, "bytes": [248]}\n{"t_us": 50, "bytes": [248]}\n', ":2"
    ),
    "missing_key": ('{"t": 0, "bytes": [248]}\n', ":1"),
}


@pytest.mark.parametrize("case", sorted(JSONL_BAD))
def test_error_malformed_jsonl(tmp_path, case):
    text, where = JSONL_BAD[case]
    src = tmp_path / ("%s.jsonl" % case)
    src.write_text(text)
    proc = run_cli("run", "--in", "A=%s" % src, "--out", str(tmp_path / "o"))
    assert_usage_error(proc, "%s.jsonl%s" % (case, where))


def test_error_syx_not_starting_with_f0(tmp_path):
    src = tmp_path / "bad.syx"
    src.write_bytes(bytes([0x90, 60, 100, 0xF7]))
    proc = run_cli("run", "--in", "A=%s" % src, "--out", str(tmp_path / "o"))
    assert_usage_error(proc, "bad.syx", "F0")


@pytest.mark.parametrize(
    "content",
    [b"MThd\x00\x00\x00\x06\x00\x01", b"not a midi file at all", b"MThd\x00\x00\x00\x06\x00\x00"
     b"\x00\x01\x00\x60MTrk\x00\x00\x01\x00\x00\x90"],
    ids=["truncated_header", "garbage", "truncated_track"],
)
def test_error_broken_mid(tmp_path, content):
    src = tmp_path / "broken.mid"
    src.write_bytes(content)
    proc = run_cli("run", "--in", "B=%s" % src, "--out", str(tmp_path / "o"))
    assert_usage_error(proc, "broken.mid")


def test_error_unreadable_input(tmp_path):
    proc = run_cli("run", "--in", "A=%s" % (tmp_path / "nothing.jsonl"), "--out", str(tmp_path))
    assert_usage_error(proc, "nothing.jsonl")


def test_error_missing_presets_file(tmp_path, good_jsonl):
    missing = tmp_path / "presets-missing.json"
    proc = run_cli(
        "run", "--presets", str(missing), "--in", "A=%s" % good_jsonl, "--out", str(tmp_path / "o")
    )
    assert_usage_error(proc, "presets-missing.json")


# ---- demo ---------------------------------------------------------------------------------


def test_demo_prints_each_output_and_the_timing(tmp_path):
    proc = run_cli("demo", "--seconds", "3", "--out", str(tmp_path / "demo"))
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    for port in ALL_OUTPUTS:
        assert "out %s" % port in text, port
    lines = text.splitlines()
    assert any(line.startswith("latency (last byte in -> first byte out): p50 ") for line in lines)
    assert any(line.startswith("clock jitter on the outputs: p50 ") for line in lines)
    assert any(line.startswith("drops 0, RX overflow 0") for line in lines), text
    report = json.loads((tmp_path / "demo" / "report.json").read_text())
    # the printed per-output counts are what the written logs carry
    out3 = read_byte_log(tmp_path / "demo" / "out-3.jsonl")
    assert report["outputs"]["3"]["bytes"] == len(out3) > 0
    assert "out 3 (Rev2)" in text


# ---- the Simulation API behind the CLI ---------------------------------------------------------


def test_seconds_limits_the_input_logs_too(tmp_path):
    events = [(k * 100_000, bytes([0x90, 60, 100])) for k in range(50)]
    src = write_jsonl_events(tmp_path / "a.jsonl", events)
    out = tmp_path / "out"
    run_ok("--preset", "4", "--in", "A=%s" % src, "--seconds", "1.25", "--out", str(out))
    ins, _, _ = load_out(out)
    assert max(t for t, _ in ins["A"]) < 1_250_000


def test_run_until_a_time_just_after_a_pass():
    import sim_helpers

    sim = sim_helpers.Simulation(preset=1)
    sim.run(until_us=19_550)  # the first keypad scan is at 19532 us; its pass costs ~40 us
    assert sim.chip.clock.now_us >= 19_550


class Spinning(Exception):
    pass


def test_free_cost_model_with_an_event_at_time_zero_finishes():
    import sim_helpers

    sim = sim_helpers.free_sim(preset=1)
    sim.press("P2", 0.0, 0.2)
    step = sim.app.step
    passes = [0]

    def counted_step():
        passes[0] += 1
        if passes[0] > 100_000:
            raise Spinning("100000 passes without the clock moving past %d us"
                           % sim.chip.clock.now_us)
        return step()

    sim.app.step = counted_step
    sim.run(until_us=500_000)
    assert [c["preset"] for c in sim.summary()["preset_changes"]] == [2]
