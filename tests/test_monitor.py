"""The live monitor (lib/switchyard/monitor.py, docs/MONITOR.md, tools/monitor.py).

What the box streams on usb_cdc.data, saved by `python -m sim run --monitor FILE` and
decoded by `tools/monitor.py --replay FILE --jsonl`, is exactly the messages of the run's
in-/out- logs, parsed here by mido (the independent oracle). A slow host makes the monitor
give up its own records, said in the stream, and never MIDI; a closed channel costs the
MIDI path nothing (the same wire logs to the microsecond); under MicroPython the open
monitor runs with the heap locked.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from sim_helpers import PY, REPO, Simulation, analysis, run_cli, scenario, write_jsonl_events

from tools import monitor

if str(REPO / "lib") not in sys.path:  # the box's modules, for the tests that take them alone
    sys.path.insert(0, str(REPO / "lib"))

SECONDS = 3.0
PIO_OUTPUTS = ("3", "4", "5", "6")  # boards/raspberry_pi_pico.py: PIO drivers


def mido_messages(log: list[tuple[int, int]]) -> list[tuple[int, list[int]]]:
    """(t_us of its last byte, bytes) of each message in a byte log, parsed by mido
    (sim.analysis.parse_log feeds it running status and realtime as MIDI 1.0 has them)."""
    return [(m.t_last, m.msg.bytes()) for m in analysis.parse_log(log)]


def read_log(path) -> list[tuple[int, int]]:
    return [(o["t_us"], o["byte"]) for o in map(json.loads, path.read_text().splitlines())]


def usb_source() -> list[tuple[int, bytes]]:
    """The computer's USB MIDI: a SysEx, notes with running status, realtime inside."""
    events = [(200_000, bytes([0xF0, 0x43, 0x10, 0xF8, 0x4C, 0x00, 0xF7]))]
    for k in range(20):
        events.append((300_000 + k * 50_000, bytes([0x92, 40 + k, 90, 40 + k, 0])))
    return events


@pytest.fixture(scope="module")
def studio_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("monitor")
    a = write_jsonl_events(d / "a.jsonl", scenario.digitakt(SECONDS))
    b = write_jsonl_events(d / "b.jsonl", scenario.keystep(SECONDS - 0.5))
    usb = write_jsonl_events(d / "usb.jsonl", usb_source())
    stream = d / "monitor.bin"
    # The shipped presets, with the computer's USB MIDI routed to USB and DIN 6 as well.
    doc = json.loads((REPO / "presets.json").read_text())
    doc["presets"][0]["routes"].append({"from": "USB", "to": ["USB", "6"]})
    presets = d / "presets.json"
    presets.write_text(json.dumps(doc))
    result = run_cli("run", "--presets", str(presets), "--preset", "1",
                     "--in", "A=%s" % a, "--in", "B=%s" % b, "--in", "USB=%s" % usb,
                     "--out", str(d / "out"), "--monitor", str(stream))
    assert result.returncode == 0, result.stderr
    replay = subprocess.run(
        [str(PY), str(REPO / "tools" / "monitor.py"), "--replay", str(stream), "--jsonl"],
        capture_output=True, text=True, timeout=120, cwd=str(REPO))
    assert replay.returncode == 0, replay.stderr
    return d, result.stdout, [json.loads(line) for line in replay.stdout.splitlines()]


def test_replay_prints_exactly_the_contract_fields(studio_run):
    _, _, lines = studio_run
    assert lines
    for obj in lines:
        assert list(obj) == ["t_us", "dir", "port", "bytes"]
        assert isinstance(obj["t_us"], int)
        assert obj["dir"] in ("in", "out")
        assert obj["port"] in ("A", "B", "USB", "1", "2", "3", "4", "5", "6")
        assert obj["bytes"] and all(isinstance(b, int) and 0 <= b < 256 for b in obj["bytes"])
        assert obj["bytes"][0] >= 0x80  # whole messages: running status expanded


def test_replay_is_exactly_the_messages_of_the_logs(studio_run):
    d, stdout, lines = studio_run
    assert "0 records given up" in stdout
    got: dict = {}
    for obj in lines:
        got.setdefault((obj["dir"], obj["port"]), []).append((obj["t_us"], obj["bytes"]))
    want = {}
    for path in sorted((d / "out").glob("*-*.jsonl")):
        side, port = path.stem.split("-", 1)
        msgs = mido_messages(read_log(path))
        if msgs:
            want[(side, port)] = msgs
    assert set(got) == set(want)
    for key in (("in", "A"), ("in", "B"), ("in", "USB"), ("out", "USB"), ("out", "6")):
        assert key in want
    for key, expected in want.items():
        mine = got[key]
        exp_bytes = [m for _, m in expected]
        my_bytes = [m for _, m in mine]
        if key[0] == "in" or key[1] not in PIO_OUTPUTS:
            assert my_bytes == exp_bytes, key
        else:
            # A PIO output's realtime byte leaves at the next byte boundary, ahead of bytes
            # the monitor already reported handed to DMA: each kind keeps its order.
            assert sorted(map(tuple, my_bytes)) == sorted(map(tuple, exp_bytes)), key
            assert [m for m in my_bytes if m[0] >= 0xF8] == [m for m in exp_bytes if m[0] >= 0xF8]
            assert [m for m in my_bytes if m[0] < 0xF8] == [m for m in exp_bytes if m[0] < 0xF8]
        if my_bytes == exp_bytes:
            # the box's clock (ticks_ms, 1 ms) against the wire's: within 3 ms
            for (t_mine, _), (t_wire, _) in zip(mine, expected, strict=True):
                assert abs(t_mine - t_wire) <= 3000, key


def test_text_replay_names_messages_and_sums_up_each_second(studio_run, tmp_path):
    d, _, _ = studio_run
    out = subprocess.run(
        [str(PY), str(REPO / "tools" / "monitor.py"), "--replay", str(d / "monitor.bin"),
         "--ports", "A,3", "--types", "clock,note_on"],
        capture_output=True, text=True, timeout=120, cwd=str(REPO)).stdout.splitlines()
    messages = [line for line in out if "--" not in line]
    assert any("in  A" in line and "clock" in line for line in messages)
    assert any("out 3" in line and "note_on" in line for line in messages)
    assert all(("in  A" in line or "out 3" in line) for line in messages)
    assert all(("clock" in line or "note_on" in line) for line in messages)
    summaries = [line for line in out if "-- preset" in line]
    assert len(summaries) >= SECONDS - 1
    assert "parse errors 0" in summaries[-1] and "preset 1" in summaries[-1]


def test_missing_file_and_missing_box_are_one_line(tmp_path):
    for args in (["--replay", str(tmp_path / "nope.bin")], ["--port", str(tmp_path / "ttyX")]):
        r = subprocess.run([str(PY), str(REPO / "tools" / "monitor.py"), *args],
                           capture_output=True, text=True, timeout=60, cwd=str(REPO))
        assert r.returncode == 1
        assert "Traceback" not in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert r.stderr.startswith("monitor: ")


def studio_sim(**kwargs) -> Simulation:
    sim = Simulation(**kwargs)
    sim.play("A", scenario.digitakt(SECONDS))
    sim.play("B", scenario.keystep(SECONDS - 0.5))
    return sim


def out_messages(sim: Simulation) -> dict:
    return {port: [m for _, m in mido_messages(log)] for port, log in sim.outputs().items()}


def test_slow_host_loses_monitor_records_said_in_the_stream_never_midi():
    plain = studio_sim()
    plain.run()
    slow = studio_sim(monitor=True, monitor_bytes_per_ms=1)
    slow.run()
    assert slow.summary()["drops"] == 0
    assert out_messages(slow) == out_messages(plain)  # every MIDI message still went
    mon = slow.app.monitor
    # What the host read, then what still waits in the box's buffer for it.
    waiting = bytes(mon.buf[:mon.fill])
    events, decoder = monitor.decode(slow.monitor_stream() + waiting)
    gaps = [e.given_up for e in events if e.kind == "gap"]
    assert gaps and decoder.given_up == sum(gaps)
    assert decoder.given_up == mon.given_up > 0  # none silently missing
    stats = [e for e in events if e.kind == "stats"]
    assert stats and stats[-1].monitor_given_up <= mon.given_up
    # each counters record reports what was given up before it
    seen = 0
    for e in events:
        if e.kind == "gap":
            seen += e.given_up
        elif e.kind == "stats":
            assert e.monitor_given_up >= seen


def test_a_closed_channel_costs_the_midi_path_nothing():
    off = studio_sim()  # boot.py without the data channel
    off.run()
    closed = studio_sim(monitor=True, monitor_open=False)  # enabled, nobody opens it
    closed.run()
    assert closed.app.monitor is not None and not closed.app.monitor.on
    assert off.outputs() == closed.outputs()  # to the microsecond
    assert closed.summary()["cpu_busy_fraction"] == off.summary()["cpu_busy_fraction"]


def test_host_closing_stops_the_stream_and_unhooks_the_taps():
    sim = studio_sim(monitor=True, monitor_close_us=1_500_000)
    sim.run()
    app = sim.app
    assert not app.monitor.on and not app.monitor_on
    assert all(out.mon is None for out in app.router.outputs)
    assert [f for _, f in app.uart_feeds] == [p.feed for p in app.parsers[:len(app.uart_feeds)]]
    last = max(t for t, _ in sim.chip.cdc.received)
    assert 1_500_000 - 1_000_000 < last <= 1_500_000
    events, _ = monitor.decode(sim.monitor_stream())
    assert any(e.kind == "stats" for e in events)


def test_open_monitor_runs_with_the_heap_locked_under_micropython():
    mprun = pytest.importorskip("tools.mprun")
    from tools import bench

    lib = bench._lib_with_adafruit()
    try:
        with mprun.MicroPython(lib=lib) as mp:
            bench._setup_engine(mp, bench.FOUR_OUTPUTS, bench.mixed_stream(60), 16)
            mp.run(bench._MONITOR_SETUP)
            mp.run("run_monitored(app, feeds, pump)")
            mp.run_locked("run_monitored(app, feeds, pump)")
            mp.run_locked("mon.stats(0, 0, app.router.outputs)\npump()")
            out, _ = mp.run("print(mon.records, mon.given_up + mon.gap)")
        records, given_up = (int(x) for x in out.split()[:2])
        assert records > 100 and given_up == 0
    finally:
        import shutil

        shutil.rmtree(lib, ignore_errors=True)


def test_a_clock_fanned_out_is_one_record_naming_its_outputs_and_a_repeat_starts_another():
    """Monitor.realtime: a realtime byte put straight into several PIO transmitters in one
    pass is one 0x63 record (byte, output mask); the same output again, or another byte,
    closes it first, so the decoder gives every port each byte it was sent, in order."""
    from switchyard.monitor import Monitor

    class Host:
        connected = True

        def __init__(self):
            self.got = bytearray()

        def write(self, buf):
            self.got.extend(bytes(buf))
            return len(buf)

        def reset_output_buffer(self):
            pass

    host = Host()
    mon = Monitor(host, lambda: 5)
    mon.attach([], [], [], [], [])
    mon.open()
    mon.realtime(1 << 2, 0xF8)  # out 3
    mon.realtime(1 << 5, 0xF8)  # out 6
    mon.realtime(1 << 2, 0xF8)  # out 3 again: the first record is made
    mon.realtime(1 << 3, 0xFA)  # another byte: so is the second
    mon.after_pass()
    assert mon.pump()
    events = [e for e in monitor.Decoder().feed(bytes(host.got)) if e.kind == "message"]
    got = [(e.port, list(e.bytes)) for e in events]
    assert sorted(got) == sorted([("3", [0xF8]), ("6", [0xF8]), ("3", [0xF8]), ("4", [0xFA])])
    assert mon.records + mon.singles == 3


def test_a_record_copies_the_largest_read_or_write_whole():
    """A record's bytes are copied by pack_into with a fixed count (monitor._COPY): it must
    cover the app's read buffer (merge.READ_CHUNK) and every write the pacers hand over,
    or a longer one would be cut short in the stream without a word."""
    import struct

    from switchyard import merge, monitor

    assert monitor._COPY >= merge.READ_CHUNK
    assert struct.calcsize(monitor._RECORD) == monitor._HEADER + monitor._COPY
    assert struct.calcsize(monitor._KEEP) == monitor._COPY
    assert merge._PIO_BATCH + 3 <= monitor._COPY and merge._USB_CHUNK <= monitor._COPY


def test_a_heap_with_no_room_for_the_monitor_runs_without_it(capsys, monkeypatch):
    sim = Simulation(presets_path=REPO / "presets.json", preset=1)

    class NoRoom:
        def __init__(self, serial, ticks_ms):
            raise MemoryError("memory allocation failed, allocating 1088 bytes")

    class Serial:
        timeout = 1
        write_timeout = 1
        connected = True

    import switchyard.monitor

    monkeypatch.setattr(switchyard.monitor, "Monitor", NoRoom)
    monkeypatch.setattr(sys.modules["usb_cdc"], "data", Serial(), raising=False)
    assert sim.module._make_monitor(lambda: 0) is None
    assert "monitor off: no room left in the heap" in capsys.readouterr().out
    sim.play("A", scenario.digitakt(0.5))
    sim.run()
    assert sim.summary()["drops"] == 0 and sim.outputs()["4"]


def raw_records(stream: bytes) -> list[tuple[int, bytes]]:
    """(tag, payload) of each record of a monitor stream (docs/MONITOR.md), pads skipped."""
    from switchyard import monitor as box

    records = []
    pos = 0
    while pos < len(stream):
        if stream[pos] == box.TAG_PAD:
            pos += 1
            continue
        n = stream[pos + 1]
        records.append((stream[pos], bytes(stream[pos + 4:pos + 4 + n])))
        pos += 4 + n
    return records


def test_a_message_read_a_byte_a_pass_is_one_record_once_it_went_out():
    """In light traffic each byte of a message is read in a pass of its own; their record
    waits for the message to go out (a batch after it), so it is one record, not three,
    and comes with the output's record of the same message."""
    from switchyard import monitor as box

    sim = Simulation(presets_path=REPO / "presets.json", preset=1, monitor=True)
    sim.play("A", [(100_000, bytes([0x90, 60, 100])), (200_000, bytes([0x80, 60, 0]))])
    sim.run(until_us=300_000)
    records = raw_records(sim.monitor_stream())
    assert [p for tag, p in records if tag == box.TAG_IN] == [
        bytes([0x90, 60, 100]), bytes([0x80, 60, 0])]
    assert [p for tag, p in records if tag == box.TAG_OUT + 3] == [
        bytes([0x90, 60, 100]), bytes([0x80, 60, 0])]  # output 4
    order = [tag for tag, _ in records if tag in (box.TAG_IN, box.TAG_OUT + 3)]
    assert order == [box.TAG_IN, box.TAG_OUT + 3] * 2  # one batch a message


@pytest.mark.parametrize("quiet_ms", [0, 2, 40])
def test_a_message_that_goes_nowhere_is_in_the_stream_within_3_ms(quiet_ms):
    """A message no route takes is still shown (the question is then "why did it not go
    out?"), with its time: its record is made within 3 ms of its last byte even when
    nothing else comes, and whatever came just before it (a clock, quiet_ms earlier)."""
    sim = Simulation(presets_path=REPO / "presets.json", preset=1, monitor=True)
    t0 = 100_000
    if quiet_ms:
        sim.play("A", [(t0 - quiet_ms * 1000, bytes([0xF8]))])
    sim.play("A", [(t0, bytes([0x93, 60, 100]))])  # channel 4: preset 1 sends it nowhere
    sim.run(until_us=200_000)
    wire = [t for t, m in mido_messages(sim.inputs()["A"]) if m[0] == 0x93]
    events, _ = monitor.decode(sim.monitor_stream())
    mine = [e.t_us for e in events
            if e.kind == "message" and e.dir == "in" and list(e.bytes) == [0x93, 60, 100]]
    assert len(wire) == len(mine) == 1
    assert -1000 < mine[0] - wire[0] <= 3000 + 1000  # the box's clock counts whole ms


def test_under_a_load_with_no_pass_that_reads_nothing_records_come_every_3_ms():
    """Both inputs at 100 % of the wire, fanned out: no pass reads nothing, so the
    records are made every 3 ms instead; every message is in the stream, in order, each
    within 3 ms of its last byte (plus the box's millisecond), and MIDI gives up
    nothing."""
    import tempfile
    from pathlib import Path

    presets = Path(tempfile.mkdtemp(prefix="switchyard-monload-")) / "presets.json"
    presets.write_text(json.dumps({"version": 1, "presets": [{"name": "load", "routes": [
        {"from": "A", "to": ["1", "3"]}, {"from": "B", "to": ["2", "4"]}]}]}))
    sim = Simulation(presets_path=presets, monitor=True)
    sim.play("A", scenario.full_load(0.5, channel=0))
    sim.play("B", scenario.full_load(0.5, channel=1))
    sim.run()
    assert sim.summary()["drops"] == 0 and sim.app.monitor.given_up == 0
    events, _ = monitor.decode(sim.monitor_stream())
    for port in ("A", "B"):
        wire = mido_messages(sim.inputs()[port])
        mine = [(e.t_us, list(e.bytes)) for e in events
                if e.kind == "message" and e.dir == "in" and e.port == port]
        assert [m for _, m in mine] == [m for _, m in wire]
        late = [t_mine - t_wire for (t_mine, _), (t_wire, _) in zip(mine, wire, strict=True)]
        assert max(late) <= 3000 + 1000 + 1000 and min(late) > -1000, port


def test_a_clock_fanned_out_is_told_the_monitor_once():
    """The router tells the monitor of a realtime byte put straight into several PIO
    transmitters once for all of them (Monitor.realtime with their mask), not once an
    output: one mark and one record a clock."""
    from switchyard import monitor as box

    sim = Simulation(presets_path=REPO / "presets.json", preset=1, monitor=True)
    clocks = [(100_000 + k * 20_833, bytes([0xF8])) for k in range(10)]
    sim.play("A", clocks)
    sim.run(until_us=400_000)
    assert sim.app.monitor.marks == 10  # counted by the simulator around Monitor.realtime
    rt = [p for tag, p in raw_records(sim.monitor_stream()) if tag == box.TAG_RT]
    assert rt == [bytes([0xF8, 0b11101])] * 10  # preset 1's clock: outputs 1, 3, 4, 5


def test_with_clk_the_studio_and_an_open_monitor_keep_clks_targets():
    """The batch of records waits while CLK holds its outputs for the next clock, as
    housekeeping does: CLK as the studio's clock (120 BPM) keeps its interval targets
    (p99 <= 250 us, max <= 640 us) with the monitor open and read."""
    import copy
    import tempfile
    from pathlib import Path

    doc = copy.deepcopy(json.loads((REPO / "presets.json").read_text()))
    doc["tempo"] = {"bpm": 120}
    doc["presets"][0]["routes"][0]["from"] = "CLK"  # the clock route
    presets = Path(tempfile.mkdtemp(prefix="switchyard-clkmon-")) / "presets.json"
    presets.write_text(json.dumps(doc))
    seconds = 10.0
    sim = Simulation(presets_path=presets, preset=1, monitor=True)
    sim.play("A", scenario.digitakt(seconds))
    sim.play("B", scenario.keystep(seconds - 0.5))
    sim.press("P1", 2.0, 1.2)  # CLK starts
    sim.run(until_us=int(seconds * 1e6))
    assert sim.app.monitor.on and sim.app.monitor.records > 1000
    period = 60e6 / (120 * 24)
    devs = []
    for port in ("1", "3", "4", "5"):
        times = [t for t, b in sim.outputs()[port] if b == 0xF8]
        assert len(times) > 300, port
        devs += [abs(b - a - period) for a, b in zip(times, times[1:], strict=False)]
    assert analysis.percentile(devs, 99) <= 250 and max(devs) <= 640
