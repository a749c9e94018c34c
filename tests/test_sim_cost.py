"""The simulator's cost model (sim/cost.py) and how the runner counts what it charges:
reads, bytes in, writes, bytes out, realtime bytes put in a PIO transmitter's Y, busy
outputs, SysEx bytes. The runner counts them from what the doubles are asked to do."""

from __future__ import annotations

from sim_helpers import Simulation, everything_route, write_presets
from sim_helpers import cost_model as model

from sim.cost import CostModel


def test_pass_cost_adds_every_term_once():
    m = CostModel(2.0, 1000, 100, 10, 7, "t", 11_000, 50, 5, 2000, 3000, 500)
    # 6 bytes in (2 of SysEx), 9 out (3 of SysEx, 2 realtime put in Y), 3 busy
    # outputs, one housekeeping run, 2 reads, 2 writes
    fuel = (1000 + 4 * 100 + 2 * 50 + 4 * 10 + 3 * 5 + 3 * 7 + 11_000 + 2 * 2000 + 2 * 3000
            + 2 * 500)
    assert m.pass_us(6, 9, 3, 1, 2, 3, reads=2, writes=2, realtime=2) == round(fuel * 2 / 1000)


def test_a_model_file_without_the_newer_terms_still_loads(tmp_path):
    path = tmp_path / "old.json"
    path.write_text('{"ns_per_fuel": 7.0, "pass_fuel": 1, "in_byte_fuel": 2, '
                    '"out_byte_fuel": 3, "busy_output_fuel": 4}')
    m = CostModel.load(path)
    assert (m.read_fuel, m.write_fuel, m.realtime_fuel) == (0.0, 0.0, 0.0)
    assert m.pass_us(1, 1, 1) == round((1 + 2 + 3 + 4) * 7 / 1000)


def cpu_us(cost: CostModel, events, presets=None, port="A") -> int:
    # presets.json's Studio unless given: clock to 1, 3, 4, 5; A ch 1 to 4
    sim = Simulation(presets, preset=1, cost=cost)
    sim.play(port, events)
    sim.run()
    return sim.busy_us


def test_one_clock_to_four_outputs_is_one_read_and_four_realtime_bytes():
    clock = [(10_000, b"\xf8")]
    assert cpu_us(model(read_fuel=1000), clock) == 1
    assert cpu_us(model(in_byte_fuel=1000), clock) == 1
    assert cpu_us(model(realtime_fuel=1000), clock) == 4  # straight out, to 1 3 4 5
    assert cpu_us(model(write_fuel=1000), clock) == 0  # no DMA write for it
    assert cpu_us(model(out_byte_fuel=1000), clock) == 0  # charged as realtime instead


def test_a_clock_that_waits_for_y_is_still_charged_as_realtime_not_as_a_write(tmp_path):
    presets = write_presets(tmp_path / "presets.json",
                            [{"name": "USB to 1", "routes": [everything_route("USB", ("1",))]}])
    # Two clocks in one USB packet: the first goes into Y at once, the second waits in
    # the output's realtime ring until the program has taken the first, and the pacer
    # puts it in Y on a later pass. Still one `set y` each, and no DMA write.
    clocks = [(10_000, b"\xf8\xf8")]
    assert cpu_us(model(realtime_fuel=1000), clocks, presets, "USB") == 2
    assert cpu_us(model(write_fuel=1000), clocks, presets, "USB") == 0
    assert cpu_us(model(out_byte_fuel=1000), clocks, presets, "USB") == 0


def test_a_sysex_is_charged_at_the_sysex_rates_in_and_out(tmp_path):
    presets = write_presets(tmp_path / "presets.json",
                            [{"name": "A to 1", "routes": [everything_route("A", ("1",))]}])
    # F0, 10 data bytes with a clock among them, F7; to output 1
    sysex = [(10_000, bytes([0xF0, 1, 2, 3, 4, 5, 0xF8, 6, 7, 8, 9, 10, 0xF7]))]
    assert cpu_us(model(sysex_in_byte_fuel=1000), sysex, presets) == 10
    assert cpu_us(model(in_byte_fuel=1000), sysex, presets) == 3  # F0, the clock, F7
    # out: the 10 data bytes and the F7 come from the SysEx lane; the clock goes by Y
    assert cpu_us(model(sysex_out_byte_fuel=1000), sysex, presets) == 11
    assert cpu_us(model(out_byte_fuel=1000), sysex, presets) == 1  # the F0
    assert cpu_us(model(realtime_fuel=1000), sysex, presets) == 1


def test_a_note_read_byte_by_byte_is_three_reads_and_one_write_of_three_bytes():
    note = [(10_000, bytes([0x90, 60, 100]))]  # ch 1: to output 4 only
    assert cpu_us(model(read_fuel=1000), note) == 3  # one byte a pass, as they come
    assert cpu_us(model(in_byte_fuel=1000), note) == 3
    assert cpu_us(model(write_fuel=1000), note) == 1
    assert cpu_us(model(out_byte_fuel=1000), note) == 3
    assert cpu_us(model(realtime_fuel=1000), note) == 0
    # the pass that reads the last byte looks at both UARTs again before its write and
    # after it; the looks at the top of each pass are in pass_fuel
    assert cpu_us(model(poll_fuel=1000), note) == 4
    assert cpu_us(model(poll_fuel=1000), [(10_000, b"\xf8")]) == 0


def test_a_wake_already_due_is_the_next_housekeeping_run():
    # The ACT LED's end fell between two housekeeping runs: the simulator must be sent to
    # the next run, not to a time already past (it would never advance: a hang).
    app = Simulation(preset=1, cost=CostModel.free()).app
    app.panel.act_on = True
    app.panel.last_traffic_ms = (app.last_ms - 100) & 0x1FFFFFFF
    assert app.next_wake_ms() == (app.last_ms + 4) & 0x1FFFFFFF


def first_out_us(cost: CostModel, events, port: str) -> tuple[int, list[int]]:
    """(when the last input byte had arrived, start of each byte on output `port`)."""
    sim = Simulation(preset=1, cost=cost)
    sim.play("A", events)
    sim.run()
    arrived = sim.inputs()["A"][-1][0] + 320  # start of the last byte + its 10 bits
    return arrived, [t for t, _ in sim.outputs()[port]]


# The state machine starts a byte at its next bit tick: up to one bit time (32 us) and a
# few of its cycles after the CPU hands it over.
PIO_START_US = 48


def test_a_write_leaves_once_the_pass_has_done_the_work_before_it():
    # The pass that reads the note's last byte reads (100 us), parses it (50 us) and
    # services output 4 (200 us) before the DMA call: the bytes cannot leave earlier.
    note = [(10_000, bytes([0x90, 60, 100]))]
    cost = model(read_fuel=100_000, in_byte_fuel=50_000, write_fuel=200_000)
    arrived, out = first_out_us(cost, note, "4")
    assert len(out) == 3
    assert 350 <= out[0] - arrived <= 350 + PIO_START_US
    # without the cost, at once: the delay above is the cost's, not the wire's
    arrived, out = first_out_us(model(), note, "4")
    assert 0 <= out[0] - arrived <= PIO_START_US


def test_realtime_bytes_of_one_pass_leave_one_after_another():
    # A clock to outputs 1, 3, 4 and 5: each `set y` after the read and the ones before it.
    clock = [(10_000, b"\xf8")]
    for k, port in enumerate(("1", "3", "4", "5")):
        arrived, out = first_out_us(model(read_fuel=100_000, realtime_fuel=150_000), clock, port)
        expected = 100 + 150 * (k + 1)
        assert expected <= out[0] - arrived <= expected + PIO_START_US, port


def test_clk_is_charged_a_look_a_pass_and_a_write_and_its_counter_reads(tmp_path):
    import json

    def busy(doc, **fuel):
        path = tmp_path / "clk.json"
        path.write_text(json.dumps(doc))
        m = model()
        for term, value in fuel.items():
            setattr(m, term, value)
        sim = Simulation(path, cost=m)
        sim.run(until_us=1_000_000)
        return sim.busy_us, sim.passes, sim.summary()["clocks"]["3"]

    clk = {"version": 1, "tempo": {"bpm": 120},
           "presets": [{"name": "Jam", "routes": [{"from": "CLK", "to": ["3"]}]}]}
    plain = {"version": 1, "presets": [{"name": "Thru", "routes": [{"from": "A", "to": ["3"]}]}]}
    us, passes, clocks = busy(clk, clock_read_fuel=1000)
    assert 47 <= clocks <= 49
    assert clocks <= us <= 10 * clocks  # 1 us a read: a few reads a clock, in its last 3 ms
    us, passes, _ = busy(clk, clock_look_fuel=1000)
    assert us >= passes  # at least one look a pass (no writes here: realtime bytes only)
    assert busy(plain, clock_look_fuel=1000, clock_read_fuel=1000)[0] == 0  # no CLK, no cost
    m = model()
    m.clock_look_fuel, m.clock_read_fuel = 3000, 5000
    assert m.pass_us(0, 0, 0, clock_looks=2, clock_reads=1) == 11
