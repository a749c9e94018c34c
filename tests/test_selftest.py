"""The self-test: FN held at power-up sends C4 to each output in turn and reports on the
console which input heard it (a MIDI cable looped from an OUT to an IN).

The chip is prepared with FN already held before the firmware boots (sim_helpers.booted_with,
FN released at 0.4 s); Simulation(hold_fn_at_boot=True) is tested on its own.
"""

from __future__ import annotations

import re

from sim_helpers import (
    ALL_OUTPUTS,
    Simulation,
    analysis,
    booted_with,
    hold_at_power_up,
    messages,
    msg_bytes,
)

C4_ON = (0x90, 60, 100)
C4_OFF = (0x80, 60, 0)
REPORT = re.compile(r"^switchyard: self-test: out (\S+) -> (.+)$", re.MULTILINE)


def self_test(capsys, loopback=None) -> tuple[Simulation, dict[str, str], str]:
    sim = booted_with(hold_at_power_up("FN", 0.4), preset=1, loopback=loopback)
    sim.run(until_us=3_000_000)
    console = capsys.readouterr().out
    return sim, dict(REPORT.findall(console)), console


def test_loopback_cable_from_out_1_to_in_a(capsys):
    sim, report, console = self_test(capsys, loopback={"1": "A"})
    assert "self-test: sending C4" in console and "self-test: done" in console
    assert report == {port: ("A" if port == "1" else "no input") for port in ALL_OUTPUTS}
    # the cable really carried out 1's bytes into A
    assert msg_bytes(messages(sim.inputs()["A"])) == [C4_ON, C4_OFF]


def test_no_cable_reports_no_input_anywhere(capsys):
    sim, report, _ = self_test(capsys)
    assert report == {port: "no input" for port in ALL_OUTPUTS}
    assert all(log == [] for log in sim.inputs().values())


def test_each_output_gets_a_c4_note_on_and_off_in_turn(capsys):
    sim, _, _ = self_test(capsys)
    outs = sim.outputs()
    starts = []
    for port in ALL_OUTPUTS:
        tms = analysis.parse_log(outs[port])
        assert [tuple(tm.msg.bytes()) for tm in tms] == [C4_ON, C4_OFF], port
        starts.append(tms[0].t_first)
    assert starts == sorted(starts)  # one output after the other, in port order
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert all(200_000 <= g <= 300_000 for g in gaps), gaps  # a quarter second each


def test_the_box_routes_normally_after_the_self_test(capsys):
    sim = booted_with(hold_at_power_up("FN", 0.4), preset=1)
    sim.play("A", [(2_500_000, bytes([0x90, 36, 100]))])  # Studio: DT ch 1 -> out 4
    sim.run(until_us=3_000_000)
    outs = sim.outputs()
    assert msg_bytes(messages(outs["4"])) == [C4_ON, C4_OFF, (0x90, 36, 100)]
    assert msg_bytes(messages(outs["3"])) == [C4_ON, C4_OFF]
    # releasing FN after the self-test is not a panic or a preset change
    assert sim.summary()["preset_changes"] == []


def test_without_fn_held_there_is_no_self_test(capsys):
    sim = Simulation(preset=1)
    sim.run(until_us=2_000_000)
    assert "self-test" not in capsys.readouterr().out
    assert all(log == [] for log in sim.outputs().values())


def test_hold_fn_at_boot_option_starts_the_self_test(capsys):
    sim = Simulation(preset=1, hold_fn_at_boot=True, loopback={"1": "A"})
    sim.run(until_us=3_000_000)
    report = dict(REPORT.findall(capsys.readouterr().out))
    assert report == {port: ("A" if port == "1" else "no input") for port in ALL_OUTPUTS}
    # held FN at power-up is the self-test, not a long press: no panic anywhere
    assert all(
        [m.type for m in messages(log)] == ["note_on", "note_off"]
        for port, log in sim.outputs().items() if port != "4"  # 4 also gets A's C4 (Studio)
    )
