"""switchyard.stream.StreamParser, rule by rule (docs/ARCHITECTURE.md "MIDI stream rules"), the
bug list of other MIDI libraries, feed() split points, and the mido oracle the other tests
rely on."""

import pytest
from engine_helpers import (
    events_as_stream,
    expand_running_status,
    hexs,
    midi_streams,
    mido_messages,
    oracle,
    parse_events,
)
from hypothesis import given, settings

REALTIME = (0xF8, 0xFA, 0xFB, 0xFC, 0xFE, 0xFF)


def msg(status, d1=0, d2=0):
    return ("msg", status, d1, d2)


def sysex(*data, complete=True):
    return [("sx_start",)] + [("sx", b) for b in data] + [("sx_end", complete)]


def counters(parser):
    return {
        "aborted": parser.aborted,
        "stray_data": parser.stray_data,
        "stray_end": parser.stray_end,
        "undefined": parser.undefined,
        "sysex_cut": parser.sysex_cut,
    }


def only(**nonzero):
    """The error counters with these values and every other one 0."""
    base = {"aborted": 0, "stray_data": 0, "stray_end": 0, "undefined": 0, "sysex_cut": 0}
    base.update(nonzero)
    return base


# ---- rule 1: realtime at once, wherever it is ------------------------------------------


@pytest.mark.parametrize("rt", REALTIME)
def test_rule1_realtime_inside_a_message_is_delivered_at_once_and_the_message_kept(rt):
    events, parser = parse_events(hexs("90 3c"), bytes([rt]))
    assert events == [("rt", rt)]  # at once: before the message it interrupted completes
    events, parser = parse_events(hexs("90 3c"), bytes([rt]), hexs("64"))
    assert events == [("rt", rt), msg(0x90, 0x3C, 0x64)]
    assert counters(parser) == only()


@pytest.mark.parametrize("rt", REALTIME)
def test_rule1_realtime_inside_sysex_is_delivered_at_once_and_the_sysex_goes_on(rt):
    events, parser = parse_events(bytes([0xF0, 0x01, rt, 0x02, 0xF7]))
    assert events == [("sx_start",), ("sx", 1), ("rt", rt), ("sx", 2), ("sx_end", True)]
    assert counters(parser) == only()


def test_rule1_realtime_keeps_running_status():
    events, parser = parse_events(hexs("90 3c 64 fa 3e 64 f8 40 00"))
    assert events == [
        msg(0x90, 0x3C, 0x64),
        ("rt", 0xFA),
        msg(0x90, 0x3E, 0x64),
        ("rt", 0xF8),
        msg(0x90, 0x40, 0x00),
    ]
    assert counters(parser) == only()


def test_rule1_realtime_between_the_data_bytes_of_a_running_status_message():
    events, _ = parse_events(hexs("b0 07 64 07 f8 50"))
    assert events == [msg(0xB0, 7, 0x64), ("rt", 0xF8), msg(0xB0, 7, 0x50)]


# ---- rule 2: running status ----------------------------------------------------------------


def test_rule2_running_status_is_accepted_for_two_byte_messages():
    events, parser = parse_events(hexs("93 3c 64 3e 00 40 7f"))
    assert events == [msg(0x93, 0x3C, 0x64), msg(0x93, 0x3E, 0), msg(0x93, 0x40, 0x7F)]
    assert counters(parser) == only()


@pytest.mark.parametrize("status", [0xC5, 0xD9])
def test_rule2_running_status_is_accepted_for_one_byte_messages(status):
    events, parser = parse_events(bytes([status, 1, 2, 3]))
    assert events == [msg(status, 1), msg(status, 2), msg(status, 3)]
    assert counters(parser) == only()


# ---- rule 3: a new status aborts the pending message ----------------------------------------


def test_rule3_a_new_status_mid_message_aborts_it_and_is_counted():
    events, parser = parse_events(hexs("90 3c b0 07 64"))
    assert events == [msg(0xB0, 7, 0x64)]
    assert counters(parser) == only(aborted=1)
    assert parser.errors() == 1


def test_rule3_a_status_byte_followed_by_another_status_is_aborted_too():
    events, parser = parse_events(hexs("90 b0 07 64 c0 e0 00 40"))
    assert events == [msg(0xB0, 7, 0x64), msg(0xE0, 0, 0x40)]
    assert counters(parser) == only(aborted=2)


def test_rule3_a_new_status_cuts_a_running_status_message_too():
    events, parser = parse_events(hexs("90 3c 64 3e 80 3c 00"))
    assert events == [msg(0x90, 0x3C, 0x64), msg(0x80, 0x3C, 0)]
    assert counters(parser) == only(aborted=1)


def test_rule3_a_complete_message_then_a_status_is_no_abort():
    _, parser = parse_events(hexs("90 3c 64 80 3c 00 c0 05 d0 10"))
    assert counters(parser) == only()


# ---- rule 4: SysEx streamed, ended by F7 or any non-realtime status -------------------------


def test_rule4_sysex_is_streamed_byte_by_byte():
    from engine_helpers import RecordingSink
    from switchyard.stream import StreamParser

    sink = RecordingSink()
    parser = StreamParser(0, sink)
    parser.feed(bytearray([0xF0]), 1)
    assert sink.events == [("sx_start",)]
    for k, b in enumerate([0x43, 0x10, 0x4C, 0x00]):
        parser.feed(bytearray([b]), 1)
        assert sink.events[-1] == ("sx", b), "each data byte passed on as it arrives"
        assert len(sink.events) == k + 2
    parser.feed(bytearray([0xF7]), 1)
    assert sink.events[-1] == ("sx_end", True)
    assert counters(parser) == only()


@pytest.mark.parametrize(
    "status,then",
    [
        (hexs("90 3c 64"), [msg(0x90, 0x3C, 0x64)]),
        (hexs("c3 05"), [msg(0xC3, 5)]),
        (hexs("f1 12"), [msg(0xF1, 0x12)]),
        (hexs("f2 01 02"), [msg(0xF2, 1, 2)]),
        (hexs("f3 04"), [msg(0xF3, 4)]),
        (hexs("f6"), [msg(0xF6)]),
        (hexs("f0 05 f7"), sysex(5)),
    ],
)
def test_rule4_any_non_realtime_status_ends_sysex_which_the_sink_is_told_was_cut(status, then):
    events, parser = parse_events(hexs("f0 01 02") + status)
    assert events == sysex(1, 2, complete=False) + then
    assert counters(parser) == only(sysex_cut=1)


@pytest.mark.parametrize("undefined", [0xF4, 0xF5])
def test_rule4_undefined_status_ends_sysex_too(undefined):
    events, parser = parse_events(bytes([0xF0, 1, undefined, 2]))
    assert events == sysex(1, complete=False)
    assert counters(parser) == only(sysex_cut=1, undefined=1, stray_data=1)


def test_rule4_empty_sysex_is_valid():
    events, parser = parse_events(hexs("f0 f7"))
    assert events == sysex()
    assert counters(parser) == only()


def test_rule4_close_sysex_ends_an_abandoned_sysex_once():
    events, parser = parse_events(hexs("f0 01"))
    parser.close_sysex()
    parser.close_sysex()
    assert parser.sink.events == sysex(1, complete=False)
    assert counters(parser) == only(sysex_cut=1)
    assert not parser.in_sysex


# ---- rule 5: stray F7, stray data, undefined statuses ---------------------------------------


def test_rule5_stray_f7_is_dropped_counted_and_cancels_running_status():
    events, parser = parse_events(hexs("90 3c 64 f7 3e 64"))
    assert events == [msg(0x90, 0x3C, 0x64)]
    assert counters(parser) == only(stray_end=1, stray_data=2)


def test_rule5_stray_f7_mid_message_aborts_it():
    events, parser = parse_events(hexs("90 3c f7 64"))
    assert events == []
    assert counters(parser) == only(aborted=1, stray_end=1, stray_data=1)


def test_rule5_data_with_no_status_is_dropped_and_counted():
    events, parser = parse_events(hexs("01 02 7f 90 3c 64"))
    assert events == [msg(0x90, 0x3C, 0x64)]
    assert counters(parser) == only(stray_data=3)


@pytest.mark.parametrize("undefined", [0xF4, 0xF5])
def test_rule5_f4_f5_are_dropped_counted_and_cancel_running_status(undefined):
    events, parser = parse_events(bytes([0x90, 0x3C, 0x64, undefined, 0x3E, 0x64]))
    assert events == [msg(0x90, 0x3C, 0x64)]
    assert counters(parser) == only(undefined=1, stray_data=2)


@pytest.mark.parametrize("undefined", [0xF4, 0xF5])
def test_rule5_f4_f5_mid_message_abort_it(undefined):
    events, parser = parse_events(bytes([0x90, 0x3C, undefined, 0x64]))
    assert events == []
    assert counters(parser) == only(aborted=1, undefined=1, stray_data=1)


@pytest.mark.parametrize("undefined", [0xF9, 0xFD])
def test_rule5_f9_fd_are_dropped_and_counted_and_change_nothing_else(undefined):
    events, parser = parse_events(bytes([0x90, 0x3C, undefined, 0x64, 0x3E, undefined, 0x00]))
    assert events == [msg(0x90, 0x3C, 0x64), msg(0x90, 0x3E, 0)]
    events2, parser2 = parse_events(bytes([0xF0, 1, undefined, 2, 0xF7]))
    assert events2 == sysex(1, 2)
    assert counters(parser) == only(undefined=2)
    assert counters(parser2) == only(undefined=1)


# ---- rule 6: break / hot-plug --------------------------------------------------------------


def test_rule6_break_zero_bytes_are_dropped_until_the_next_status():
    events, parser = parse_events(bytes(8) + hexs("90 3c 64"))
    assert events == [msg(0x90, 0x3C, 0x64)]
    assert counters(parser) == only(stray_data=8)


def test_rule6_break_after_a_cut_message_resynchronises():
    # cable pulled mid-message: the pending F2 needs data, the break bytes fill it,
    # then garbage; the next status starts clean
    events, parser = parse_events(hexs("f6 00 00 00 00 c1 05 06"))
    assert events == [msg(0xF6), msg(0xC1, 5), msg(0xC1, 6)]
    assert counters(parser) == only(stray_data=4)


# ---- rule 7: SysEx and system common clear running status, realtime does not ----------------


@pytest.mark.parametrize(
    "common,event",
    [
        (hexs("f1 12"), msg(0xF1, 0x12)),
        (hexs("f2 10 20"), msg(0xF2, 0x10, 0x20)),
        (hexs("f3 07"), msg(0xF3, 7)),
        (hexs("f6"), msg(0xF6)),
    ],
)
def test_rule7_system_common_is_delivered_and_clears_running_status(common, event):
    events, parser = parse_events(hexs("90 3c 64") + common + hexs("3e 64"))
    assert events == [msg(0x90, 0x3C, 0x64), event]
    assert counters(parser) == only(stray_data=2)


def test_rule7_sysex_clears_running_status():
    events, parser = parse_events(hexs("90 3c 64 f0 01 f7 3e 64"))
    assert events == [msg(0x90, 0x3C, 0x64)] + sysex(1)
    assert counters(parser) == only(stray_data=2)


def test_rule7_system_common_data_is_not_reused_as_running_status():
    events, parser = parse_events(hexs("f3 05 06 f1 01 02"))
    assert events == [msg(0xF3, 5), msg(0xF1, 1)]
    assert counters(parser) == only(stray_data=2)


def test_tune_request_f6_is_a_whole_message_by_itself():
    events, parser = parse_events(hexs("f6"))
    assert events == [msg(0xF6)]
    events, parser = parse_events(hexs("90 3c f6 64"))
    assert events == [msg(0xF6)]
    assert counters(parser) == only(aborted=1, stray_data=1)


# ---- the bug list of other MIDI libraries ----------------------------------------------------


def test_bug_stray_f7_does_not_open_a_fake_sysex():
    events, parser = parse_events(hexs("f7 01 02 03 90 3c 64"))
    assert events == [msg(0x90, 0x3C, 0x64)]
    assert not parser.in_sysex
    assert counters(parser) == only(stray_end=1, stray_data=3)


def test_bug_status_byte_mid_message_is_not_stored_as_data():
    events, _ = parse_events(hexs("90 3c 80 3d 00 b0 90 07 7f"))
    assert events == [msg(0x80, 0x3D, 0), msg(0x90, 0x07, 0x7F)]
    for ev in events:
        assert ev[2] < 0x80 and ev[3] < 0x80


def test_bug_sysex_longer_than_any_buffer_is_streamed_whole_in_order():
    data = bytes((k * 7 + k // 128) & 0x7F for k in range(10_000))
    stream = b"\xf0" + data + b"\xf7"
    chunks = [stream[k : k + 64] for k in range(0, len(stream), 64)]
    events, parser = parse_events(*chunks)
    assert events[0] == ("sx_start",) and events[-1] == ("sx_end", True)
    assert bytes(ev[1] for ev in events[1:-1]) == data
    assert parser.sysex_bytes == 10_000
    assert counters(parser) == only()


def test_bug_no_phantom_f0_on_hot_plug():
    # plugging the cable in: break bytes, then a device's SysEx, then a note
    events, parser = parse_events(hexs("00 00 00 00 f0 7e 7f 06 01 f7 90 3c 64"))
    assert events == sysex(0x7E, 0x7F, 0x06, 0x01) + [msg(0x90, 0x3C, 0x64)]
    assert [ev for ev in events if ev == ("sx_start",)] == [("sx_start",)]
    assert counters(parser) == only(stray_data=4)


def test_bug_empty_sysex_does_not_freeze_the_parser():
    events, parser = parse_events(hexs("f0 f7 90 3c 64 3e 64 f0 f7 f0 f7 c0 01"))
    assert events == (
        sysex() + [msg(0x90, 0x3C, 0x64), msg(0x90, 0x3E, 0x64)] + sysex() + sysex()
        + [msg(0xC0, 1)]
    )
    assert counters(parser) == only()
    assert not parser.in_sysex


def test_bug_realtime_inside_sysex_does_not_end_or_corrupt_it():
    events, parser = parse_events(hexs("f0 43 f8 12 fe 00 f7"))
    assert events == [
        ("sx_start",),
        ("sx", 0x43),
        ("rt", 0xF8),
        ("sx", 0x12),
        ("rt", 0xFE),
        ("sx", 0x00),
        ("sx_end", True),
    ]
    assert counters(parser) == only()


def test_bug_running_status_survives_realtime():
    events, parser = parse_events(hexs("b0 01 10 f8 01 20 f8 f8 01 30"))
    assert [ev for ev in events if ev[0] == "msg"] == [
        msg(0xB0, 1, 0x10),
        msg(0xB0, 1, 0x20),
        msg(0xB0, 1, 0x30),
    ]
    assert counters(parser) == only()


# ---- feed() boundaries ------------------------------------------------------------------------

EVERYTHING = hexs(
    "90 3c 64 3e f8 64 b0 01 7f 21 00 c2 05 06 d3 40 e1 00 40 a0 3c 10",
    "f0 43 10 f8 4c 00 f7 f1 12 f2 01 02 f3 03 f6 fa fb fc fe ff",
    "00 00 f7 01 f4 90 3c f5 f9 fd 90 3c b0 07 f0 01 02 80 3c 00 f0 f7 f0 01",
)


def test_split_at_every_point_gives_the_same_messages_as_one_feed():
    whole, parser = parse_events(EVERYTHING)
    assert len(whole) > 30
    for k in range(len(EVERYTHING) + 1):
        split, split_parser = parse_events(EVERYTHING[:k], EVERYTHING[k:])
        assert split == whole, "split at byte %d" % k
        assert counters(split_parser) == counters(parser)


def test_split_at_every_pair_of_points_and_byte_by_byte():
    whole, _ = parse_events(EVERYTHING)
    n = len(EVERYTHING)
    for i in range(0, n + 1, 3):
        for j in range(i, n + 1, 5):
            split, _ = parse_events(EVERYTHING[:i], EVERYTHING[i:j], EVERYTHING[j:])
            assert split == whole, "split at %d and %d" % (i, j)
    single, _ = parse_events(*(EVERYTHING[k : k + 1] for k in range(n)))
    assert single == whole


def test_feed_reads_only_the_first_n_bytes():
    from engine_helpers import RecordingSink
    from switchyard.stream import StreamParser

    sink = RecordingSink()
    parser = StreamParser(0, sink)
    parser.feed(bytearray(hexs("90 3c 64 c0 05")), 3)
    assert sink.events == [msg(0x90, 0x3C, 0x64)]
    parser.feed(bytearray(hexs("f6 f8")), 0)
    assert sink.events == [msg(0x90, 0x3C, 0x64)]


# ---- the mido oracle ----------------------------------------------------------------------------


def test_expand_running_status_writes_every_status_out():
    assert expand_running_status(hexs("90 3c 64 3e 64")) == hexs("90 3c 64 90 3e 64")
    assert expand_running_status(hexs("c0 05 06 07")) == hexs("c0 05 c0 06 c0 07")
    assert expand_running_status(hexs("90 3c f8 64 3e fa 64")) == hexs("90 3c f8 64 90 3e fa 64")


def test_expand_running_status_leaves_full_streams_and_system_messages_alone():
    full = hexs("90 3c 64 80 3c 00 f0 01 02 f7 f1 05 f2 01 02 f3 04 f6 b0 07 64 f8")
    assert expand_running_status(full) == full
    # after a system message there is no running status: the data stays stray
    for system in ("f0 01 f7", "f1 05", "f2 01 02", "f3 04", "f6", "f7", "f4"):
        stream = hexs("90 3c 64", system, "3e 64")
        assert expand_running_status(stream) == stream


def test_mido_reads_expanded_running_status():
    assert mido_messages(expand_running_status(hexs("e1 00 40 7f 7f"))) == [
        hexs("e1 00 40"),
        hexs("e1 7f 7f"),
    ]


def test_mido_departs_from_midi_1_0_as_documented():
    """The adjustments oracle() makes, each pinned to mido's actual behaviour."""
    # 1. realtime outside SysEx resets mido's parser: the pending note is lost
    assert mido_messages(hexs("90 3c f8 64")) == [hexs("f8")]
    # 2. a SysEx ended by a status byte (or by the end) is dropped by mido
    assert mido_messages(hexs("f0 01 02 90 3c 64")) == [hexs("90 3c 64")]
    assert mido_messages(hexs("f0 01 02")) == []
    # 3. mido ignores F4/F5 and completes the message across them
    assert mido_messages(hexs("90 3c f4 64")) == [hexs("90 3c 64")]
    # ... and, like MIDI 1.0, a stray F7 cancels the pending message
    assert mido_messages(hexs("90 3c f7 64")) == []
    # the oracle follows MIDI 1.0 on all of them
    assert oracle(hexs("90 3c f8 64")) == ([hexs("90 3c 64")], hexs("f8"))
    assert oracle(hexs("f0 01 02 90 3c 64")) == ([hexs("f0 01 02 f7"), hexs("90 3c 64")], b"")
    assert oracle(hexs("f0 01 02")) == ([hexs("f0 01 02 f7")], b"")
    assert oracle(hexs("90 3c f4 64")) == ([], b"")
    assert oracle(hexs("90 3c 64 f5 3e 64")) == ([hexs("90 3c 64")], b"")
    assert oracle(hexs("90 3c f9 64 fd")) == ([hexs("90 3c 64")], b"")


@settings(max_examples=300, deadline=None)
@given(midi_streams(300, 40))
def test_parser_agrees_with_the_mido_oracle_on_random_streams(stream):
    counted = []
    for chunk in (len(stream) or 1, 1, 7):
        chunks = [stream[k : k + chunk] for k in range(0, len(stream), chunk)]
        events, parser = parse_events(*chunks)
        parser.close_sysex()  # as the box does when the input goes silent
        assert events_as_stream(parser.sink.events) == oracle(stream)
        counted.append(counters(parser))
    # byte by byte (feed()'s one-byte path) counts the same errors as whole reads
    assert counted[1] == counted[0] == counted[2]
