"""switchyard.merge: the output side (docs/ARCHITECTURE.md "Merge and timing rules"), through
a real App on fake ports: whole messages, realtime priority, SysEx holding its output, drops,
running status, slow and absent USB hosts, and the PIO path's realtime lane and DMA batches.
Ends with the random-streams property: whatever A and B send, every output carries exactly
the valid messages (mido's reading of the inputs), whole and in each input's order."""

import pytest
from engine_helpers import (
    Box,
    RecordingSM,
    bounded_sysex,
    cap_realtime,
    everything_to,
    hexs,
    is_merge_of,
    messages,
    midi_streams,
    oracle,
    parse_din,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from switchyard import merge

KINDS = ("din", "pio", "usb")
OUT = {"din": "1", "pio": "3", "usb": "USB"}


def box_for(kind, doc=None, **kw):
    """A box with A and B routed to one output of the given kind (DIN 1, PIO 3 or USB)."""
    name = OUT[kind]
    doc = doc or everything_to([name])
    din = ("1",) if kind == "din" else ()
    pio = ("3",) if kind == "pio" else ()
    return Box(doc, din=din, pio=pio, usb=kind == "usb", **kw)


def notes(count, channel=0, start=0):
    return [bytes([0x90 | channel, (start + k) % 128, 1 + k % 127]) for k in range(count)]


# ---- message-atomic merge -------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_messages_from_a_and_b_never_interleave(kind):
    box = box_for(kind, chunk=1)  # one byte of each input per pass: both mid-message at once
    a = notes(40, channel=0) + messages("b0 07 10", "e0 00 40", "c0 05")
    b = notes(40, channel=1, start=64) + messages("b1 0a 20", "d1 30", "e1 7f 7f")
    box.inputs["A"].push(b"".join(a))
    box.inputs["B"].push(b"".join(b))
    box.run()
    got, realtime = box.parsed(OUT[kind])
    assert is_merge_of(got, a, b)
    assert realtime == b""
    assert got[:2] == [a[0], b[0]]  # really merged, not one input after the other


# ---- realtime priority ----------------------------------------------------------------------


def test_realtime_jumps_between_the_bytes_of_a_message_on_din():
    box = box_for("din", din_room=1)
    box.inputs["A"].push(hexs("90 3c 64"))
    box.step()
    assert box.wire("1") == hexs("90")
    box.inputs["A"].push(hexs("f8"))
    box.run()
    assert box.wire("1") == hexs("90 f8 3c 64")


def test_realtime_jumps_between_the_bytes_of_a_message_on_pio():
    box = box_for("pio", pio_bytes=1)
    box.inputs["A"].push(hexs("90 3c 64 90 3e 64"))
    box.step()
    assert box.wire("3") == hexs("90")
    box.inputs["A"].push(hexs("f8"))
    box.run()
    assert box.wire("3") == hexs("90 f8 3c 64 3e 64")


def test_realtime_waits_for_the_end_of_a_message_on_usb():
    box = box_for("usb", usb_accept=1)  # a slow host: one byte per write
    box.inputs["A"].push(hexs("90 3c 64"))
    box.step()
    assert box.wire("USB") == hexs("90")
    box.inputs["A"].push(hexs("f8"))
    box.run()
    assert box.wire("USB") == hexs("90 3c 64 f8")


@pytest.mark.parametrize("kind", ["din", "pio"])
def test_realtime_jumps_ahead_of_queued_messages(kind):
    box = box_for(kind, din_room=3, pio_bytes=3)
    box.inputs["A"].push(b"".join(notes(30)))
    box.steps_n(2)
    before = len(box.wire(OUT[kind]))
    box.inputs["A"].push(hexs("f8"))
    box.steps_n(1)
    wire = box.wire(OUT[kind])
    assert 0xF8 in wire[before:], "the clock waited behind queued notes"
    box.run()
    got, realtime = parse_din(box.wire(OUT[kind]))
    assert got == notes(30) and realtime == hexs("f8")


@pytest.mark.parametrize("kind", ["din", "pio", "usb"])
def test_realtime_goes_out_between_sysex_bytes_on_din_only(kind):
    box = box_for(kind, din_room=1, pio_bytes=1, usb_accept=1)
    box.inputs["A"].push(hexs("f0 01 02 03 04 05 06 f7"))
    box.steps_n(3)
    box.inputs["A"].push(hexs("f8"))
    box.run()
    wire = box.wire(OUT[kind])
    if kind == "usb":
        assert wire == hexs("f0 01 02 03 04 05 06 f7 f8")
    else:
        assert wire.index(0xF8) < wire.index(0xF7)
        assert bytes(b for b in wire if b != 0xF8) == hexs("f0 01 02 03 04 05 06 f7")


# ---- SysEx ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_sysex_holds_its_output_until_f7_while_other_inputs_wait(kind):
    box = box_for(kind)
    box.inputs["A"].push(hexs("f0 7e 01 02"))
    box.steps_n(1)
    box.inputs["B"].push(hexs("90 3c 64 b0 07 10"))
    box.steps_n(20)
    assert box.wire(OUT[kind]) == hexs("f0 7e 01 02")  # B's messages wait
    box.inputs["A"].push(hexs("03 04"))
    box.steps_n(5)
    assert box.wire(OUT[kind]) == hexs("f0 7e 01 02 03 04")
    box.inputs["A"].push(hexs("f7"))
    box.run()
    assert box.parsed(OUT[kind]) == (messages("f0 7e 01 02 03 04 f7", "90 3c 64", "b0 07 10"), b"")


@pytest.mark.parametrize("kind", KINDS)
def test_sysex_cut_by_a_status_byte_gets_a_closing_f7(kind):
    box = box_for(kind)
    box.inputs["A"].push(hexs("f0 43 10 4c b0 07 64"))
    box.inputs["B"].push(hexs("c1 05"))
    box.run()
    got, _ = box.parsed(OUT[kind])
    assert got in (
        messages("f0 43 10 4c f7", "b0 07 64", "c1 05"),
        messages("c1 05", "f0 43 10 4c f7", "b0 07 64"),
    )
    assert box.app.parse_errors() == 1


@pytest.mark.parametrize("kind", KINDS)
def test_sysex_abandoned_by_its_source_is_closed_after_a_second_of_silence(kind):
    box = box_for(kind)
    box.inputs["A"].push(hexs("f0 01 02"))
    box.inputs["B"].push(hexs("90 3c 64"))
    box.steps_n(10)
    assert box.wire(OUT[kind]) == hexs("f0 01 02")
    box.run()  # advances ticks_ms past the SysEx timeout
    assert box.parsed(OUT[kind]) == (messages("f0 01 02 f7", "90 3c 64"), b"")


def test_sysex_longer_than_its_lane_on_a_stalled_output_is_given_up_whole_and_counted():
    box = box_for("din", din_room=0)
    out = box.output("1")
    size = out.lane_mask[0] + 1
    data = bytes(k & 0x7F for k in range(size + 100))
    box.inputs["A"].push(b"\xf0" + data + b"\xf7" + hexs("90 3c 64"))
    box.steps_n(len(data) // 64 + 5)
    assert box.wire("1") == b""
    box.ports["1"].per_pass = 8
    box.run()
    got, _ = box.parsed("1")
    assert got == messages("90 3c 64")  # no cut SysEx: none at all
    assert out.drops() == 1 and out.sysex_drops == 1 and out.lost() == 0


def test_sysex_that_fits_its_lane_waits_whole_behind_a_stalled_wire():
    box = box_for("din", din_room=0)
    out = box.output("1")
    size = out.lane_mask[0] + 1
    sysex = b"\xf0" + bytes(k & 0x7F for k in range(size - 2)) + b"\xf7"  # fills the lane
    box.inputs["A"].push(sysex + hexs("90 3c 64"))
    box.steps_n(len(sysex) // 64 + 5)
    box.ports["1"].per_pass = 8
    box.run()
    assert box.parsed("1") == ([sysex] + messages("90 3c 64"), b"")
    assert out.drops() == 0


@pytest.mark.parametrize("kind", KINDS)
def test_sysex_that_finds_its_lane_full_is_dropped_whole_and_the_output_drains(kind):
    # B's SysEx holds the output; A's SysEx queues behind it and fills A's lane up to the
    # one byte kept for its F7. One empty SysEx still fits; the two after it have no room
    # for their F7. Written into the full lane anyway, that F7 made the lane read as empty:
    # the output then waited for the rest of a SysEx that never came, for ever.
    box = box_for(kind)
    size = box.output(OUT[kind]).lane_mask[0] + 1
    box.inputs["B"].push(b"\xf0" + bytes(range(10)))
    box.steps_n(5)
    long_a = b"\xf0" + bytes([1]) * (size - 3) + b"\xf7"
    box.inputs["A"].push(long_a + hexs("f0 f7 f0 f7 f0 f7 90 3c 64"))
    box.steps_n(size // 32)
    box.inputs["B"].push(hexs("f7"))
    box.run(max_steps=20000)
    got, _ = box.parsed(OUT[kind])
    assert got == [b"\xf0" + bytes(range(10)) + b"\xf7", long_a] + messages("f0 f7", "90 3c 64")
    assert box.app.drops() == 2  # the two empty SysEx with no room, each dropped whole
    assert box.output(OUT[kind]).sysex_drops == 2
    assert box.app.queued() == 0


# ---- drops ----------------------------------------------------------------------------------


def test_a_full_ring_drops_whole_messages_and_counts_them():
    # Note-ons and program changes over the ring's limit are given up; a SysEx whose lane
    # has room still queues (it uses the reserve, short of the last 64 slots).
    box = box_for("din", din_room=0)  # the wire is stuck
    sent = notes(100) + messages("f0 01 02 03 f7", "c0 05")
    box.inputs["A"].push(b"".join(sent))
    box.steps_n(5)
    out = box.output("1")
    assert out.drops() == 100 - 64 + 1
    box.ports["1"].per_pass = 8
    box.run()
    box.inputs["A"].push(hexs("80 00 00"))  # room again: new messages go through
    box.run()
    got, _ = box.parsed("1")  # whole messages only (parse_din asserts it)
    assert got == sent[:64] + messages("f0 01 02 03 f7", "80 00 00")
    assert len(got) - 1 + out.drops() == len(sent)
    assert box.app.drops() == out.drops() and out.sysex_drops == 0


@pytest.mark.parametrize("kind", KINDS)
def test_clock_is_never_dropped_when_the_messages_are(kind):
    # a wire slower than the input: notes are dropped, clocks never
    box = box_for(kind, din_room=3, pio_bytes=3, usb_accept=3, chunk=64)
    clocks = 0
    for k in range(60):
        box.inputs["A"].push(b"".join(notes(3, start=3 * k)) + hexs("f8"))
        clocks += 1
        box.step()
    box.run()
    out = box.output(OUT[kind])
    got, realtime = box.parsed(OUT[kind])
    assert out.drops() > 0, "the test needs an overloaded output"
    assert out.rt_drops == 0
    assert realtime == hexs("f8") * clocks


def test_clock_is_kept_while_the_realtime_ring_has_room():
    box = box_for("din", din_room=0)  # stuck wire, full message ring
    box.inputs["A"].push(b"".join(notes(100)))
    box.steps_n(10)
    assert box.output("1").drops() > 0
    box.inputs["A"].push(hexs("f8") * 15)
    box.steps_n(3)
    assert box.output("1").rt_drops == 0
    box.ports["1"].per_pass = 8
    box.run()
    wire = box.wire("1")
    assert wire[:15] == hexs("f8") * 15  # they also go first


def test_clock_on_usb_waits_for_a_sysex_and_is_not_lost():
    # TinyUSB's stream writer (tud_midi_n_stream_write) packs a byte that comes while a
    # SysEx packet is open as SysEx data, so on USB a clock must wait for the SysEx to end.
    # 31 may wait (250 ms of clock at 120 BPM); none of them is lost.
    box = box_for("usb")
    box.inputs["A"].push(hexs("f0 43 10"))  # a SysEx still arriving, slowly
    box.steps_n(2)
    for _ in range(31):
        box.inputs["B"].push(hexs("f8"))
        box.steps_n(4)
    assert box.wire("USB") == hexs("f0 43 10")  # no clock inside the SysEx
    box.inputs["A"].push(hexs("4c f7"))
    box.run()
    assert box.output("USB").rt_drops == 0
    assert box.parsed("USB") == (messages("f0 43 10 4c f7"), hexs("f8") * 31)


# ---- running status -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_running_status_on_din_never_on_usb(kind):
    box = box_for(kind)
    box.inputs["A"].push(hexs("90 3c 64 90 3e 64 f8 90 40 64 80 3c 00 80 3e 00 f0 01 f7 80 40 00"))
    box.run()
    wire = box.wire(OUT[kind])
    if kind == "usb":
        assert box.parsed("USB")[1] == hexs("f8")  # whole messages around the clock
        assert bytes(b for b in wire if b != 0xF8) == hexs(
            "90 3c 64 90 3e 64 90 40 64 80 3c 00 80 3e 00 f0 01 f7 80 40 00"
        )
    else:
        # realtime may go first; it never cancels running status, SysEx does
        assert bytes(b for b in wire if b != 0xF8) == hexs(
            "90 3c 64 3e 64 40 64 80 3c 00 3e 00 f0 01 f7 80 40 00"
        )


# ---- USB hosts ------------------------------------------------------------------------------

MIXED = hexs(
    "90 3c 64 3e 64 f8 b0 07 10 01 20 c2 05 f0 43 10 4c 00 00 7e 00 f7 e1 00 40 fa d3 30",
    "a0 3c 10 f2 01 02 f3 04 f6 f1 12 80 3c 00 3e 00 fe fc ff",
)


def test_usb_short_writes_lose_nothing_and_keep_order():
    box = box_for("usb", usb_accept=(0, 1, 2, 5, 0, 3, 16, 1, 0, 0, 7), chunk=1, every=2)
    stream = MIXED * 6
    box.inputs["A"].push(stream)
    box.run()
    assert box.parsed("USB") == oracle(stream)
    assert box.app.drops() == 0
    port = box.ports["USB"]
    assert min(port.offered) < max(port.offered)  # short writes really happened


def test_usb_absent_never_stalls_the_din_outputs():
    doc = everything_to(["1", "3", "USB"], inputs=("A",))
    box = Box(doc, din=("1",), pio=("3",), usb_accept=0, chunk=1)
    sent = notes(300)
    box.inputs["A"].push(b"".join(sent) + hexs("f8"))
    for _ in range(2000):
        box.step()
        if box.inputs["A"].done() and not box.output("1").queued():
            break
    box.steps_n(20)
    assert box.parsed("1") == (sent, hexs("f8"))
    assert box.parsed("3") == (sent, hexs("f8"))
    assert box.wire("USB") == b""
    assert box.output("USB").drops() > 200
    assert box.output("1").drops() == box.output("3").drops() == 0


# ---- the PIO path ---------------------------------------------------------------------------


def test_pio_realtime_goes_through_run_one_at_a_time():
    box = box_for("pio", pio_bytes=1)
    sm = box.ports["3"]
    box.inputs["A"].push(hexs("f8 fa f8 f8 fc fe ff f8"))
    box.step()
    assert sm.rt_runs == hexs("f8")  # the others wait for the first one's RX word
    box.run()
    assert sm.rt_runs == hexs("f8 fa f8 f8 fc fe ff f8")
    assert box.wire("3") == hexs("f8 fa f8 f8 fc fe ff f8")


def test_pio_realtime_waits_while_the_wire_has_not_sent_the_previous_one():
    box = box_for("pio", pio_bytes=0)  # the state machine makes no progress
    sm = box.ports["3"]
    box.inputs["A"].push(hexs("f8 f8 f8"))
    box.steps_n(10)  # RecordingSM.run() raises if a second byte were pushed into Y
    assert sm.rt_runs == hexs("f8")
    sm.tick(1)
    box.steps_n(1)
    assert sm.rt_runs == hexs("f8 f8")
    box.pio_bytes = 1
    box.run()
    assert box.wire("3") == hexs("f8 f8 f8")


def test_pio_dma_queues_one_batch_behind_the_one_being_moved():
    box = box_for("pio", pio_bytes=1)
    sm = box.ports["3"]
    assert sm.writing  # a fresh StateMachine reads writing=True before any DMA ...
    assert sm.pending == 0  # ... but has nothing pending: the first batch may go
    sent = [bytes([0x90 | (k % 3), k, 100]) for k in range(40)]
    box.inputs["A"].push(b"".join(sent))
    box.step()
    assert len(sm.batches) == 1
    # RecordingSM.background_write raises if called while a buffer is pending (it would
    # block); the wire differs from the batches if a buffer was refilled while DMA read it
    queued = 0
    for _ in range(10_000):
        box.step()
        if sm.dma_next is not None:
            queued += 1  # a batch waited behind the one being moved: no gap on the wire
        if box.drained():
            break
    assert box.drained()
    assert queued > 0
    assert all(0 < len(batch) <= 16 for batch in sm.batches)
    assert len(sm.batches) >= 6
    assert b"".join(sm.batches) == box.wire("3")
    assert box.parsed("3") == (sent, b"")


def test_pio_realtime_and_dma_together():
    box = box_for("pio", pio_bytes=2, chunk=4)
    stream = (b"".join(notes(20)) + hexs("f8")) * 5 + hexs("f0 01 02 f8 03 f7")
    box.inputs["A"].push(stream)
    box.run()
    assert box.parsed("3") == oracle(stream)


# ---- random streams into A and B ------------------------------------------------------------

ROUTED = ["1", "2", "3", "4", "USB"]


@settings(max_examples=150, deadline=None)
@given(
    a=midi_streams(250, 30),
    b=midi_streams(250, 30),
    chunk_a=st.integers(1, 3),
    chunk_b=st.integers(1, 3),
    uarts=st.booleans(),
)
def test_random_streams_from_a_and_b_come_out_whole_and_complete(a, b, chunk_a, chunk_b,
                                                                  uarts):
    """Every output: clean MIDI (mido reads it whole, no leftover bytes, no message cut by
    another), carrying exactly the valid messages of A and B (the oracle), each input's in
    its own order, and realtime likewise. The inputs arrive slower than the outputs drain
    (as the wire guarantees on the box), so nothing may be dropped, given two limits on the
    inputs:
    - SysEx is closed after 40 data bytes: a SysEx holds its outputs by design, and the
      other input's messages wait in a 63-message ring, so a long or abandoned SysEx may
      drop them (counted); test_sysex_* cover SysEx cut short and abandoned;
    - at most 31 realtime bytes in all: on USB they wait while a SysEx holds it, and 31 is
      what the realtime ring keeps (test_clock_on_usb_waits_for_a_sysex_and_is_not_lost).
    With `uarts`, A and B are UARTs as on the box, which the loop also reads between the
    writes of a pass."""
    a = cap_realtime(bounded_sysex(a, 40), 16)
    b = cap_realtime(bounded_sysex(b, 40), 15)
    box = Box(everything_to(ROUTED), din=("1", "2"), pio=("3", "4"), chunk=1, uarts=uarts)
    box.inputs["A"].chunk, box.inputs["A"].every = chunk_a, 2 * chunk_a
    box.inputs["B"].chunk, box.inputs["B"].every = chunk_b, 2 * chunk_b
    box.inputs["A"].push(a)
    box.inputs["B"].push(b)
    box.run()
    msgs_a, rt_a = oracle(a)
    msgs_b, rt_b = oracle(b)
    assert box.app.drops() == 0
    for name in ROUTED:
        got, realtime = box.parsed(name)
        assert is_merge_of(got, msgs_a, msgs_b), name
        assert is_merge_of(realtime, rt_a, rt_b), name


# ---- one way to queue a message -------------------------------------------------------------


def _block(func, begin: str) -> list[str]:
    """The lines of func's source from the one containing `begin` to the last store of the
    ring's tail, dedented."""
    import inspect
    import textwrap

    lines = inspect.getsource(func).splitlines()
    start = next(k for k, line in enumerate(lines) if begin in line)
    end = next(k for k in range(start, len(lines)) if "ring[_TAIL] = " in lines[k])
    return textwrap.dedent("\n".join(lines[start:end + 1])).splitlines()


def test_the_hot_path_queues_a_message_exactly_as_router_queue_does():
    # Router.queue is the one way a message enters an output's ring; message() inlines its
    # loop for speed (it runs for every message and output). The two must stay the same code.
    from switchyard.router import Router

    inlined = _block(Router.message, "for ring in self.rings[mask]:")
    function = _block(Router.queue, "for ring in self.rings[mask]:")
    assert inlined == function
    assert any("self._full(ring, word, source)" in line for line in function)


def test_router_queue_fills_to_the_limit_then_the_policy_chooses():
    box = box_for("din", din_room=0)
    router = box.router
    out = box.output("1")
    for k in range(merge.RING_LIMIT + 10):
        router.queue(out.bit, 0xC0 | (k % 128) << 8 | merge.WORD_BITS[0][0x40], 0)
    assert out.queued() == merge.RING_LIMIT and out.drops() == 10
    router.release_mask = out.bit  # a note-off whose note-on went here: never given up
    router.queue(out.bit, 0x80 | 60 << 8 | merge.WORD_BITS[0][0], 0)
    assert out.queued() == merge.RING_LIMIT + 1 and out.drops() == 10


def test_the_pio_ports_buffers_are_laid_out_as_the_pacer_writes_them():
    # merge.PioOutput writes whole 4-byte ring words into batches of up to _PIO_BATCH bytes
    # (the last word's spare bytes land past the batch) and hands DMA a view of each length.
    from switchyard import ports

    port = ports.PioOut(RecordingSM())
    assert ports._PIO_BATCH == merge._PIO_BATCH
    for buf, views in ((port.buf, port.views), (port.buf2, port.views2)):
        assert len(buf) == merge._PIO_BATCH + 3
        assert [len(v) for v in views] == list(range(merge._PIO_BATCH + 1))


def test_a_lane_the_heap_has_no_block_for_is_made_smaller_not_a_crash(monkeypatch):
    # A Pico's heap in pieces after start-up: no block of 1 KB or more (a CLK preset on
    # the emulated Pico stopped in app.build() with a MemoryError here)
    real = bytearray

    def scarce(size=0):
        if isinstance(size, int) and size >= 1024:
            raise MemoryError("memory allocation failed, allocating %d bytes" % size)
        return real(size)

    monkeypatch.setattr(merge, "bytearray", scarce, raising=False)
    out = merge.Output("1", None, False)
    assert out.make_lane(0, 4096) == 512
    assert len(out.lanes[0]) == 512 and out.lane_mask[0] == 511
    assert out.make_lane(0, 4096) == 512  # made once
    with pytest.raises(MemoryError):
        monkeypatch.setattr(merge, "bytearray", lambda size=0: (_ for _ in ()).throw(
            MemoryError()), raising=False)
        merge.Output("2", None, False).make_lane(1, 1024)  # not even 256 bytes: said
