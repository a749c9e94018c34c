"""Two inputs into one output at more than the wire carries (ARCHITECTURE.md "When an output
is full"): what the box gives up is chosen, never blind.

The property: random but musical streams on A and B (notes with and without running status,
sustain and sostenuto, pitch bend, pressure, CC streams, program changes, SysEx of 0-4,000
bytes, some cut by their source, system common, realtime anywhere, garbage), both routed to
one DIN output and to USB, each input faster than half the output. sim/oracle.py's
full_output_violations() holds the output to the rules (SysEx whole or not at all, no lost
release, the latest value of every controller, each input's order), and the counters add up:
messages in = messages out + drops + coalesced, per output. mido reads every output.

A and B keep apart so that each message on an output can be traced to its input: A plays
channels 1-3, B channels 9-11; a SysEx carries its input in its third byte; song select and
MTC carry it in their value's top bit.
"""

from __future__ import annotations

from engine_helpers import Box, everything_to, hexs, messages, parse_din, parse_usb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.oracle import full_output_violations, valid_messages

CHANNELS = {"A": (0, 1, 2), "B": (8, 9, 10)}
NOTES = range(48, 56)
VALUE_CCS = (1, 7, 10, 74)  # continuous: coalesced under pressure
ORDER_CCS = (0, 32, 6, 38, 99, 98)  # bank select, data entry, NRPN numbers: kept in order
TAG = {"A": 0x01, "B": 0x02}


def source_of(msg: bytes) -> str:
    status = msg[0]
    if status < 0xF0:
        return "A" if (status & 0x0F) < 8 else "B"
    if status == 0xF0:
        return "A" if msg[2] == TAG["A"] else "B"
    return "A" if msg[1] < 64 else "B"  # F1, F2, F3


@st.composite
def player(draw, name: str, max_sysex: int = 4000, max_events: int = 60) -> bytes:
    """One input's stream: a player and a sequencer on that input's channels."""
    chans = CHANNELS[name]
    top = 0 if name == "A" else 64
    out = bytearray()
    running = 0
    held: set[tuple[int, int]] = set()
    pedals: set[tuple[int, int]] = set()

    def channel_msg(status: int, *data: int) -> None:
        nonlocal running
        if status == running and draw(st.booleans()):
            out.extend(data)  # running status
        else:
            out.append(status)
            out.extend(data)
        running = status

    for _ in range(draw(st.integers(0, max_events))):
        ch = draw(st.sampled_from(chans))
        what = draw(st.integers(0, 13))
        if what <= 2:
            note = draw(st.sampled_from(NOTES))
            channel_msg(0x90 | ch, note, draw(st.integers(1, 127)))
            held.add((ch, note))
        elif what == 3 and held:
            ch, note = draw(st.sampled_from(sorted(held)))
            held.discard((ch, note))
            if draw(st.booleans()):
                channel_msg(0x90 | ch, note, 0)
            else:
                channel_msg(0x80 | ch, note, draw(st.integers(0, 127)))
        elif what == 4:
            for _ in range(draw(st.integers(1, 30))):  # a bend gesture
                channel_msg(0xE0 | ch, draw(st.integers(0, 127)), draw(st.integers(0, 127)))
        elif what == 5:
            cc = draw(st.sampled_from(VALUE_CCS))
            for _ in range(draw(st.integers(1, 20))):  # a knob turned
                channel_msg(0xB0 | ch, cc, draw(st.integers(0, 127)))
        elif what == 6:
            cc = draw(st.sampled_from((64, 66)))
            on = draw(st.booleans())
            channel_msg(0xB0 | ch, cc, 127 if on else 0)
            (pedals.add if on else pedals.discard)((ch, cc))
        elif what == 7:
            channel_msg(0xB0 | ch, draw(st.sampled_from(ORDER_CCS)), draw(st.integers(0, 127)))
        elif what == 8:
            kind = draw(st.sampled_from((0xD0, 0xA0, 0xC0)))
            if kind == 0xA0:
                channel_msg(kind | ch, draw(st.sampled_from(NOTES)), draw(st.integers(0, 127)))
            else:
                channel_msg(kind | ch, draw(st.integers(0, 127)))
        elif what == 9:
            length = draw(st.one_of(st.integers(0, 40), st.integers(0, max_sysex)))
            body = bytes([0xF0, 0x7D, TAG[name]]) + bytes(k * 7 % 128 for k in range(length))
            out += body
            if draw(st.integers(0, 5)):
                out.append(0xF7)
            # else its source cut it: the next status byte ends it (rule 4)
            running = 0
        elif what == 10:
            status = draw(st.sampled_from((0xF1, 0xF3, 0xF2)))
            out += bytes([status, top | draw(st.integers(0, 63))])
            if status == 0xF2:
                out.append(draw(st.integers(0, 127)))
            running = 0
        elif what == 11:
            out += bytes([0xB0 | ch, draw(st.sampled_from((120, 121, 123))), 0])
            running = 0xB0 | ch
        elif what == 12:
            out += draw(st.sampled_from((b"\x00", b"\xf4", b"\xf7", b"\xfd", b"\xf9")))
            running = 0 if out[-1] in (0xF4, 0xF7) else running
        else:
            out.append(0xF8)
    # everything let go at the end, as a player does
    for ch, note in sorted(held):
        out += bytes([0x80 | ch, note, 0])
    for ch, cc in sorted(pedals):
        out += bytes([0xB0 | ch, cc, 0])
    clocks = draw(st.lists(st.integers(0, 10**6), max_size=30))
    for pos in clocks:  # realtime anywhere, inside messages and SysEx too
        out.insert(pos % (len(out) + 1), 0xF8)
    return bytes(out)


def contention_box(rate_a: int, rate_b: int, room: int, usb_accept: int) -> Box:
    """A and B (rate_a, rate_b bytes a pass) into DIN out 1 (busio.UART), DIN out 3 (PIO)
    and USB; the DIN outputs take `room` bytes a pass, USB `usb_accept` bytes a write."""
    box = Box(everything_to(["1", "3", "USB"]), din=("1",), pio=("3",), din_room=room,
              pio_bytes=room, usb_accept=usb_accept, chunk=rate_a)
    box.inputs["B"].chunk = rate_b
    return box


def check(box: Box, streams: dict[str, bytes]) -> None:
    sent = {name: valid_messages(stream)[0] for name, stream in streams.items()}
    clocks = sum(stream.count(0xF8) for stream in streams.values())
    for name, parse in (("1", parse_din), ("3", parse_din), ("USB", parse_usb)):
        got, realtime = parse(box.wire(name))
        problems = full_output_violations(sent, got, source_of)
        assert not problems, (name, problems[:5])
        out = box.output(name)
        assert sum(len(m) for m in sent.values()) == len(got) + out.drops() + out.coalesced(), name
        assert realtime == b"\xf8" * clocks, name  # clock is never given up
        assert out.lost() == 0 and out.rt_drops == 0


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.data_too_large])
@given(
    a=player("A"),
    b=player("B"),
    rate=st.sampled_from(((4, 3, 5), (6, 6, 8), (8, 8, 6), (3, 3, 4))),
    usb=st.integers(3, 12),
)
def test_two_inputs_over_the_wire_into_one_output_give_up_only_what_the_rules_allow(
        a, b, rate, usb):
    rate_a, rate_b, room = rate  # bytes a pass: the inputs together send more than `room`
    streams = {"A": a, "B": b}
    box = contention_box(rate_a, rate_b, room, usb)
    for name, stream in streams.items():
        box.inputs[name].push(stream)
    box.run(max_steps=400_000)
    check(box, streams)


def test_a_4000_byte_dump_against_a_bending_keyboard_leaves_no_note_hanging():
    # The second load: a Digitakt-like input with a 4,000-byte dump and notes, a
    # Keystep-like input bending all the time with notes and sustain, into one output.
    dump = b"\xf0\x7d\x01" + bytes(k % 128 for k in range(4000)) + b"\xf7"
    a = bytearray()
    for k in range(40):
        a += bytes([0x90, 48 + k % 8, 100, 0x80, 48 + k % 8, 0])
        if k == 10:
            a += dump
    b = bytearray()
    for k in range(600):
        b += bytes([0xE8, k % 128, (k * 3) % 128])
        if k % 20 == 0:
            b += bytes([0x98, 50 + k % 5, 90, 0xB8, 64, 127])
        if k % 20 == 10:
            b += bytes([0x88, 50 + (k - 10) % 5, 0, 0xB8, 64, 0])
    box = contention_box(6, 6, 8, 64)
    box.inputs["A"].push(bytes(a))
    box.inputs["B"].push(bytes(b))
    box.run(max_steps=400_000)
    check(box, {"A": bytes(a), "B": bytes(b)})
    got, _ = parse_din(box.wire("1"))
    assert dump in got  # the dump is carried whole while the bends coalesce
    assert box.output("1").coalesced() > 0


def test_a_note_on_given_up_takes_its_note_off_with_it():
    box = Box(everything_to(["1"]), din=("1",), pio=(), usb=False, din_room=0)
    box.inputs["A"].push(b"".join(bytes([0xC0, k % 128]) for k in range(64)))  # fills it
    box.steps_n(5)
    box.inputs["A"].push(hexs("90 3c 64 80 3c 00"))
    box.steps_n(2)
    out = box.output("1")
    assert out.drops() == 2  # the note-on, and with it its note-off
    box.ports["1"].per_pass = 8
    box.run()
    got, _ = box.parsed("1")
    assert hexs("90 3c 64") not in got and hexs("80 3c 00") not in got


def test_a_note_off_whose_note_on_went_out_is_never_given_up():
    box = Box(everything_to(["1"]), din=("1",), pio=(), usb=False, din_room=3)
    box.inputs["A"].push(hexs("90 3c 64"))
    box.steps_n(3)  # the note-on is on the wire
    box.ports["1"].per_pass = 0
    box.inputs["A"].push(b"".join(bytes([0xC0, k % 128]) for k in range(200)))
    box.inputs["A"].push(hexs("80 3c 00 b0 40 7f"))
    box.steps_n(20)
    out = box.output("1")
    assert out.drops() > 100  # the program changes over the limit, and the sustain press
    box.ports["1"].per_pass = 8
    box.run()
    got, _ = box.parsed("1")
    assert got[-1] == hexs("80 3c 00") and hexs("b0 40 7f") not in got


def test_the_latest_pitch_bend_replaces_the_waiting_one():
    box = Box(everything_to(["1"]), din=("1",), pio=(), usb=False, din_room=0)
    box.inputs["A"].push(b"".join(bytes([0xC0, k % 128]) for k in range(64)))
    box.steps_n(5)
    bends = [bytes([0xE0, 0, v]) for v in range(10, 100)]
    box.inputs["A"].push(b"".join(bends) + hexs("b0 07 10 b0 07 11 b1 07 12"))
    box.steps_n(10)
    out = box.output("1")
    assert out.coalesced() == 89 + 1 and out.drops() == 0
    box.ports["1"].per_pass = 8
    box.run()
    got, _ = box.parsed("1")
    assert got[64:] == messages("e0 00 63", "b0 07 11", "b1 07 12")


def test_a_panic_reaches_a_full_output():
    box = Box(everything_to(["1"]), din=("1",), pio=(), usb=False, din_room=0)
    box.inputs["A"].push(b"".join(bytes([0xC0, k % 128]) for k in range(100)))
    box.steps_n(5)
    box.router.panic()
    for _ in range(16):
        box.router.panic_step()
    box.ports["1"].per_pass = 8
    box.run()
    got, _ = box.parsed("1")
    assert got[-32:] == [bytes([0xB0 | ch, cc, 0]) for ch in range(16) for cc in (123, 64)]
    assert box.output("1").lost() == 0
