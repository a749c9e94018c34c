"""The firmware sets the CPU clock its board file asks for, before any peripheral exists, and
the simulator times the loop at that clock."""

from __future__ import annotations

import pytest
from sim_helpers import Simulation, board_file, cost_model

from sim.cost import CostModel
from sim.doubles import microcontroller


def test_the_pico_runs_at_200_mhz_and_the_pico_2_at_its_150(capsys):
    pico = Simulation(preset=1, cost=CostModel.free())
    assert pico.chip.clk_sys_hz == board_file().CPU_HZ == 200_000_000
    pico2 = Simulation(preset=1, cost=CostModel.free(), board_id="raspberry_pi_pico2")
    assert pico2.chip.clk_sys_hz == 150_000_000
    out = capsys.readouterr().out
    assert out.count("switchyard: cpu at 200 MHz") == 1
    assert out.count("switchyard: cpu at 150 MHz") == 1
    # The state machines were made after the change (the double refuses a change under a
    # live one): their bit clock divides 200 MHz exactly.
    assert all(sm.frequency == 250_000 for sm in pico.chip._pio[0]["sms"] if sm is not None)


def test_a_circuitpython_that_refuses_the_clock_still_runs_the_box(monkeypatch, capsys):
    def refuse(self, value):
        raise AttributeError("can't set attribute 'frequency'")

    monkeypatch.setattr(microcontroller.Processor, "frequency",
                        property(lambda self: self._chip.clk_sys_hz, refuse))
    sim = Simulation(preset=1, cost=CostModel.free())
    assert sim.chip.clk_sys_hz == 125_000_000
    line = [x for x in capsys.readouterr().out.splitlines() if "cpu stays" in x]
    assert line == ["switchyard: cpu stays at 125 MHz, 200 MHz refused (AttributeError: can't "
                    "set attribute 'frequency'): the box works, with more latency; "
                    "CircuitPython 9 or 10 sets it (docs/INSTALL.md)"]
    # and it still routes: a note on A ch 1 reaches output 4 (presets.json's Studio)
    sim.play("A", [(10_000, bytes([0x90, 60, 100]))])
    sim.run()
    assert [b for _, b in sim.outputs()["4"]] == [0x90, 60, 100]


@pytest.mark.parametrize("refused", [False, True])
def test_the_loop_is_timed_at_the_clock_the_firmware_set(monkeypatch, refused):
    if refused:
        monkeypatch.setattr(microcontroller.Processor, "frequency",
                            property(lambda self: self._chip.clk_sys_hz))
    # 1 ns a fuel at 125 MHz: a read of 160,000 fuel takes 160 us there, 100 us at 200 MHz
    cost = cost_model(read_fuel=160_000)
    cost.ns_per_fuel_clk_hz = 125_000_000
    sim = Simulation(preset=1, cost=cost)
    sim.play("A", [(10_000, b"\xf8")])
    sim.run()
    assert sim.busy_us == (160 if refused else 100)
    assert sim.summary()["cost_model"]["ns_per_fuel_clk_hz"] == sim.chip.clk_sys_hz
