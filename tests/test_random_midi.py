"""Random MIDI from a cable, through the whole simulated box: every run ends, and every
output carries exactly the valid messages routed to it.

The streams mix everything a cable can bring: channel messages in and out of running
status, realtime bytes inside messages and SysEx, SysEx of random length (some cut short by
a status byte), stray F7, runs of 0x00 from a break, the undefined F4 F5 F9 FD, system
common, and cables pulled mid-SysEx. Both inputs send at once, into presets that merge
them, move channels (to_channel, follow), send SysEx to several outputs, and change
mid-stream (Program Change on the control channel, a button). What each output must carry
is worked out independently: mido's reading of each input (engine_helpers.oracle) routed
by sim/oracle.py's RouteOracle from the presets document. No wall clock: the bounds are on
passes and virtual time, derived from the input.
"""

from __future__ import annotations

import json

import pytest
from engine_helpers import data_length, hexs, parse_din, parse_usb
from hypothesis import given, settings
from hypothesis import strategies as st
from sim_helpers import ALL_OUTPUTS, run_cli, write_jsonl_events
from switchyard.merge import lane_size

from sim.oracle import RouteOracle, is_merge_matching
from sim.oracle import valid_messages as oracle
from sim.runner import DRAIN_BOUND_US, DRAIN_TAIL_US, Simulation, SimulationStalled

BYTE_US = 320
CONTROL_PC = 0xCF  # Program Change on channel 16: the control channel below
SYSEX_TIMEOUT_US = 2_000_000  # an abandoned SysEx is closed after 1 to 2 s of silence
QUIET_US = 30_000  # between a burst and a preset change: their order is then defined

DOC = {
    "version": 1,
    "control": {"input": "any", "channel": 16},
    "presets": [
        {"name": "Split", "routes": [
            {"from": "A", "to": ["1", "3"]},
            {"from": "A", "to": ["4"], "channels": [1]},
            {"from": "A", "to": ["5", "6", "USB"], "types": ["sysex"]},
            {"from": "B", "to": ["2"], "types": ["notes", "sysex"]},
            {"from": "B", "to": ["3"], "types": ["pitchbend", "modwheel"],
             "follow": {"input": "A", "channels": [2, 3]}},
            {"from": "B", "to": ["4"], "types": ["pitchbend", "modwheel"], "to_channel": 1},
            {"from": "B", "to": ["USB"]},
        ]},
        {"name": "Keys moved", "routes": [
            {"from": "A", "to": ["1", "2", "3", "4", "5", "6"], "types": ["clock", "transport"]},
            {"from": "B", "to": ["4"], "types": ["notes", "cc", "pitchbend"], "to_channel": 1},
            {"from": "B", "to": ["5", "6"], "types": ["sysex", "common"]},
            {"from": "A", "to": ["USB"]},
        ]},
        {"name": "Everything", "routes": [
            {"from": "A", "to": list(ALL_OUTPUTS)},
            {"from": "B", "to": list(ALL_OUTPUTS)},
        ]},
        {"name": "Keys follow", "routes": [
            {"from": "B", "to": ["3"], "types": ["notes", "cc"],
             "follow": {"input": "A", "channels": [1, 2, 3]}},
            {"from": "A", "to": ["3"], "channels": [1, 2, 3]},
            {"from": "A", "to": ["1", "USB"], "types": ["sysex", "common", "clock"]},
        ]},
        # PC 4: splits, transposes, velocity, CC remap and sends (keys held across a change
        # to or from it must still be released as they were sent)
        {"name": "Transforms", "send": [
            {"to": ["3"], "channel": 2, "bank": [0, 1], "program": 12},
            {"to": ["4", "USB"], "channel": 1, "cc": [[74, 64], [71, 10]], "program": 5},
        ], "routes": [
            {"from": "B", "to": ["4"], "types": ["notes", "poly_aftertouch"], "keys": [0, 59],
             "transpose": 12, "to_channel": 1},
            {"from": "B", "to": ["3"], "types": ["notes"], "keys": ["C4", "G9"],
             "velocity": {"min": 30, "max": 110}, "to_channel": 2},
            {"from": "A", "to": ["3"], "types": ["cc"], "cc_map": {"74": 71, "64": 66}},
            {"from": "A", "to": ["1"], "types": ["notes", "poly_aftertouch"], "transpose": -5},
            {"from": "A", "to": ["2"], "types": ["notes"], "keys": ["E2", "G#5"],
             "velocity": {"fixed": 100}},
            {"from": "B", "to": ["5"], "types": ["notes", "pitchbend"], "transpose": 3,
             "follow": {"input": "A", "channels": [1, 2, 3]}},
        ]},
    ],
}

# ---- the streams --------------------------------------------------------------------------

_data = st.integers(0, 127)
_VALID_RT = (0xF8, 0xFA, 0xFB, 0xFC, 0xFE, 0xFF)
# every channel status but the control channel's Program Change, which the phases send
_CHANNEL_STATUS = st.integers(0x80, 0xEF).filter(lambda s: s != CONTROL_PC)


@st.composite
def _channel_run(draw) -> bytes:
    """A channel message, then up to three more in running status (data bytes only)."""
    status = draw(_CHANNEL_STATUS)
    out = bytearray([status])
    for _ in range(1 + draw(st.integers(0, 3))):
        out += bytes(draw(_data) for _ in range(data_length(status)))
    return bytes(out)


@st.composite
def _sysex(draw) -> bytes:
    body = b"\xf0" + bytes(draw(st.lists(_data, max_size=60)))
    return body + (b"\xf7" if draw(st.integers(0, 3)) else b"")  # some cut by what follows


@st.composite
def _common(draw) -> bytes:
    status = draw(st.sampled_from((0xF1, 0xF2, 0xF3, 0xF6)))
    return bytes([status] + [draw(_data) for _ in range(data_length(status))])


@st.composite
def _cut_short(draw) -> bytes:
    status = draw(_CHANNEL_STATUS)
    have = draw(st.integers(0, data_length(status) - 1))
    return bytes([status] + [draw(_data) for _ in range(have)])


_plain_token = st.one_of(
    _channel_run(), _channel_run(), _channel_run(),
    _sysex(), _common(), _cut_short(),
    st.sampled_from(_VALID_RT + (0xF9, 0xFD)).map(lambda b: bytes([b])),
    st.just(b"\xf7"),  # stray F7
    st.sampled_from((0xF4, 0xF5)).map(lambda b: bytes([b])),  # undefined system common
    st.integers(1, 12).map(lambda n: bytes(n)),  # a break: 0x00 bytes
)


@st.composite
def _token(draw) -> tuple[bytes, int]:
    """A token, sometimes with a realtime byte inside it, and the gap after it: an input
    sends at most a third of the wire, so two merged into one output never overflow it."""
    tok = bytearray(draw(_plain_token))
    if len(tok) > 1 and draw(st.integers(0, 3)) == 0:
        tok.insert(draw(st.integers(1, len(tok) - 1)), draw(st.sampled_from(_VALID_RT)))
    gap = 2 * BYTE_US * len(tok) + draw(st.integers(0, 3000))
    return bytes(tok), gap


_phase = st.one_of(
    st.tuples(st.just("pc"), st.sampled_from("AB"), st.integers(0, 6)),  # 5, 6: no preset
    st.tuples(st.just("press"), st.sampled_from(("P1", "P2", "P3", "P4"))),
    st.tuples(st.just("pull"), st.sampled_from("AB"), st.integers(0, 40)),
)


@st.composite
def timelines(draw) -> dict:
    """Bursts of both inputs, each followed by a preset change or a cable pulled mid-SysEx
    on one input (the box closes that SysEx after a second or two of silence)."""
    steps = draw(st.lists(
        st.tuples(st.lists(_token(), max_size=10), st.lists(_token(), max_size=10), _phase),
        min_size=1, max_size=3,
    ))
    end_pull = draw(st.one_of(st.none(), st.tuples(st.sampled_from("AB"), st.integers(0, 40))))
    pull_data = draw(st.lists(_data, min_size=40, max_size=40))
    return build_timeline(steps, end_pull, bytes(pull_data), draw(st.integers(0, 127)))


def _ends_in_sysex(stream: bytes) -> bool:
    inside = False
    for b in stream:
        if 0x80 <= b < 0xF8:
            inside = b == 0xF0
    return inside


def build_timeline(steps, end_pull, pull_data: bytes, program_pad: int) -> dict:
    """Events per input, presses, and the chunks the oracle reads, in time order: a burst
    (both inputs), a solo (one input's bytes, the other quiet) or a press."""
    events: dict[str, list] = {"A": [], "B": []}
    streams = {"A": bytearray(), "B": bytearray()}  # what the box's parsers act on
    chunks: list[tuple] = []
    presses: list[tuple[str, int]] = []
    t = 1000
    for tokens_a, tokens_b, phase in steps:
        ends = []
        for name, tokens in (("A", tokens_a), ("B", tokens_b)):
            tx = t
            for tok, gap in tokens:
                events[name].append((tx, tok))
                streams[name] += tok
                tx += BYTE_US * len(tok) + gap
            if _ends_in_sysex(streams[name]):  # a burst ends with its SysEx ended
                events[name].append((tx, b"\xf7"))
                streams[name] += b"\xf7"
                tx += BYTE_US
            ends.append(tx)
        chunks.append(("burst", len(streams["A"]), len(streams["B"])))
        t = max(ends) + QUIET_US
        if phase[0] == "pc":
            _, name, program = phase
            data = bytes([CONTROL_PC, program, 0xF7])  # F7: ends its running status
            events[name].append((t, data))
            streams[name] += data
            chunks.append(("burst", len(streams["A"]), len(streams["B"])))
            t += BYTE_US * len(data) + QUIET_US
        elif phase[0] == "press":
            presses.append((phase[1], t))
            chunks.append(("press", int(phase[1][1]) - 1))
            t += 150_000  # debounced and acted on well within this
        else:
            _, name, length = phase
            data = b"\xf0" + pull_data[:length]
            events[name].append((t, data))
            streams[name] += data + b"\xf7"  # the box closes it: the F7 the source never sent
            chunks.append(("burst", len(streams["A"]), len(streams["B"])))
            t += BYTE_US * len(data) + SYSEX_TIMEOUT_US + QUIET_US
    if end_pull is not None:  # the cable is pulled mid-SysEx at the very end
        name, length = end_pull
        data = b"\xf0" + pull_data[:length]
        events[name].append((t, data))
        streams[name] += data + b"\xf7"
        chunks.append(("burst", len(streams["A"]), len(streams["B"])))
        t += BYTE_US * len(data) + SYSEX_TIMEOUT_US
    # t: when the last input has ended, with its quiet times (a pulled cable's SysEx is
    # closed within them)
    return {"events": events, "streams": {k: bytes(v) for k, v in streams.items()},
            "chunks": chunks, "presses": presses, "quiet_at_us": t}


# ---- what each output must carry ----------------------------------------------------------


def expected_outputs(doc: dict, timeline: dict) -> tuple[dict, dict]:
    """Per output and input: the expected messages (items of RouteOracle) and realtime."""
    route = RouteOracle(doc)
    msgs: dict[str, dict[str, list]] = {o: {"A": [], "B": []} for o in ALL_OUTPUTS}
    rts: dict[str, dict[str, list]] = {o: {"A": [], "B": []} for o in ALL_OUTPUTS}
    done = {"A": (0, 0), "B": (0, 0)}  # messages and realtime bytes already routed
    sends: dict[str, list] = {}
    route.select(0, sends)  # power-up: preset 1's sends (the box has no preset saved)
    for chunk in timeline["chunks"]:
        if chunk[0] == "press":
            route.select(chunk[1], sends)
        for o, items in sends.items():  # between bursts: in order with A's (and B's)
            msgs[o]["A"] += items
        sends = {}
        if chunk[0] == "press":
            continue
        last_follow: dict = {}
        for name, end in (("A", chunk[1]), ("B", chunk[2])):  # A is the followed input
            got, realtime = oracle(timeline["streams"][name][:end])
            n_msg, n_rt = done[name]
            out: dict[str, list] = {}
            for byte in realtime[n_rt:]:
                for o in route.realtime(name, byte):
                    rts[o][name].append(frozenset([bytes([byte])]))
            for msg in got[n_msg:]:
                route.route(name, msg, out, last_follow)
            for o, items in out.items():
                msgs[o][name] += items
            done[name] = (len(got), len(realtime))
        route.end_burst(last_follow)
    return msgs, rts


def run_box(doc: dict, timeline: dict, tmp_path) -> Simulation:
    path = tmp_path / "presets.json"
    path.write_text(json.dumps(doc))
    sim = Simulation(presets_path=path)
    for name, events in timeline["events"].items():
        sim.play(name, events)
    for button, t_us in timeline["presses"]:
        sim.press(button, t_us / 1e6, 0.05)
    sim.run()
    return sim


def check_outputs(sim: Simulation, doc: dict, timeline: dict) -> None:
    msgs, rts = expected_outputs(doc, timeline)
    for o in ALL_OUTPUTS:
        stream = sim.output_bytes(o)
        got, realtime = (parse_usb if o == "USB" else parse_din)(stream)  # valid MIDI only
        assert is_merge_matching(got, msgs[o]["A"], msgs[o]["B"]), (
            "out %s carried %s; expected from A %s, from B %s"
            % (o, [m.hex(" ") for m in got], _show(msgs[o]["A"]), _show(msgs[o]["B"]))
        )
        rt = [bytes([b]) for b in realtime]
        assert is_merge_matching(rt, rts[o]["A"], rts[o]["B"]), "out %s realtime %s" % (
            o, realtime.hex(" "))


def _show(items: list) -> list:
    return ["|".join(sorted(m.hex(" ") for m in item)) for item in items]


def pass_bound(sim: Simulation, timeline: dict) -> int:
    """Passes a run may take: two for each input byte (the pass that reads it, and one
    more for the writes it causes), two for each 4 ms housekeeping slot of the virtual time
    (its key half and its LED half), and 200 for start-up and the drain."""
    bytes_in = sum(len(data) for events in timeline["events"].values() for _, data in events)
    return 2 * bytes_in + 2 * (sim.chip.clock.now_us // 4000) + 200


# ---- the properties -------------------------------------------------------------------------


def check_random_run(timeline: dict, tmp) -> None:
    """The property, for one timeline (also for longer searches than the test's own)."""
    sim = run_box(DOC, timeline, tmp)
    s = sim.summary()
    # ends: within its input and its quiet times (a pulled cable's SysEx is closed within
    # them), and the drain of the queues and of what DMA and the PIO still hold
    assert s["end_us"] <= timeline["quiet_at_us"] + 300_000 + DRAIN_TAIL_US
    assert s["passes"] <= pass_bound(sim, timeline)
    assert s["drops"] == 0 and s["rx_overflow"] == 0
    assert sim.app.queued() == 0
    check_outputs(sim, DOC, timeline)


@settings(max_examples=30, deadline=None)
@given(timeline=timelines())
def test_random_midi_on_both_inputs_ends_and_every_output_carries_what_is_routed_to_it(
    timeline, tmp_path_factory
):
    check_random_run(timeline, tmp_path_factory.mktemp("random"))


# ---- the stream that stalled the box ------------------------------------------------------


def _lane_filler() -> dict[str, list]:
    """B's long SysEx holds out 3 while A's SysEx fills A's lane to its last byte and
    empty SysEx follow it: the F7 of one that did not fit made the lane read as empty, and
    out 3 then waited for ever for the rest of a SysEx."""
    size = lane_size(4)  # A and B each into two outputs
    a = [(2_000, b"\xf0" + bytes([1]) * (size - 3) + b"\xf7")]
    end_a = 2_000 + 320 * (size - 1)
    a += [(end_a + 20_000 + 1000 * k, hexs("f0 f7")) for k in range(4)]
    a.append((end_a + 40_000, hexs("90 3c 64")))
    b = [(1_000, b"\xf0")] + [(100_000 * k, bytes(range(10))) for k in range(1, 15)]
    b.append((B_SYSEX_END_US, b"\xf7"))  # B's SysEx comes slowly: it holds out 3 for 1.5 s
    return {"A": a, "B": b}


B_SYSEX_END_US = 1_500_000


def test_replay_of_the_stream_that_stalled_python_m_sim_run(tmp_path):
    doc = {"version": 1, "presets": [{"name": "R", "routes": [
        {"from": "A", "to": ["1", "3"]}, {"from": "B", "to": ["2", "3"]}]}]}
    presets = tmp_path / "p.json"
    presets.write_text(json.dumps(doc))
    events = _lane_filler()
    args = ["run", "--presets", str(presets), "--out", str(tmp_path / "out")]
    for name, ev in events.items():
        args += ["--in", "%s=%s" % (name, write_jsonl_events(tmp_path / (name + ".jsonl"), ev))]
    done = run_cli(*args, timeout=120)
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["end_us"] < B_SYSEX_END_US + DRAIN_BOUND_US
    got, _ = parse_din(bytes(json.loads(line)["byte"] for line in
                             (tmp_path / "out" / "out-3.jsonl").read_text().splitlines()))
    assert got[-1] == hexs("90 3c 64")  # what waited behind the SysEx got out
    assert summary["drops"] >= 1  # an empty SysEx with no room for its F7, dropped whole


# ---- the runner's own guard ---------------------------------------------------------------


def _never_close_sysex(monkeypatch) -> None:
    """Every box built from now on has a parser that never closes an abandoned SysEx."""
    import sim.runner

    load = sim.runner.load_firmware

    def load_broken(chip):
        module = load(chip)  # a fresh import of the firmware: patch its own parser class
        monkeypatch.setattr(module.StreamParser, "close_sysex", lambda self: None)
        return module

    monkeypatch.setattr(sim.runner, "load_firmware", load_broken)


def _held_sysex_sim(tmp_path, monkeypatch) -> Simulation:
    """A box whose parser never closes an abandoned SysEx: out 1 waits for its end."""
    _never_close_sysex(monkeypatch)
    doc = {"version": 1, "presets": [{"name": "R", "routes": [
        {"from": "A", "to": ["1"]}, {"from": "B", "to": ["1"]}]}]}
    path = tmp_path / "p.json"
    path.write_text(json.dumps(doc))
    sim = Simulation(presets_path=path)
    sim.play("A", [(1000, hexs("f0 01 02"))])
    sim.play("B", [(9000, hexs("90 3c 64"))])  # waits behind A's SysEx
    return sim


def test_a_run_still_busy_long_after_its_inputs_stops_naming_pass_time_and_queue(
    tmp_path, monkeypatch
):
    sim = _held_sysex_sim(tmp_path, monkeypatch)
    with pytest.raises(SimulationStalled) as err:
        sim.run()
    text = str(err.value)
    assert "\n" not in text
    assert "pass %d" % sim.passes in text
    assert "t = %.6f s" % (sim.chip.clock.now_us / 1e6) in text
    assert "out 1: 2 queued, held by a SysEx from A" in text  # the SysEx and the note
    assert "in A: inside a SysEx" in text
    # it gave up at the bound, not long after it
    gave_up = sim.chip.clock.now_us - sim.end_us
    assert DRAIN_BOUND_US < gave_up < DRAIN_BOUND_US + 50_000


def test_a_run_whose_virtual_time_stands_still_is_stopped(tmp_path, monkeypatch):
    from sim.cost import CostModel

    doc = {"version": 1, "presets": [{"name": "R", "routes": [{"from": "A", "to": ["1"]}]}]}
    path = tmp_path / "p.json"
    path.write_text(json.dumps(doc))
    sim = Simulation(presets_path=path, cost=CostModel.free())
    sim.app.step = lambda: 1  # a pass that always "reads" and never lets time move
    with pytest.raises(SimulationStalled, match="virtual time stood still for 100000 passes"):
        sim.run(until_us=1_000_000)


def test_the_cli_reports_a_stalled_run_in_one_line_exits_3_and_keeps_its_logs(
    tmp_path, monkeypatch, capsys
):
    from sim import cli

    _never_close_sysex(monkeypatch)
    doc = {"version": 1, "presets": [{"name": "R", "routes": [{"from": "A", "to": ["1"]}]}]}
    ev = write_jsonl_events(tmp_path / "a.jsonl", [(1000, hexs("f0 01 02"))])
    out = tmp_path / "out"
    code = cli.main(["run", "--presets", str(_write(tmp_path / "p.json", doc)),
                     "--in", "A=%s" % ev, "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 3
    assert len(err) == 1 and err[0].startswith("sim: error: the box stalled at pass ")
    assert "held by a SysEx from A" in err[0]
    assert json.loads((out / "summary.json").read_text())["passes"] > 0
    assert [json.loads(line)["byte"] for line in
            (out / "out-1.jsonl").read_text().splitlines()] == [0xF0, 0x01, 0x02]


def _write(path, doc):
    path.write_text(json.dumps(doc))
    return path
