"""switchyard.usclock: the documented PIO source is the shipped program; on the cycle
emulator (tests/pio_emu.py) it pushes a count that falls by one every 4 cycles (a
microsecond at 4 MHz), and on the simulator's rp2pio double a read gives virtual time in
microseconds, modulo 2**24, at both CPU clocks, over minutes of virtual time."""

import re
import sys
import textwrap
from pathlib import Path

import adafruit_pioasm
import pytest

REPO = Path(__file__).resolve().parent.parent
if str(REPO / "lib") not in sys.path:
    sys.path.insert(0, str(REPO / "lib"))
if str(REPO) not in sys.path:
    sys.path.append(str(REPO))  # appended: the root code.py must not shadow stdlib `code`

import pio_emu  # noqa: E402
from switchyard import usclock  # noqa: E402


def test_documented_source_assembles_to_program():
    match = re.search(r"\n(    \.program .*?)\n\n", usclock.__doc__, re.S)
    assert match
    program = adafruit_pioasm.Program(textwrap.dedent(match.group(1)))
    assert list(program.assembled) == list(usclock.PROGRAM)


def test_every_fourth_cycle_a_count_and_a_push_while_there_is_room():
    sm = pio_emu.StateMachine(usclock.PROGRAM, in_shift_right=False)
    sm.run(4 * 20)
    pushed = list(sm.rx_log)
    assert len(sm.rx_fifo) == 4  # full (pio_emu's FIFOs are not joined): the rest dropped
    # the first pushes: X from 0 down, 24 bits of it, one every 4 cycles
    assert [w for _, w in pushed[:4]] == [0xFFFFFF, 0xFFFFFE, 0xFFFFFD, 0xFFFFFC]
    assert [c for c, _ in pushed[:4]] == [3, 7, 11, 15]
    # empty the FIFO at any cycle: the next word is the count of that microsecond
    for clear_at in range(83, 120):
        sm = pio_emu.StateMachine(usclock.PROGRAM, in_shift_right=False)
        sm.run(clear_at)
        sm.rx_fifo.clear()
        while not sm.rx_fifo:
            sm.tick()
        word = sm.rx_fifo[0]
        assert word < 1 << 24
        assert (-word & usclock.MASK) == sm.cycle // 4  # pushed on the 4th cycle of a count
        assert sm.cycle - clear_at <= 4


@pytest.mark.parametrize("clk_hz", [125_000_000, 200_000_000])
def test_reads_on_the_double_are_virtual_microseconds(clk_hz):
    from sim.chip import Chip, install
    from sim.doubles import rp2pio

    chip = Chip()
    chip.clk_sys_hz = clk_hz
    install(chip)
    clock = usclock.make(rp2pio)
    assert clock is not None
    first = None
    t = 0
    for k in range(3000):  # 3000 reads over 40 s: the count wraps twice (16.8 s)
        chip.clock.advance(1 + (k * 7919) % 25000)
        before = chip.clock.now_us
        value = clock.now_us()
        assert 0 <= value <= usclock.MASK
        assert chip.clock.now_us - before <= 1  # the next push comes within a microsecond
        offset = (value - before) & usclock.MASK
        if first is None:
            first = offset
        assert offset == first, (k, before)  # no drift, no step: the counter is exact
        t = before
    assert t > 2 * (1 << 24)


def test_no_state_machine_left_is_none():
    class Busy:
        @staticmethod
        def StateMachine(*args, **kwargs):  # noqa: N802 (rp2pio's name)
            raise RuntimeError("All state machines in use")

    assert usclock.make(Busy) is None


# ---- in the box: build() gives CLK the counter when presets.json uses CLK ----------------------


CLK_DOC = {"version": 1, "tempo": {"bpm": 120},
           "presets": [{"name": "Jam", "routes": [{"from": "CLK", "to": ["3"]}]}]}


def _presets(tmp_path, doc):
    import json

    path = tmp_path / "presets.json"
    path.write_text(json.dumps(doc))
    return path


def _state_machines(chip):
    return sum(1 for block in chip._pio for sm in block["sms"] if sm is not None)


def test_clk_gets_a_seventh_state_machine_and_a_box_without_clk_does_not(tmp_path):
    from sim.runner import Simulation

    sim = Simulation(presets_path=_presets(tmp_path, CLK_DOC))
    counter = sim.app.clock.now_us.__self__
    assert type(counter).__module__ == "switchyard.usclock" and type(counter).__name__ == "UsClock"
    assert _state_machines(sim.chip) == 7
    sim.run(until_us=1_000_000)
    assert 47 <= sim.summary()["clocks"]["3"] <= 49  # 48 a second at 120 BPM
    plain = Simulation()  # the shipped presets.json: no CLK
    assert plain.app.clock is None and _state_machines(plain.chip) == 6


def test_with_no_state_machine_left_clk_falls_back_to_monotonic_ns(tmp_path, capsys):
    from sim_helpers import booted_with

    def fill(chip):
        block = chip._pio[-1]
        block["sms"][2] = block["sms"][3] = "taken"  # what the 6 transmitters leave

    sim = booted_with(fill, presets_path=_presets(tmp_path, CLK_DOC))
    assert sim.app.clock.now_us.__name__ == "monotonic_us"
    assert ("switchyard: CLK: no state machine left for its microsecond counter; "
            "using time.monotonic_ns") in capsys.readouterr().out
    sim.run(until_us=1_000_000)
    assert 47 <= sim.summary()["clocks"]["3"] <= 49


def test_only_a_counting_program_is_run_in_whole_periods():
    from switchyard import piotx

    from sim.doubles.rp2pio import _x_only_counts

    assert _x_only_counts(tuple(usclock.PROGRAM), 0, len(usclock.PROGRAM) - 1)
    assert not _x_only_counts(tuple(piotx.PROGRAM), 0, len(piotx.PROGRAM) - 1)
    for other in ("jmp x-- 1", "jmp !x 0", "mov y, x", "set x, 3", "out x, 8", "mov isr, x\n"
                  "mov osr, isr"):
        words = tuple(adafruit_pioasm.assemble("jmp x-- 1\n" + other))
        assert not _x_only_counts(words, 0, len(words) - 1), other


def test_building_a_box_with_clk_reads_no_clock_so_input_may_start_at_0(tmp_path):
    # The generator reads its fine time first at its first look, not while the box is
    # built: a read takes (virtual) time, and input played from t = 0 must still fit.
    from sim.runner import Simulation

    doc = {"version": 1, "tempo": {"bpm": 120}, "presets": [{"name": "Jam", "routes": [
        {"from": "CLK", "to": ["3"]}, {"from": "A", "to": ["3"]}]}]}
    sim = Simulation(presets_path=_presets(tmp_path, doc))
    assert sim.chip.clock.now_us == 0
    sim.play("A", [(0, bytes([0x90, 60, 100])), (200_000, bytes([0x80, 60, 0]))])
    sim.run(until_us=300_000)
    log = sim.outputs()["3"]
    assert [b for _, b in log if b != 0xF8] == [0x90, 60, 100, 0x80, 60, 0]
    clocks = [t for t, b in log if b == 0xF8]
    assert clocks[0] < 1000 and 13 <= len(clocks) <= 15  # from power-up, 48 a second
