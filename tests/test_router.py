"""switchyard.router.Router: route fields, the studio preset, note tracking, control Program
Change, bar-quantised switching and panic. Messages go in through real StreamParsers and
come out of real merge.Output queues; what an output carries is read back with mido."""

import copy

import pytest
from engine_helpers import (
    SHIPPED_PRESETS,
    RouterBench,
    din_in_order,
    hexs,
    messages,
    preset_doc,
)
from switchyard.midi import TYPE_NAMES
from switchyard.router import OUTPUT_NAMES

# One or more messages of every route type (channel messages on channel 1).
TYPE_SAMPLES = {
    "clock": ["f8"],
    "transport": ["fa", "fb", "fc"],
    "notes": ["90 3c 64", "80 3c 00", "90 3e 00"],
    "poly_aftertouch": ["a0 3c 10"],
    "cc": ["b0 07 64", "b0 40 7f", "b0 02 05", "b0 20 01", "b0 22 03"],
    "modwheel": ["b0 01 40", "b0 21 10"],
    "program": ["c0 05"],
    "aftertouch": ["d0 30"],
    "pitchbend": ["e0 00 40"],
    "sysex": ["f0 01 02 f7"],
    "common": ["f1 12", "f2 01 02", "f3 04", "f6"],
    "active_sensing": ["fe"],
    "reset": ["ff"],
}
ALL_SAMPLES = [s for name in TYPE_NAMES for s in TYPE_SAMPLES[name]]


def studio():
    return copy.deepcopy(SHIPPED_PRESETS)


def send_all(bench, source, samples):
    for s in samples:
        bench.send(source, hexs(s))


# ---- route fields -------------------------------------------------------------------------


def test_every_type_has_samples():
    assert sorted(TYPE_SAMPLES) == sorted(TYPE_NAMES)


@pytest.mark.parametrize("type_name", TYPE_NAMES)
def test_route_types_pass_exactly_their_messages(type_name):
    bench = RouterBench(preset_doc({"from": "A", "to": ["1"], "types": [type_name]}))
    send_all(bench, "A", ALL_SAMPLES)
    got = bench.drain()
    assert sorted(got["1"]) == sorted(messages(*TYPE_SAMPLES[type_name]))
    assert all(not got[name] for name in OUTPUT_NAMES if name != "1")


def test_route_types_cc_and_modwheel_together_pass_every_cc():
    bench = RouterBench(preset_doc({"from": "A", "to": ["1"], "types": ["cc", "modwheel"]}))
    send_all(bench, "A", ALL_SAMPLES)
    want = messages(*TYPE_SAMPLES["cc"], *TYPE_SAMPLES["modwheel"])
    assert sorted(bench.drain()["1"]) == sorted(want)


def test_route_from_takes_only_that_input():
    bench = RouterBench(preset_doc({"from": "B", "to": ["1"]}))
    bench.send("A", hexs("90 3c 64 f8"))
    bench.send("USB", hexs("91 3c 64 f8"))
    bench.send("B", hexs("92 3c 64 fa"))
    assert bench.drain()["1"] == messages("92 3c 64", "fa")


def test_route_to_reaches_every_listed_output_and_no_other():
    bench = RouterBench(preset_doc({"from": "A", "to": ["1", "3", "6", "USB"]}))
    bench.send("A", hexs("90 3c 64 f0 01 f7 f8"))
    got = bench.drain()
    for name in OUTPUT_NAMES:
        listed = name in ("1", "3", "6", "USB")
        assert got[name] == (messages("90 3c 64", "f0 01 f7", "f8") if listed else []), name


def test_route_channels_filter_by_input_channel_and_carry_channel_messages_only():
    bench = RouterBench(preset_doc({"from": "A", "to": ["1"], "channels": [2, 3]}))
    for ch in range(16):
        bench.send("A", bytes([0x90 | ch, 60, 100, 0xB0 | ch, 7, 1]))
    bench.send("A", hexs("f8 f0 01 f7 f1 12 fe"))
    assert bench.drain()["1"] == messages("91 3c 64", "b1 07 01", "92 3c 64", "b2 07 01")


def test_route_to_channel_rewrites_every_channel_message():
    bench = RouterBench(preset_doc({"from": "A", "to": ["1"], "to_channel": 5}))
    bench.send("A", hexs("90 3c 64 a1 3c 10 b2 07 64 b3 01 40 c4 05 d5 30 e6 00 40 80 3c 00"))
    assert bench.drain()["1"] == messages(
        "94 3c 64", "a4 3c 10", "b4 07 64", "b4 01 40", "c4 05", "d4 30", "e4 00 40", "84 3c 00"
    )


def test_route_to_channel_passes_system_messages_unchanged():
    bench = RouterBench(preset_doc({"from": "A", "to": ["1"], "to_channel": 5}))
    bench.send("A", hexs("f8 f1 12 f2 01 02 f3 04 f6 f0 01 02 f7 fa"))
    got = bench.drain()["1"]
    assert sorted(got) == sorted(
        messages("f8", "f1 12", "f2 01 02", "f3 04", "f6", "f0 01 02 f7", "fa")
    )


def test_route_with_channels_and_to_channel_moves_only_those_channels():
    bench = RouterBench(
        preset_doc({"from": "B", "to": ["2"], "channels": [1, 2], "to_channel": 10})
    )
    bench.send("B", hexs("90 3c 64 91 3d 64 92 3e 64 e1 00 40"))
    assert bench.drain()["2"] == messages("99 3c 64", "99 3d 64", "e9 00 40")


def test_follow_pitch_bend_goes_to_the_channel_of_the_latest_note_on_among_the_set():
    bench = RouterBench(studio())
    # before any note, the lowest channel of the set (2)
    bench.send("B", hexs("e0 00 50"))
    assert bench.drain()["3"] == messages("e1 00 50")
    bench.send("A", hexs("92 3c 64"))  # Digitakt plays the Rev2's part on channel 3
    bench.send("B", hexs("e0 00 51"))
    assert bench.drain()["3"] == messages("92 3c 64", "e2 00 51")
    bench.send("A", hexs("91 40 64"))  # then channel 2
    bench.send("B", hexs("e0 00 52"))
    assert bench.drain()["3"] == messages("91 40 64", "e1 00 52")
    bench.send("A", hexs("94 40 64 92 3c 00 82 3c 00"))  # ch 5 is not in the set; note-offs
    bench.send("B", hexs("e0 00 53"))
    assert bench.drain()["3"] == messages("92 3c 00", "82 3c 00", "e1 00 53")


def test_follow_ignores_the_keysteps_own_channel_and_carries_modwheel_not_other_ccs():
    bench = RouterBench(studio())
    bench.send("A", hexs("92 3c 64"))
    bench.send("B", hexs("e5 10 20 b5 01 40 b5 21 05 b5 07 64"))  # Keystep on channel 6
    got = bench.drain()
    assert got["3"] == messages("92 3c 64", "e2 10 20", "b2 01 40", "b2 21 05")
    assert got["4"] == messages("e0 10 20", "b0 01 40", "b0 21 05")


def test_studio_preset_end_to_end():
    bench = RouterBench(studio())
    bench.send("A", hexs("fa f8 90 3c 64 91 40 64 92 43 64 b0 07 64 f8 f0 01 f7"))
    bench.send("B", hexs("90 30 64 e0 00 50 b0 01 40 b0 07 20 80 30 00 c0 05"))
    got = bench.drain()
    clock = messages("fa", "f8", "f8")
    assert got["1"] == clock  # Keystep: the Digitakt's clock
    assert got["2"] == messages("90 30 64", "80 30 00")  # Digitakt: the Keystep's keys
    assert got["3"] == messages(  # Rev2: its two parts, the Keystep's PB/MW on the last one
        "fa", "f8", "91 40 64", "92 43 64", "f8", "e2 00 50", "b2 01 40"
    )
    assert got["4"] == messages(  # Minitaur: channel 1, the Keystep's PB/MW moved there
        "fa", "f8", "90 3c 64", "b0 07 64", "f8", "e0 00 50", "b0 01 40"
    )
    assert got["5"] == clock
    assert got["6"] == [] and got["USB"] == []


# ---- note tracking ----------------------------------------------------------------------------


def test_note_off_follows_its_note_on_after_a_preset_change():
    bench = RouterBench(studio())
    bench.send("A", hexs("90 3c 64 90 3e 64"))  # Digitakt ch 1 -> Minitaur (out 4)
    assert bench.drain()["4"] == messages("90 3c 64", "90 3e 64")
    bench.router.request_preset(1)  # Keystep > Minitaur: A ch 1 goes nowhere
    bench.send("A", hexs("80 3c 00 90 3e 00 90 40 64 80 40 00"))
    got = bench.drain()
    assert got["4"] == messages("80 3c 00", "90 3e 00")  # only the held notes' note-offs
    assert all(not got[n] for n in OUTPUT_NAMES if n != "4")


def test_note_off_of_a_channel_rewritten_note_in_the_same_preset():
    bench = RouterBench(studio())
    bench.router.request_preset(1)  # Keystep > Minitaur: B notes -> 4 on channel 1
    bench.send("B", hexs("94 3c 64 84 3c 00"))
    assert bench.drain()["4"] == messages("90 3c 64", "80 3c 00")


def test_note_off_of_a_channel_rewritten_note_after_a_change_to_another_rewrite():
    bench = RouterBench(studio())
    bench.router.request_preset(1)  # B notes -> 4 on channel 1
    bench.send("B", hexs("94 3c 64"))
    bench.drain()
    bench.router.request_preset(2)  # B notes -> 3 on channel 2
    bench.send("B", hexs("84 3c 00"))
    got = bench.drain()
    assert got["4"] == messages("80 3c 00")
    assert got["3"] == []  # the note never sounded there


def test_note_off_of_a_channel_rewritten_note_after_a_change_to_a_plain_preset():
    bench = RouterBench(studio())
    bench.router.request_preset(1)  # Keystep > Minitaur: B notes -> 4 on channel 1
    bench.send("B", hexs("94 3c 64"))
    assert bench.drain()["4"] == messages("90 3c 64")
    bench.router.request_preset(0)  # Studio: B notes -> 2 unchanged
    bench.send("B", hexs("84 3c 00"))
    got = bench.drain()
    assert got["4"] == messages("80 3c 00")
    assert got["2"] == messages("84 3c 00")


def test_sustain_off_follows_sustain_on_after_a_preset_change():
    bench = RouterBench(studio())
    bench.send("A", hexs("b0 40 7f"))  # Digitakt ch 1 -> Minitaur (out 4)
    bench.drain()
    bench.router.request_preset(1)
    bench.send("A", hexs("b0 40 00"))
    assert bench.drain()["4"] == messages("b0 40 00")


def test_sustain_off_follows_a_channel_rewritten_sustain_on_after_a_preset_change():
    bench = RouterBench(studio())
    bench.router.request_preset(1)  # B cc -> 4 on channel 1
    bench.send("B", hexs("b4 40 7f"))
    assert bench.drain()["4"] == messages("b0 40 7f")
    bench.router.request_preset(0)
    bench.send("B", hexs("b4 40 00"))
    assert bench.drain()["4"] == messages("b0 40 00")


# ---- control Program Change -------------------------------------------------------------------

EVERYWHERE = [{"from": name, "to": list(OUTPUT_NAMES)} for name in ("A", "B", "USB")]


def control_doc(control_input, presets=4, switch="now"):
    doc = preset_doc(
        *EVERYWHERE,
        control={"input": control_input, "channel": 16, "switch": switch},
        more=[EVERYWHERE] * (presets - 1),
    )
    return doc


@pytest.mark.parametrize("source", ["A", "B", "USB"])
def test_control_program_change_from_any_input_selects_a_preset_and_is_not_routed(source):
    bench = RouterBench(control_doc("any"))
    bench.send(source, hexs("cf 02"))
    assert bench.router.preset_index == 2
    bench.send(source, hexs("cf 00"))
    assert bench.router.preset_index == 0
    assert bench.router.preset_changes == 2
    assert all(got == [] for got in bench.drain().values())


@pytest.mark.parametrize("control", ["A", "B", "USB"])
def test_control_program_change_from_a_named_input_only(control):
    bench = RouterBench(control_doc(control))
    for source in ("A", "B", "USB"):
        if source != control:
            bench.send(source, hexs("cf 03"))
            assert bench.router.preset_index == 0
            got = bench.drain()
            assert all(v == messages("cf 03") for v in got.values())  # routed like any PC
    bench.send(control, hexs("cf 03"))
    assert bench.router.preset_index == 3
    assert all(v == [] for v in bench.drain().values())


def test_program_change_on_another_channel_is_routed_and_selects_nothing():
    bench = RouterBench(control_doc("any"))
    bench.send("A", hexs("ce 02 c0 01"))
    assert bench.router.preset_index == 0
    assert bench.drain()["1"] == messages("ce 02", "c0 01")


def test_control_program_change_out_of_range_is_ignored():
    bench = RouterBench(control_doc("any", presets=4))
    bench.send("A", hexs("cf 01"))
    bench.send("A", hexs("cf 04 cf 7f"))
    assert bench.router.preset_index == 1
    assert bench.router.preset_changes == 1
    assert all(got == [] for got in bench.drain().values())


def test_control_program_change_in_running_status_selects_each_time():
    bench = RouterBench(control_doc("any"))
    bench.send("B", hexs("cf 01"))
    bench.send("B", hexs("03"))
    assert bench.router.preset_index == 3
    assert bench.router.preset_changes == 2


# ---- bar-quantised switching ------------------------------------------------------------------


def bar_doc():
    clock = {"from": "A", "to": ["1", "2"], "types": ["clock", "transport"]}
    return preset_doc(
        clock,
        {"from": "A", "to": ["1"], "types": ["notes"]},
        control={"input": "any", "channel": 16, "switch": "bar"},
        more=[[clock, {"from": "A", "to": ["2"], "types": ["notes"]}]],
    )


def clocks_until_switch(bench, limit=400):
    """Send clocks one by one; the number of the clock at which preset 2 became active."""
    for k in range(1, limit + 1):
        bench.send("A", b"\xf8")
        if bench.router.preset_index == 1:
            return k
    return None


def test_bar_switch_while_playing_waits_for_the_next_bar_line():
    bench = RouterBench(bar_doc())
    bench.send("A", hexs("fa") + b"\xf8" * 10)  # Start, then 10 clocks: positions 0..9
    bench.send("B", hexs("cf 01"))
    assert bench.router.preset_index == 0 and bench.router.pending_preset == 1
    bench.send("A", b"\xf8" * 86)  # positions 10..95: still the first bar
    bench.send("A", hexs("90 3c 64"))
    assert bench.router.preset_index == 0
    bench.send("A", b"\xf8")  # position 96: the bar line
    assert bench.router.preset_index == 1
    bench.send("A", hexs("90 3e 64"))
    got = bench.drain()
    assert messages("90 3c 64") == [m for m in got["1"] if m[0] != 0xF8 and m[0] != 0xFA]
    assert messages("90 3e 64") == [m for m in got["2"] if m[0] != 0xF8 and m[0] != 0xFA]
    assert got["1"].count(b"\xf8") == got["2"].count(b"\xf8") == 97  # clock never paused


@pytest.mark.parametrize("bars", [1, 2, 5])
def test_bar_switch_lands_on_a_multiple_of_96_clocks(bars):
    bench = RouterBench(bar_doc())
    bench.send("A", hexs("fa") + b"\xf8" * (96 * bars - 40))
    bench.send("A", hexs("cf 01"))
    assert clocks_until_switch(bench) == 41  # position 96 * bars


def test_bar_switch_right_after_start_happens_on_the_first_clock():
    bench = RouterBench(bar_doc())
    bench.send("A", hexs("fa") + b"\xf8" * 50)
    bench.send("A", hexs("fa"))  # Start again: position 0
    bench.send("A", hexs("cf 01"))
    assert bench.router.preset_index == 0
    assert clocks_until_switch(bench) == 1


def test_bar_switch_counts_from_a_restart():
    bench = RouterBench(bar_doc())
    bench.send("A", hexs("fa") + b"\xf8" * 50)
    bench.send("A", hexs("fa") + b"\xf8" * 10)  # restart: positions 0..9
    bench.send("A", hexs("cf 01"))
    assert clocks_until_switch(bench) == 87  # position 96


def test_bar_switch_counts_from_song_position_pointer():
    bench = RouterBench(bar_doc())
    bench.send("A", hexs("fa") + b"\xf8" * 10 + hexs("fc"))
    bench.send("A", hexs("f2 14 00 fb"))  # 20 sixteenths = clock 120, Continue
    bench.send("A", hexs("cf 01"))
    assert bench.router.preset_index == 0
    assert clocks_until_switch(bench) == 73  # 120 + 72 = 192, the third bar line


def test_bar_switch_counts_from_song_position_pointer_on_a_fresh_box():
    bench = RouterBench(bar_doc())
    bench.send("A", hexs("f2 14 00 fb"))
    bench.send("A", hexs("cf 01"))
    assert clocks_until_switch(bench) == 73


def test_bar_switch_when_stopped_is_immediate():
    bench = RouterBench(bar_doc())
    bench.send("A", hexs("cf 01"))  # never started
    assert bench.router.preset_index == 1
    bench.send("A", hexs("fa") + b"\xf8" * 30 + hexs("fc"))  # played, then stopped
    bench.send("A", hexs("cf 00"))
    assert bench.router.preset_index == 0


def test_bar_switch_pending_at_stop_is_applied_at_stop():
    bench = RouterBench(bar_doc())
    bench.send("A", hexs("fa") + b"\xf8" * 30)
    bench.send("A", hexs("cf 01"))
    assert bench.router.preset_index == 0
    bench.send("A", hexs("fc"))
    assert bench.router.preset_index == 1


def test_bar_switch_ignores_clock_from_another_input():
    bench = RouterBench(bar_doc())
    bench.send("A", hexs("fa") + b"\xf8" * 90)
    bench.send("A", hexs("cf 01"))
    bench.send("B", b"\xf8" * 20)  # not the clock source
    assert bench.router.preset_index == 0
    assert clocks_until_switch(bench) == 7


def test_now_switch_ignores_the_clock():
    doc = bar_doc()
    doc["control"]["switch"] = "now"
    bench = RouterBench(doc)
    bench.send("A", hexs("fa") + b"\xf8" * 10 + hexs("cf 01"))
    assert bench.router.preset_index == 1


# ---- panic ------------------------------------------------------------------------------------


def finish_panic(router):
    """The panic goes out one channel per housekeeping run; run them all."""
    while router.panic_next < 16:
        router.panic_step()


def panic_messages():
    return sorted(bytes([0xB0 | ch, cc, 0]) for ch in range(16) for cc in (123, 64))


def test_panic_sends_all_notes_off_and_sustain_off_on_every_channel_of_every_output():
    bench = RouterBench(studio())
    bench.router.panic()
    finish_panic(bench.router)
    got = bench.drain()
    for name in OUTPUT_NAMES:
        assert sorted(got[name]) == panic_messages(), name


def test_panic_forgets_held_notes():
    bench = RouterBench(studio())
    bench.send("A", hexs("90 3c 64"))
    bench.router.panic()
    finish_panic(bench.router)
    bench.drain()
    bench.router.request_preset(1)  # A ch 1 routes nowhere now
    bench.send("A", hexs("80 3c 00"))
    assert bench.drain()["4"] == []


def test_clock_keeps_flowing_through_a_panic():
    bench = RouterBench(studio(), room=3)  # a slow wire: 3 bytes per pass
    port, out = bench.ports[0], bench.outputs[0]  # out 1: the Keystep gets the clock
    bench.send("A", hexs("fa"))
    bench.router.panic()
    sent = 1
    passes = 0
    while out.queued() or passes < 8:
        if passes % 4 == 0:
            bench.send("A", b"\xf8", pump=False)
            sent += 1
        bench.router.panic_step()  # as the loop's housekeeping does
        port.tick()
        out.service()
        passes += 1
    order = din_in_order(bytes(port.wire))
    assert sorted(m for m in order if m[0] & 0xF0 == 0xB0) == panic_messages()
    assert [m for m in order if m[0] >= 0xF8] == [b"\xfa"] + [b"\xf8"] * (sent - 1)
    last_panic = max(k for k, m in enumerate(order) if m[0] & 0xF0 == 0xB0)
    clocks_during = [k for k, m in enumerate(order[:last_panic]) if m == b"\xf8"]
    assert len(clocks_during) >= 5  # the clock did not wait behind 32 panic messages
