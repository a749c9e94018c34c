"""The front panel, Program Change control, bar switching, note tracking, NVM and the safe
default, through the simulator: buttons pressed on the chip's pins, LEDs read back from the
pins the board file names, MIDI checked with mido.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from sim_helpers import (
    ALL_OUTPUTS,
    CLOCK_US,
    REPO,
    Simulation,
    analysis,
    booted_with,
    clock_events,
    everything_route,
    led_pins,
    level_at,
    merge_events,
    messages,
    msg_bytes,
    non_realtime,
    rising_edges,
    ticks_ms_at,
    write_presets,
)

LEDS = led_pins()
PRESET_LEDS = ("P1", "P2", "P3", "P4")
SCAN_US = 19_532  # keypad scans every 20 ticks of 1/1024 s
HOUSEKEEPING_US = 8_000  # the loop polls the keys every other 4 ms housekeeping run
# press -> preset on a looping Pico: the next scan, then the next key poll
REACT_PICO_US = SCAN_US + HOUSEKEEPING_US + 1_000
# the simulator sleeps between hardware events, so a poll can wait for the scan after
REACT_US = 2 * SCAN_US + HOUSEKEEPING_US + 1_000
LED_LAG_US = SCAN_US + HOUSEKEEPING_US  # LEDs refresh on the other housekeeping runs
NVM_MAGIC = 0x53


def led_history(sim: Simulation, name: str) -> list[tuple[int, bool]]:
    return sim.chip.pin_history[LEDS[name]]


def lit_preset_leds(sim: Simulation, t_us: int) -> list[str]:
    return [n for n in PRESET_LEDS if level_at(led_history(sim, n), t_us)]


@pytest.fixture
def eight_presets(tmp_path):
    """Eight presets, each routing A and B to every output (names differ)."""
    presets = [
        {"name": "Preset %d" % (k + 1), "routes": [everything_route("A"), everything_route("B")]}
        for k in range(8)
    ]
    return write_presets(tmp_path / "presets8.json", presets,
                         control={"input": "any", "channel": 16})


def panic_set() -> set[tuple[int, ...]]:
    return {(0xB0 | ch, cc, 0) for ch in range(16) for cc in (123, 64)}


# ---- buttons ---------------------------------------------------------------------------------


def test_p1_to_p4_select_presets_1_to_4():
    sim = Simulation(preset=1)
    presses = [("P2", 0.3), ("P3", 0.7), ("P4", 1.1), ("P1", 1.5)]
    for button, at_s in presses:
        sim.press(button, at_s, 0.1)
    sim.run(until_us=1_900_000)  # before the box is idle long enough to write NVM
    changes = sim.summary()["preset_changes"]
    assert [c["preset"] for c in changes] == [2, 3, 4, 1]
    for change, (button, at_s) in zip(changes, presses, strict=True):
        press_us = int(at_s * 1e6)
        assert press_us < change["t_us"] <= press_us + REACT_US, (button, change)
        # the active preset's LED is lit, the others are dark
        assert lit_preset_leds(sim, change["t_us"] + LED_LAG_US) == [button]
    assert lit_preset_leds(sim, 200_000) == ["P1"]  # from power-up


def test_a_press_lands_as_fast_as_on_a_looping_pico():
    sim = Simulation(preset=1)
    presses = [("P2", 0.3), ("P3", 0.7), ("P4", 1.1), ("P1", 1.5)]
    for button, at_s in presses:
        sim.press(button, at_s, 0.1)
    sim.run(until_us=1_900_000)
    changes = sim.summary()["preset_changes"]
    assert [c["preset"] for c in changes] == [2, 3, 4, 1]
    for change, (_, at_s) in zip(changes, presses, strict=True):
        assert change["t_us"] <= int(at_s * 1e6) + REACT_PICO_US


def test_a_press_on_an_idle_box_is_not_held_up_by_the_nvm_write():
    sim = Simulation(preset=4)
    sim.press("P1", 3.0, 0.1)  # nothing played for 3 s
    sim.play("A", [(3_030_000, bytes([0x90, 36, 100]))])  # Minitaur on ch 1, right after
    sim.run(until_us=6_000_000)
    changes = sim.summary()["preset_changes"]
    assert [c["preset"] for c in changes] == [1]
    assert changes[0]["t_us"] <= 3_000_000 + REACT_US
    note = analysis.parse_log(sim.outputs()["4"])[0]
    arrived = analysis.parse_log(sim.inputs()["A"])[0].t_last
    assert note.t_first - arrived < 3_000  # not behind a flash write
    assert bytes(sim.chip.nvm[0:3]) == bytes([NVM_MAGIC, 0, 0xA5])  # still saved, later


def test_fn_plus_p_selects_presets_5_to_8(eight_presets):
    sim = Simulation(presets_path=eight_presets, preset=1)
    # the Keystep's active sensing keeps the box from idling into an NVM write
    sim.play("B", [(t, b"\xfe") for t in range(100_000, 4_500_000, 300_000)])
    sim.press("FN", 0.2, 0.6)
    sim.press("P1", 0.4, 0.1)  # FN + P1 = preset 5
    sim.press("FN", 3.7, 0.6)
    sim.press("P4", 3.9, 0.1)  # FN + P4 = preset 8
    sim.run(until_us=4_500_000)
    changes = sim.summary()["preset_changes"]
    assert [c["preset"] for c in changes] == [5, 8]
    assert 400_000 < changes[0]["t_us"] <= 400_000 + REACT_US
    assert 3_900_000 < changes[1]["t_us"] <= 3_900_000 + REACT_US
    # FN released after a combo: no panic, nothing but the active sensing on any output
    assert all(non_realtime(messages(log)) == [] for log in sim.outputs().values())
    assert sim.chip.nvm_writes == 0
    # presets 5..8: the LED of P1..P4 blinks slowly (500 ms on, 500 ms off)
    p1 = led_history(sim, "P1")
    rises = [t for t in rising_edges(p1) if 450_000 < t < 3_900_000]
    assert len(rises) == 4  # about 0.62, 1.62, 2.62, 3.62 s
    assert all(abs((b - a) - 1_000_000) < LED_LAG_US for a, b in zip(rises, rises[1:]))
    for rise in rises[:-1]:  # (preset 8 comes during the last one)
        assert level_at(p1, rise + 400_000) and not level_at(p1, rise + 600_000)
    assert [n for n in PRESET_LEDS if n != "P1" and rising_edges(led_history(sim, n))
            and rising_edges(led_history(sim, n))[0] < 3_900_000] == []
    assert not level_at(p1, 4_400_000)  # preset 8 now: P1 dark, P4 blinks
    assert [t for t in rising_edges(led_history(sim, "P4")) if t > 3_900_000]


@pytest.mark.parametrize("bounce_ms", [3, 15, 45])
def test_a_bouncing_press_selects_once(bounce_ms):
    sim = Simulation(preset=1)
    sim.press("P3", 0.5, 0.3, bounce_ms=bounce_ms)
    sim.run(until_us=1_500_000)
    changes = sim.summary()["preset_changes"]
    assert [c["preset"] for c in changes] == [3]
    assert 500_000 < changes[0]["t_us"] <= 500_000 + bounce_ms * 1000 + REACT_US
    # the LED switches once, no flicker
    assert len(rising_edges(led_history(sim, "P3"))) == 1
    assert [t for t in rising_edges(led_history(sim, "P1")) if t > 100_000] == []


def test_fn_long_press_sends_panic_while_the_clock_runs():
    sim = Simulation(preset=1)
    sim.play("A", clock_events(100_000, 150))  # 3.1 s of clock after Start
    sim.press("FN", 1.0, 1.5)  # long press: panic after 1 s held
    sim.run(until_us=3_500_000)
    ins = sim.inputs()
    outs = sim.outputs()
    clocks_in = analysis.clock_times(ins["A"])
    # the longest pass a panic step makes: a clock read, housekeeping, 7 batches written
    panic_pass_us = sim.cost.pass_us(1, 7 * 6, 7, housekeeping=1, reads=1, writes=7)
    for port in ALL_OUTPUTS:
        tms = [tm for tm in analysis.parse_log(outs[port]) if tm.msg.type == "control_change"]
        got = [tuple(tm.msg.bytes()) for tm in tms]
        assert len(got) == 32 and set(got) == panic_set(), port  # once, not repeated
        # After the 1 s hold; the 16 steps come 4 ms apart from the first housekeeping pass
        # that sees the hold (~2.027 s), and each step's pass writes the 7 outputs one
        # after another (~0.3 ms each under the cost model): the last pair by ~2.101 s.
        assert all(2_000_000 < tm.t_first < 2_110_000 for tm in tms), port
        assert non_realtime(messages(outs[port])) == [tm.msg for tm in tms], port
    for port in ("1", "3", "4", "5"):
        clocks_out = analysis.clock_times(outs[port])
        assert len(clocks_out) == len(clocks_in) == 150, port
        during = [t for t in clocks_out if 2_000_000 < t < 2_060_000]
        assert len(during) >= 2, port  # clock kept going through the panic burst
        jitter = analysis.clock_jitter(ins["A"], outs[port])
        # Each panic step (one channel) gives the 7 outputs a DMA batch of 6 bytes in the
        # next pass: a clock that comes meanwhile waits for that pass, never for more (all
        # 16 channels at once would be a pass 16 times as long).
        assert max(jitter) < panic_pass_us + 320, (port, max(jitter), panic_pass_us)
    assert sim.summary()["drops"] == 0


def test_fn_short_press_does_nothing():
    sim = Simulation(preset=2)
    sim.press("FN", 0.5, 0.4)
    sim.press("FN", 1.5, 0.9)
    sim.run(until_us=3_000_000)
    assert sim.summary()["preset_changes"] == []
    assert all(log == [] for log in sim.outputs().values())
    assert lit_preset_leds(sim, 2_900_000) == ["P2"]


# ---- LEDs -------------------------------------------------------------------------------------


def quarter_note_arrivals(start_us: int, clocks: int) -> list[int]:
    """When clock 0, 24, 48 ... (the first of each beat) has fully arrived."""
    return [start_us + 400 + k * CLOCK_US + 320 for k in range(0, clocks, 24)]


def test_clk_led_blinks_on_the_quarter_notes():
    sim = Simulation(preset=1)
    sim.play("A", clock_events(100_000, 24 * 8 + 12))  # 8 beats and half of the 9th
    sim.run(until_us=4_500_000)
    beats = quarter_note_arrivals(100_000, 24 * 8 + 12)
    rises = rising_edges(led_history(sim, "CLK"))
    assert len(rises) == len(beats) == 9
    for rise, beat in zip(rises, beats, strict=True):
        assert beat <= rise < beat + 2 * CLOCK_US  # lit during the beat's first clocks
    for rise in rises:
        assert not level_at(led_history(sim, "CLK"), rise + 3 * CLOCK_US)  # a short blink


def test_clk_led_lights_within_2_ms_of_the_beat():
    sim = Simulation(preset=1)
    sim.play("A", clock_events(100_000, 24 * 8 + 12))
    sim.run(until_us=4_500_000)
    beats = quarter_note_arrivals(100_000, 24 * 8 + 12)
    rises = rising_edges(led_history(sim, "CLK"))
    assert [r - b for r, b in zip(rises, beats, strict=True)] == pytest.approx(
        [0] * len(beats), abs=2_000)


def test_act_led_lights_on_traffic():
    sim = Simulation(preset=1)
    notes = [(1_000_000, bytes([0x90, 36, 100])), (2_000_000, bytes([0x80, 36, 0]))]
    sim.play("A", notes)
    sim.run(until_us=3_000_000)
    act = led_history(sim, "ACT")
    rises = rising_edges(act)
    assert len(rises) == 2
    for rise, (t_us, _) in zip(rises, notes, strict=True):
        arrived = t_us + 320  # the first byte: ACT shows bytes, not whole messages
        assert arrived <= rise < arrived + REACT_US
        assert level_at(act, rise + 5_000)
        assert not level_at(act, rise + 30_000 + LED_LAG_US + SCAN_US)  # a flicker
    assert not level_at(act, 900_000)


# ---- Program Change control ----------------------------------------------------------------


def test_program_change_on_channel_16_selects_and_is_not_routed(eight_presets):
    sim = Simulation(presets_path=eight_presets, preset=1)
    sim.play("A", [(300_000, bytes([0xCF, 2])),  # preset 3
                   (900_000, bytes([0xCE, 7]))])  # ch 15: an ordinary program change
    sim.play("B", [(600_000, bytes([0xCF, 5])),  # preset 6
                   (1_200_000, bytes([0xCF, 20]))])  # no preset 21: ignored, still consumed
    sim.run(until_us=1_500_000)
    changes = sim.summary()["preset_changes"]
    assert [c["preset"] for c in changes] == [3, 6]
    assert 300_640 <= changes[0]["t_us"] < 303_000
    assert 600_640 <= changes[1]["t_us"] < 603_000
    for port in ALL_OUTPUTS:
        got = msg_bytes(messages(sim.outputs()[port]))
        assert got == [(0xCE, 7)], port  # only the channel-15 program change passes


# ---- bar-quantised switching ------------------------------------------------------------------


def test_bar_switching_lands_on_the_bar_line(tmp_path):
    path = write_presets(tmp_path / "bar.json", [
        {"name": "To one", "routes": [{"from": "A", "to": ["1"]}]},
        {"name": "To two", "routes": [{"from": "A", "to": ["2"]}]},
    ], control={"input": "any", "channel": 16, "switch": "bar"})
    sim = Simulation(presets_path=path, preset=1)
    clocks = clock_events(100_000, 96 + 24)
    stop_us = clocks[-1][0] + 10_000
    notes = [(t, bytes([0x90, 40 + k, 100])) for k, t in
             enumerate(range(500_000, stop_us, 100_000))]
    sim.play("A", merge_events(clocks, notes, [(stop_us, b"\xfc")]))
    sim.press("P2", 0.7, 0.1)  # in the first bar (a bar is 96 clocks = 2 s at 120 BPM)
    sim.press("P1", 3.0, 0.1)  # after Stop: at once
    sim.run(until_us=3_500_000)
    changes = sim.summary()["preset_changes"]
    ins = sim.inputs()["A"]
    clock_starts = [t for t, b in ins if b == 0xF8]
    bar_line = clock_starts[96] + 320  # clock 96 (beat 1 of bar 2) has arrived
    assert [c["preset"] for c in changes] == [2, 1]
    assert bar_line <= changes[0]["t_us"] < bar_line + 2_000
    assert 3_000_000 < changes[1]["t_us"] <= 3_000_000 + REACT_US
    outs = sim.outputs()
    # notes that arrived before the bar line went to 1, after it to 2
    arrived = [tm.t_last for tm in analysis.parse_log(ins) if tm.msg.type == "note_on"]
    before = [m for m, t in zip(notes, arrived, strict=True) if t < bar_line]
    after = [m for m, t in zip(notes, arrived, strict=True) if t > bar_line]
    assert len(before) >= 10 and len(after) >= 4 and len(before) + len(after) == len(notes)
    assert msg_bytes(non_realtime(messages(outs["1"]))) == [tuple(d) for _, d in before]
    assert msg_bytes(non_realtime(messages(outs["2"]))) == [tuple(d) for _, d in after]
    # the 97th clock is the first on 2; Stop went to 2 only
    assert len(analysis.clock_times(outs["1"])) == 96
    assert len(analysis.clock_times(outs["2"])) == 24
    assert [b for _, b in outs["2"] if b in (0xFA, 0xFC)] == [0xFC]
    assert [b for _, b in outs["1"] if b in (0xFA, 0xFC)] == [0xFA]


# ---- note tracking across preset changes ---------------------------------------------------------


def unmatched_note_ons(log) -> list[tuple[int, int]]:
    held: dict[tuple[int, int], int] = {}
    for m in messages(log):
        if m.type == "note_on" and m.velocity:
            held[(m.channel, m.note)] = held.get((m.channel, m.note), 0) + 1
        elif m.type in ("note_on", "note_off") and held.get((m.channel, m.note)):
            held[(m.channel, m.note)] -= 1
    return [k for k, n in held.items() if n]


def test_held_notes_get_their_note_offs_after_a_preset_change():
    # Preset 2: Keystep (B, here on ch 5) -> Minitaur out 4 on ch 1; DT ch 2 -> Rev2 out 3.
    # Preset 3: Keystep -> Rev2 on ch 2; DT ch 1 -> Minitaur; DT ch 2 goes nowhere.
    sim = Simulation(preset=2)
    sim.play("B", [(200_000, bytes([0x94, 60, 90])), (1_000_000, bytes([0x84, 60, 0]))])
    sim.play("A", [(300_000, bytes([0x91, 48, 90])), (1_000_000, bytes([0x91, 48, 0]))])
    sim.press("P3", 0.5, 0.1)
    sim.run(until_us=1_500_000)
    assert [c["preset"] for c in sim.summary()["preset_changes"]] == [3]
    outs = sim.outputs()
    out4 = msg_bytes(messages(outs["4"]))
    out3 = msg_bytes(messages(outs["3"]))
    assert out4 == [(0x90, 60, 90), (0x80, 60, 0)]  # the rewritten channel, both ways
    assert out3[0] == (0x91, 48, 90)
    assert (0x91, 48, 0) in out3 or (0x81, 48, 0) in out3
    for port in ALL_OUTPUTS:
        assert unmatched_note_ons(outs[port]) == [], port


# ---- NVM: the last chosen preset survives a power cycle ------------------------------------------


def test_chosen_preset_is_saved_when_idle_and_read_at_boot():
    sim = Simulation(preset=1)
    sim.press("P3", 0.5, 0.1)
    sim.run(until_us=2_000_000)
    assert sim.chip.nvm_writes == 0  # not while the box was just used (idle < 2 s)
    sim.run(until_us=4_000_000)
    record = bytes(sim.chip.nvm[0:3])
    assert record == bytes([NVM_MAGIC, 2, 2 ^ 0xA5])
    assert sim.chip.nvm_writes == 1
    # power cycle: a new chip with the same flash, no preset given
    flash = bytes(sim.chip.nvm)

    def same_flash(chip):
        chip.nvm[:] = flash

    again = booted_with(same_flash, preset=None)
    assert again.app.router.preset_index == 2
    again.run(until_us=500_000)
    assert lit_preset_leds(again, 400_000) == ["P3"]
    assert again.chip.nvm_writes == 0  # nothing changed: no flash write


@pytest.mark.parametrize(
    "record",
    [
        bytes([NVM_MAGIC, 2, 2 ^ 0xA5 ^ 1]),  # torn: check byte wrong
        bytes([0x35, 2, 2 ^ 0xA5]),  # wrong magic
        bytes([NVM_MAGIC, 5, 5 ^ 0xA5]),  # preset 6 of a 5-preset file
        bytes([0xFF, 0xFF, 0xFF]),  # erased flash
    ],
    ids=["bad_check", "bad_magic", "out_of_range", "erased"],
)
def test_a_bad_nvm_record_falls_back_to_preset_1(record):
    def write_record(chip):
        chip.nvm[0:3] = record

    sim = booted_with(write_record, preset=None)
    assert sim.app.router.preset_index == 0
    assert sim.app.saved_preset == 0
    sim.run(until_us=500_000)
    assert lit_preset_leds(sim, 400_000) == ["P1"]
    # the firmware's read side, directly
    assert sim.module.nvm_read_preset(bytearray(record), 4) == 0
    assert sim.module.nvm_read_preset(bytearray([NVM_MAGIC, 3, 3 ^ 0xA5]), 4) == 3
    assert sim.module.nvm_read_preset(bytearray([NVM_MAGIC, 3, 3 ^ 0xA5]), 3) == 0


@pytest.mark.parametrize("with_start", [True, False], ids=["transport", "clock_only"])
def test_nvm_is_not_written_while_the_clock_runs(with_start):
    sim = Simulation(preset=1)
    clocks = clock_events(100_000, 240, start=with_start)  # 5 s of clock
    end_us = clocks[-1][0] + 1_000
    sim.play("A", clocks + ([(end_us, b"\xfc")] if with_start else []))
    sim.press("P2", 1.0, 0.1)
    sim.run(until_us=end_us)
    assert sim.chip.nvm_writes == 0  # a flash write would stall the clock for ~50 ms
    jitter = analysis.clock_jitter(sim.inputs()["A"], sim.outputs()["1"])
    assert len(jitter) == 239 and max(jitter) < 1_000
    sim.run(until_us=end_us + 3_000_000)  # stopped and quiet: now it is saved
    assert bytes(sim.chip.nvm[0:3]) == bytes([NVM_MAGIC, 1, 1 ^ 0xA5])
    assert sim.chip.nvm_writes == 1


# ---- safe default -------------------------------------------------------------------------------


BROKEN = {
    "bad_json": '{"version": 1, "presets": [{"name": "x" "routes": []}]}',
    "bad_output": '{"version": 1, "presets": [{"name": "x", "routes": '
                  '[{"from": "A", "to": ["1", "7"]}]}]}',
    "bad_channel": '{"version": 1, "presets": [{"name": "x", "routes": '
                   '[{"from": "B", "to": ["2"], "channels": [0]}]}]}',
}


def checker_errors(path) -> list[str]:
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "check.py"), str(path)],
                          capture_output=True, text=True, cwd=str(REPO), timeout=60)
    assert proc.returncode == 1
    return [line for line in (proc.stdout + proc.stderr).splitlines()
            if line.startswith(str(path) + ": ")]


def error_pattern_lit(t_us: int) -> bool:
    phase = ticks_ms_at(t_us) % 2000
    return phase < 600 and (phase // 100) % 2 == 0


@pytest.mark.parametrize("case", sorted(BROKEN) + ["missing"])
def test_broken_presets_boot_the_safe_default(tmp_path, capsys, case):
    path = tmp_path / "presets.json"
    if case != "missing":
        path.write_text(BROKEN[case])
    sim = Simulation(presets_path=path, preset=None)
    console = capsys.readouterr().out
    if case != "missing":
        expected = checker_errors(path)
        assert expected
        for line in expected:
            assert line in console  # the checker's words, with the file and the place
        if case != "bad_json":
            assert "presets[0].routes[0]." in console
    else:
        assert str(path) in console and "not found" in console
    assert "safe default" in console
    sim.play("A", [(100_000, bytes([0x90, 36, 100]))])
    sim.play("B", [(100_000, bytes([0xE4, 0, 80]))])
    sim.run(until_us=4_500_000)
    for port in ALL_OUTPUTS:
        got = sorted(msg_bytes(messages(sim.outputs()[port])))
        assert got == [(0x90, 36, 100), (0xE4, 0, 80)], port
    # P1..P4 flash three times every two seconds, together
    hist = {n: led_history(sim, n) for n in PRESET_LEDS}
    for name in PRESET_LEDS:
        assert hist[name] == hist["P1"], name
    samples = [t for t in range(500_000, 4_500_000, 10_000)
               if 40 <= ticks_ms_at(t) % 100 <= 90]  # LEDs refresh up to 25 ms late
    assert all(level_at(hist["P1"], t) == error_pattern_lit(t) for t in samples)
    flashes = [t for t in rising_edges(hist["P1"]) if 500_000 <= t < 4_500_000]
    assert len(flashes) == 6
    assert sim.summary()["drops"] == 0


def test_a_key_queue_that_never_empties_does_not_hold_the_loop():
    # A chattering contact keeps keypad queueing edges: one poll takes at most a full
    # queue's worth (the rest wait for the next poll), so the MIDI loop goes on.
    import engine_helpers  # noqa: F401 (puts lib/ on sys.path)
    from switchyard.panel import MAX_KEY_EVENTS, Panel

    class Chattering:
        asked = 0

        def get_into(self, event):
            Chattering.asked += 1
            event.key_number, event.pressed = 1, False  # P2 released, again and again
            return True

    class Keys:
        events = Chattering()

    class Event:
        key_number = 0
        pressed = False

    panel = Panel(Keys(), Event(), {})
    assert panel.poll(0, router=None) is False
    assert Chattering.asked == MAX_KEY_EVENTS
