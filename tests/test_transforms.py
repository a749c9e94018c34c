"""Splits, transpose, velocity, CC remap and a preset's sends (switchyard/transforms.py,
switchyard/rewrite.py), rule by rule, then a random property against sim/oracle.py: keys
held while the preset, the split or the transpose changes are released as they were sent."""

from __future__ import annotations

import json

import pytest
from engine_helpers import Box, RouterBench, hexs, messages, preset_doc
from hypothesis import given, settings
from hypothesis import strategies as st
from switchyard import presets, transforms

from sim.oracle import RouteOracle, note_of


def bench_of(doc: dict) -> RouterBench:
    doc.setdefault("control", {"input": "any", "channel": 16})
    return RouterBench(doc)


def sends_done(bench: RouterBench) -> None:
    while bench.router.send_next < len(bench.router.sending):
        bench.router.send_step()


# ---- the tables ------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "number"), [
    ("C-1", 0), ("C4", 60), ("G9", 127), ("C#4", 61), ("Db4", 61), ("A0", 21), ("B3", 59),
    ("c4", 60), (0, 0), (127, 127),
])
def test_note_names_with_c4_as_60(name, number):
    assert transforms.note_number(name) == number
    assert note_of(name) == number  # the oracle reads them the same way


@pytest.mark.parametrize("bad", ["H4", "C10", "G#9", "Cb-1", "C", "", 128, -1, True, 4.0, "C 4"])
def test_what_is_not_a_note(bad):
    assert transforms.note_number(bad) is None


def test_velocity_range_maps_1_to_min_and_127_to_max_by_the_formula():
    table = transforms.velocity_map(("range", 30, 110))
    assert table[0] == 0 and table[1] == 30 and table[127] == 110
    assert all(table[v] == 30 + ((v - 1) * 80 + 63) // 126 for v in range(1, 128))
    fixed = transforms.velocity_map(("fixed", 100, 100))
    assert fixed[0] == 0 and set(fixed[1:]) == {100}


def test_note_map_folds_keys_and_transpose_and_drops_what_leaves_the_keyboard():
    table = transforms.note_map((0, 59), 12)
    assert table[59] == 71 and table[60] == transforms.NOT_SENT and table[0] == 12
    up = transforms.note_map(None, 48)
    assert up[79] == 127 and up[80] == transforms.NOT_SENT


# ---- the router --------------------------------------------------------------------------


SPLIT = {"name": "Split", "send": [
    {"to": ["3"], "channel": 2, "bank": [0, 1], "program": 12},
    {"to": ["4"], "channel": 1, "cc": [[74, 64]], "program": 5}],
    "routes": [
        {"from": "B", "to": ["4"], "types": ["notes", "poly_aftertouch"], "keys": [0, 59],
         "transpose": 12, "to_channel": 1},
        {"from": "B", "to": ["3"], "types": ["notes"], "keys": ["C4", "G9"],
         "velocity": {"min": 30, "max": 110}, "to_channel": 2},
        {"from": "A", "to": ["3"], "types": ["cc"], "cc_map": {"74": 71}},
    ]}
PLAIN = {"name": "Plain", "routes": [{"from": "B", "to": ["3", "4"]}]}


def split_bench(*more: dict) -> RouterBench:
    return bench_of({"version": 1, "presets": [SPLIT, *more]})


def test_the_split_sends_each_half_to_its_synth_transposed_and_scaled():
    bench = split_bench()
    bench.send("B", hexs("94 3b 64 94 3c 7f a4 3b 20 a4 3c 20 84 3b 00 84 3c 00"))
    got = bench.drain()
    assert got["4"] == messages("90 47 64", "a0 47 20", "80 47 00")  # B3 -> B4, channel 1
    assert got["3"] == messages("91 3c 6e", "81 3c 00")  # C4 up, velocity 127 -> 110


def test_cc_map_renames_the_controller_it_carries():
    bench = split_bench()
    bench.send("A", hexs("b0 4a 10 b0 07 20 b0 01 05"))
    assert bench.drain()["3"] == messages("b0 47 10", "b0 07 20")  # types: cc, not modwheel


def test_a_transposed_note_held_across_a_preset_change_is_released_as_it_was_sent():
    bench = split_bench(PLAIN)
    bench.send("B", hexs("94 30 64"))  # C3: the Minitaur's half, sent as C4 on channel 1
    bench.send("B", hexs("cf 01"))  # preset 2: plain
    bench.send("B", hexs("84 30 00"))
    got = bench.drain()
    assert got["4"] == messages("90 3c 64", "80 3c 00", "84 30 00")


def test_a_note_transposed_off_the_keyboard_is_not_sent_nor_its_note_off():
    bench = bench_of(preset_doc({"from": "B", "to": ["1"], "transpose": 48}))
    bench.send("B", hexs("90 50 64 90 4f 64 80 50 00 80 4f 00"))
    assert bench.drain()["1"] == messages("90 7f 64", "80 7f 00")


def test_velocity_zero_note_on_stays_a_note_off_and_note_off_velocity_passes():
    bench = bench_of(preset_doc({"from": "B", "to": ["1"], "velocity": {"fixed": 100},
                                 "keys": [60, 72]}))
    bench.send("B", hexs("90 3c 05 90 3c 00 90 3d 50 80 3d 33 90 3b 40 80 3b 00"))
    assert bench.drain()["1"] == messages("90 3c 64", "90 3c 00", "90 3d 64", "80 3d 33")


def test_a_preset_sends_bank_ccs_and_program_when_chosen_again_too():
    bench = split_bench(PLAIN)
    for _ in range(2):
        bench.send("A", hexs("cf 00"))  # preset 1, chosen again the second time
        sends_done(bench)
    got = bench.drain()
    assert got["3"] == messages("b1 00 00", "b1 20 01", "c1 0c") * 2
    assert got["4"] == messages("b0 4a 40", "c0 05") * 2


def test_sends_go_at_power_up_through_the_housekeeping():
    doc = {"version": 1, "presets": [SPLIT]}
    box = Box(doc, din=("1", "2"), pio=("3", "4"))
    box.steps_n(3)
    assert box.wire("3") == b""  # not in the first passes: from the 4 ms housekeeping
    for _ in range(20):
        box.ticks.now += 4
        box.steps_n(2)
    box.run()
    assert box.parsed("3")[0] == messages("b1 00 00", "b1 20 01", "c1 0c")
    assert box.parsed("4")[0] == messages("b0 4a 40", "c0 05")


# ---- the checker ------------------------------------------------------------------------


def errors_of(route_or_preset: dict, preset_level: bool = False) -> list[str]:
    if preset_level:
        doc = {"version": 1, "presets": [dict({"name": "x", "routes": [
            {"from": "A", "to": ["1"]}]}, **route_or_preset)]}
    else:
        doc = preset_doc(route_or_preset)
    return presets.parse(json.dumps(doc)).errors


@pytest.mark.parametrize(("field", "value", "message"), [
    ("keys", [0, 130], 'presets[0].routes[0].keys[1]: 130 is not a note: use 0..127 or a name '
                       'like "C4"'),
    ("keys", ["H4", 60], 'presets[0].routes[0].keys[0]: "H4" is not a note'),
    ("keys", [72, 60], "presets[0].routes[0].keys: the lowest key (C5, 72) is above the highest"),
    ("keys", 60, "presets[0].routes[0].keys: must be a list of two notes"),
    ("transpose", 49, "presets[0].routes[0].transpose: 49 is outside -48..48"),
    ("transpose", "12", "presets[0].routes[0].transpose: must be a number: write 12 without"),
    ("velocity", {"min": 100, "max": 30}, 'presets[0].routes[0].velocity: "min" 100 is above'),
    ("velocity", {"fixed": 0}, "presets[0].routes[0].velocity.fixed: 0 is outside 1..127"),
    ("velocity", {"fixed": 9, "max": 9}, 'presets[0].routes[0].velocity: "fixed" together'),
    ("velocity", {"mn": 1, "max": 9},
     'presets[0].routes[0].velocity.mn: unknown key "mn"; keys here are "fixed"'),
    ("cc_map", {"seventy": 7}, 'presets[0].routes[0].cc_map["seventy"]: "seventy" is not a CC'),
    ("cc_map", {"74": 200}, 'presets[0].routes[0].cc_map["74"]: 200 is outside 0..127'),
])
def test_each_field_error_names_the_place_and_the_fix(field, value, message):
    errors = errors_of({"from": "A", "to": ["1"], field: value})
    assert any(message in e for e in errors), errors


@pytest.mark.parametrize(("send", "message"), [
    ([{"to": ["3"], "channel": 2}], 'presets[0].send[0]: sends nothing; add "program"'),
    ([{"to": ["9"], "channel": 2, "program": 1}], 'presets[0].send[0].to[0]: unknown output "9"'),
    ([{"to": ["3"], "channel": 0, "program": 1}], "presets[0].send[0].channel: channel 0 is"),
    ([{"to": ["3"], "channel": 2, "program": 128}], "presets[0].send[0].program: 128 is outside"),
    ([{"to": ["3"], "channel": 2, "bank": [0]}], "presets[0].send[0].bank: must be [MSB, LSB]"),
    ([{"to": ["3"], "channel": 2, "cc": [[74]]}], "presets[0].send[0].cc[0]: must be a [CC, "),
    ([{"channel": 2, "program": 1}], 'presets[0].send[0]: missing "to"'),
])
def test_send_errors_name_the_place_and_the_fix(send, message):
    errors = errors_of({"send": send}, preset_level=True)
    assert any(message in e for e in errors), errors


def test_warnings_for_keys_on_a_route_without_notes_and_for_overlapping_splits():
    doc = {"version": 1, "presets": [{"name": "x", "routes": [
        {"from": "B", "to": ["3"], "types": ["cc"], "transpose": 12},
        {"from": "B", "to": ["4"], "keys": [0, 64], "to_channel": 1},
        {"from": "B", "to": ["4"], "keys": [60, 127], "to_channel": 1},
    ]}]}
    result = presets.parse(json.dumps(doc))
    assert result.ok
    assert any("routes[0].transpose: warning" in w and "carries no notes" in w
               for w in result.warnings), result.warnings
    assert any("routes[2]: warning: routes 1 and 2 can both put C4 (60) on output 4, channel 1"
               in w for w in result.warnings), result.warnings


def test_the_shipped_presets_have_no_transform_warnings():
    result = presets.load("presets.json")
    assert result.ok
    assert not [w for w in result.warnings if "note-off" in w or "carries no notes" in w]


# ---- random keys against the oracle --------------------------------------------------------


RANDOM_DOC = {"version": 1, "control": {"input": "any", "channel": 16}, "presets": [
    SPLIT,
    {"name": "Other split", "routes": [
        {"from": "B", "to": ["4"], "types": ["notes"], "keys": [40, 70], "transpose": -7,
         "to_channel": 1},
        {"from": "B", "to": ["3", "5"], "types": ["notes"], "keys": [71, 127],
         "velocity": {"fixed": 90}},
        {"from": "A", "to": ["3"], "types": ["notes"], "follow": {"input": "A", "channels": [2, 3]},
         "transpose": 5},
    ]},
    PLAIN,
]}

_event = st.one_of(
    st.tuples(st.just("on"), st.sampled_from("AB"), st.integers(0, 3), st.integers(20, 100),
              st.integers(1, 127)),
    st.tuples(st.just("off"), st.sampled_from("AB"), st.integers(0, 3), st.integers(20, 100),
              st.integers(0, 127)),
    st.tuples(st.just("pc"), st.sampled_from("AB"), st.integers(0, 3), st.just(0), st.just(0)),
    st.tuples(st.just("pat"), st.just("B"), st.integers(0, 3), st.integers(20, 100),
              st.integers(0, 127)),
)


@settings(max_examples=150, deadline=None)
@given(events=st.lists(_event, max_size=60))
def test_random_keys_across_preset_changes_go_as_the_oracle_says_and_none_hangs(events):
    bench = bench_of(json.loads(json.dumps(RANDOM_DOC)))
    oracle = RouteOracle(RANDOM_DOC)
    expected: dict[str, list] = {}
    held: dict[tuple, int] = {}
    def play(source: str, msg: bytes) -> None:
        bench.send(source, msg)
        last: dict = {}
        oracle.route(source, msg, expected, last)
        oracle.end_burst(last)  # one message at a time: the follow channel is defined

    for kind, source, channel, note, value in events:
        if kind == "on":
            if (source, channel, note) in held:
                continue  # a key is not pressed twice before it is let go
            msg = bytes([0x90 | channel, note, value])
            held[(source, channel, note)] = 1
        elif kind == "off":
            msg = bytes([0x80 | channel, note, value])
            held.pop((source, channel, note), None)
        elif kind == "pat":
            msg = bytes([0xA0 | channel, note, value])
        else:
            msg = bytes([0xCF, channel])
        play(source, msg)
        if kind == "pc":
            sends_done(bench)
    for source, channel, note in list(held):  # every key let go at the end
        play(source, bytes([0x80 | channel, note, 0]))
    got = bench.drain()
    for out in ("1", "2", "3", "4", "5", "6", "USB"):
        want = expected.get(out, [])
        assert len(got[out]) == len(want) and all(
            m in item for m, item in zip(got[out], want, strict=True)), (out, got[out], want)
        sounding = set()
        for m in got[out]:
            if m[0] & 0xF0 == 0x90 and m[2]:
                sounding.add((m[0] & 0x0F, m[1]))
            elif m[0] & 0xF0 in (0x80, 0x90):
                sounding.discard((m[0] & 0x0F, m[1]))
        assert not sounding, (out, sounding)  # no note left hanging
