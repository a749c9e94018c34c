"""The main loop's order of work, timed in the simulator with round-number costs: a
clock byte that comes while the loop writes to outputs does not wait for all of them."""

from __future__ import annotations

import pytest
from sim_helpers import (
    DIN_OUTPUTS,
    Simulation,
    cost_model,
    everything_route,
    messages,
    write_presets,
)


def test_a_clock_that_comes_during_the_writes_of_a_pass_overtakes_the_later_writes(tmp_path):
    # A note to all six DIN outputs, then a clock right behind it on the same wire. The
    # pass that reads the note's last byte writes it to 1, 2, ... 6, 400 us of CPU each.
    # The clock arrives during the first write: the loop looks at the UARTs after each
    # write, so the clock goes out to every output then, and on output 6 (whose write
    # comes 2 ms later) it arrives before the note, not behind it.
    presets = write_presets(tmp_path / "presets.json",
                            [{"name": "all", "routes": [everything_route("A", DIN_OUTPUTS)]}])
    sim = Simulation(presets_path=presets, preset=1,
                     cost=cost_model(write_fuel=400_000, read_fuel=10_000,
                                     realtime_fuel=10_000, poll_fuel=1_000))
    sim.play("A", [(10_000, bytes([0x90, 60, 100, 0xF8]))])
    sim.run()
    clock_in = sim.inputs()["A"][-1][0] + 320  # when the clock byte had arrived
    outs = sim.outputs()
    for port in DIN_OUTPUTS:
        assert [m.type for m in messages(outs[port])] in (
            ["note_on", "clock"], ["clock", "note_on"]), port
    clocks = {port: next(t for t, b in outs[port] if b == 0xF8) for port in DIN_OUTPUTS}
    # out within one write (and on output 1, behind the note byte then on the wire)
    assert all(t - clock_in < 400 + 320 + 100 for t in clocks.values()), clocks
    assert [m.type for m in messages(outs["6"])] == ["clock", "note_on"]
    note_6 = next(t for t, b in outs["6"] if b == 0x90)
    assert note_6 - clocks["6"] > 1_000  # the note's write to 6 came well after


def test_a_clock_that_comes_while_the_other_input_is_parsed_goes_before_its_write(tmp_path):
    # The Keystep's note (B, to output 2) completes; reading and parsing it takes 300 us,
    # and the Digitakt's clock (A, to output 1) arrives 100 us into that. The loop looks
    # at the UARTs again before the pass's writes, so the clock does not also wait for
    # the 400 us write of the note.
    presets = write_presets(tmp_path / "presets.json", [{"name": "two", "routes": [
        everything_route("A", ("1",)), everything_route("B", ("2",))]}])
    sim = Simulation(presets_path=presets, preset=1,
                     cost=cost_model(write_fuel=400_000, read_fuel=300_000,
                                     realtime_fuel=10_000, poll_fuel=1_000))
    sim.play("B", [(10_000, bytes([0x90, 60, 100]))])  # last byte in at 10_960
    sim.play("A", [(10_740, b"\xf8")])  # in at 11_060
    sim.run()
    clock_in = 10_740 + 320
    clock_out = next(t for t, b in sim.outputs()["1"] if b == 0xF8)
    note_out = next(t for t, b in sim.outputs()["2"] if b == 0x90)
    # 200 us of B's read left, a look at A, the clock's own read (300 us) and set y, the
    # state machine's start; after the note's write it would be 400 us later
    assert clock_out - clock_in <= 200 + 1 + 300 + 10 + 48
    assert note_out > clock_out


def test_a_circuitpython_without_statemachine_pending_is_refused_naming_the_fix(monkeypatch):
    # The DIN pacer queues a DMA batch behind another only when `pending_write` (or its
    # older name `pending`) reads 0; a CircuitPython with neither must stop at start-up
    # with the fix, not fail mid-song.
    from sim.doubles import rp2pio

    for name in ("pending", "pending_write"):
        def missing(self, name=name):
            raise AttributeError("'StateMachine' object has no attribute %r" % name)

        monkeypatch.setattr(rp2pio.StateMachine, name, property(missing))
    with pytest.raises(RuntimeError, match="CircuitPython 9 or 10"):
        Simulation(preset=1)


def test_a_circuitpython_with_only_the_new_name_pending_write_runs(monkeypatch):
    # CircuitPython 10 names it pending_write; `pending` is its deprecated alias, which a
    # later CircuitPython may drop: the box must run on pending_write alone.
    from sim.doubles import rp2pio

    def missing(self):
        raise AttributeError("'StateMachine' object has no attribute 'pending'")

    monkeypatch.setattr(rp2pio.StateMachine, "pending", property(missing))
    sim = Simulation(preset=1)
    sim.play("A", [(1000, bytes([0x90, 60, 100, 0x80, 60, 0]))])
    sim.run()
    assert bytes(b for _, b in sim.outputs()["4"]) == bytes([0x90, 60, 100, 0x80, 60, 0])
