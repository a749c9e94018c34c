"""The rp2pio double runs PIO programs like the chip does.

The cross-check runs the same words and the same DMA/CPU actions on tests/pio_emu.py (a
cycle-by-cycle emulator written independently for test_piotx.py) and compares what goes
on the wire, byte by byte and microsecond by microsecond.
"""

import random
import sys
from pathlib import Path

import adafruit_pioasm
import pytest

REPO = Path(__file__).resolve().parent.parent
if str(REPO / "lib") not in sys.path:
    sys.path.insert(0, str(REPO / "lib"))
if str(REPO) not in sys.path:
    sys.path.append(str(REPO))  # appended: the root code.py must not shadow stdlib `code`

import pio_emu  # noqa: E402
from switchyard import piotx  # noqa: E402

from sim import chip as chip_module  # noqa: E402
from sim.chip import Chip  # noqa: E402
from sim.doubles import board  # noqa: E402
from sim.doubles.rp2pio import StateMachine  # noqa: E402

CYCLE_US = 4  # 250 kHz from 125 MHz

ACK = adafruit_pioasm.Program(
    """
.program uart_tx_ack
.side_set 1 opt
    pull       side 1 [6]
    set x, 7   side 0 [7]
bitloop:
    out pins, 1
    jmp x-- bitloop [6]
    push noblock side 1
"""
)


@pytest.fixture
def chip():
    c = Chip()
    chip_module.install(c)
    yield c
    chip_module._current = None


def tx_sm(program, pin, **kw):
    """A one-pin transmitter configured as app.py and adafruit_pio_uart do."""
    kw.setdefault("frequency", 250_000)
    return StateMachine(
        program,
        first_out_pin=pin,
        first_sideset_pin=pin,
        initial_out_pin_state=1,
        initial_out_pin_direction=1,
        initial_sideset_pin_state=1,
        initial_sideset_pin_direction=1,
        sideset_enable=True,
        sideset_pin_count=1,
        **kw,
    )


def midi_sm(pin=None):
    return tx_sm(
        piotx.PROGRAM,
        pin or board.GP6,
        init=piotx.INIT,
    )


def test_ack_program_write_blocks_until_the_fifo_drains_and_counts_acks(chip):
    sm = tx_sm(ACK.assembled, board.GP6)
    chip.clock.advance(1001)
    sm.write(b"\x90\x3c\x64")
    # the first byte's pull happens on the next 4 us tick, its start bit 7 cycles later;
    # write() returns when the SM stalls on `pull` after the third byte's data bits
    waited = chip.clock.now_us - 1001
    assert 960 <= waited <= 964
    assert sm.in_waiting == 3  # one push as each stop bit began
    chip.clock.advance(100)
    log = chip.wire_log["GP6"]
    assert [b for _, b in log] == [0x90, 0x3C, 0x64]
    assert 28 <= log[0][0] - 1001 <= 32
    assert [b[0] - a[0] for a, b in zip(log, log[1:], strict=False)] == [320, 320]
    acks = bytearray(4)
    sm.readinto(acks, end=3)
    assert sm.in_waiting == 0


def test_background_write_never_advances_the_clock(chip):
    sm = midi_sm()
    buf = bytearray(range(0x10, 0x30))  # 32 bytes: far more than the 4-word FIFO
    t0 = chip.clock.now_us
    sm.background_write(buf)
    assert chip.clock.now_us == t0
    assert sm.writing and sm.pending_write == 1  # first buffer of a fresh DMA channel
    chip.clock.advance(40_000)
    assert not sm.writing and sm.pending_write == 0
    log = chip.wire_log["GP6"]
    assert bytes(b for _, b in log) == bytes(buf)
    assert {b[0] - a[0] for a, b in zip(log, log[1:], strict=False)} == {320}


def test_writing_reads_true_on_a_new_state_machine(chip):
    sm = midi_sm()
    assert sm.writing  # dma_completed_write starts false in StateMachine.c
    sm.background_write(b"\x90")
    chip.clock.advance(10)
    assert not sm.writing


def test_second_background_write_blocks_only_behind_a_queued_buffer(chip):
    sm = midi_sm()
    first, second, third = bytearray(b"\x01" * 10), bytearray(b"\x02" * 10), bytearray(b"\x03")
    sm.background_write(first)
    assert sm.pending_write == 1
    t0 = chip.clock.now_us
    sm.background_write(second)  # waits until DMA has moved all of `first`
    waited = chip.clock.now_us - t0
    # 10 words: 5 fit at once (FIFO 4 + the one pulled), one more per byte time after
    assert 4 * 320 <= waited <= 6 * 320
    t1 = chip.clock.now_us
    sm.background_write(third)  # `second` is running, nothing queued: no wait
    assert chip.clock.now_us == t1
    chip.clock.advance(10_000)
    assert bytes(b for _, b in chip.wire_log["GP6"]) == bytes(first + second + third)


def test_dma_reads_the_buffer_when_it_moves_the_word(chip):
    sm = midi_sm()
    buf = bytearray(b"\x40" * 10)
    sm.background_write(buf)
    buf[9] = 0x7F  # still in memory, not yet in the FIFO: the change goes out
    chip.clock.advance(10_000)
    assert [b for _, b in chip.wire_log["GP6"]][-1] == 0x7F


def test_realtime_request_jumps_the_queue(chip):
    sm = midi_sm()
    sm.background_write(bytearray(b"\x90\x3c\x64" * 4))
    chip.clock.advance(500)  # the second byte is on the wire
    sm.run(piotx.realtime_exec()[0xF8 & 7])
    chip.clock.advance(6_000)
    log = chip.wire_log["GP6"]
    assert [b for _, b in log][:4] == [0x90, 0x3C, 0xF8, 0x64]
    assert sm.in_waiting == 1  # the program pushes the code back when it sends F8
    acks = bytearray(1)
    sm.readinto(acks)
    assert sm.in_waiting == 0


def test_blocking_write_on_a_program_that_never_stalls_raises(chip):
    sm = midi_sm()
    with pytest.raises(RuntimeError, match="spin forever"):
        sm.write(b"\x90")  # TXSTALL never sets: the chip would hang here


def test_adafruit_pio_uart_write_blocks_about_three_byte_times(chip):
    """StateMachine.write spins until the FIFO is empty *and* the SM stalls on its next
    pull (wait_for_txstall=True, StateMachine.c _transfer), i.e. until the last byte's
    data bits are out: ~3 byte times for 3 bytes, not the 2 a FIFO-empty wait gives."""
    from sim.install import install_doubles

    install_doubles()
    sys.modules.pop("adafruit_pio_uart", None)
    import adafruit_pio_uart

    uart = adafruit_pio_uart.UART(tx=board.GP6, baudrate=31250)
    assert uart.baudrate == 31250
    t0 = chip.clock.now_us
    uart.write(b"\x90\x3c\x64")
    waited = chip.clock.now_us - t0
    assert 2 * 320 < waited <= 3 * 320 + 8
    chip.clock.advance(1000)
    assert [b for _, b in chip.wire_log["GP6"]] == [0x90, 0x3C, 0x64]
    uart.deinit()


def test_state_machines_run_out_like_on_the_chip(chip):
    pins = [chip.pin(f"GP{n}") for n in range(2, 12)]
    machines = [midi_sm(pin) for pin in pins[:8]]  # one shared program in each PIO block
    with pytest.raises(RuntimeError, match="All state machines in use"):
        midi_sm(pins[8])
    for sm in machines:
        sm.deinit()
    # a fresh copy of the 19-word program each time needs its own instruction memory
    import array

    copies = [tx_sm(array.array("H", piotx.PROGRAM), pins[k], init=piotx.INIT) for k in range(2)]
    with pytest.raises(RuntimeError, match="All state machines in use"):
        tx_sm(array.array("H", piotx.PROGRAM), pins[2], init=piotx.INIT)
    for sm in copies:
        sm.deinit()


def test_pico2_has_twelve_state_machines():
    c = Chip("raspberry_pi_pico2")
    chip_module.install(c)
    try:
        machines = [midi_sm(c.pin(f"GP{n}")) for n in range(2, 14)]
        with pytest.raises(RuntimeError, match="All state machines in use"):
            midi_sm(c.pin("GP14"))
        assert machines[0].frequency == 250_000  # 150 MHz divides exactly too
    finally:
        chip_module._current = None


def test_programs_with_inputs_are_refused_not_guessed(chip):
    rx = adafruit_pioasm.assemble("wait 0 pin 0\nin pins, 1\npush")
    with pytest.raises((NotImplementedError, ValueError)):
        StateMachine(rx, 250_000, first_in_pin=board.GP5)
    with pytest.raises(NotImplementedError, match="WAIT"):
        StateMachine(adafruit_pioasm.assemble("wait 1 irq 0"), 250_000)
    assert chip.is_free(board.GP5)


def test_frequency_is_what_the_divider_gives(chip):
    sm = StateMachine(adafruit_pioasm.assemble("pull\nout null, 32"), 300_001)
    assert sm.frequency == 125_000_000 * 256 // -(-(125_000_000 * 256) // 300_001)
    with pytest.raises(ValueError, match="frequency out of range"):
        StateMachine(adafruit_pioasm.assemble("pull\nout null, 32"), 200_000_000)


# --- cross-check against the cycle-by-cycle emulator -----------------------------------


def emulate(schedule_normal, schedule_rt, end_cycle):
    """pio_emu on piotx: DMA puts queued words whenever there is room; realtime requests
    are forced between ticks at their cycle. Returns [(start_us, byte)]."""
    sm = pio_emu.rp2pio_state_machine(
        piotx.PROGRAM,
        init=piotx.INIT,
        sideset_count=1,
        sideset_enable=True,
    )
    normal = list(schedule_normal)
    realtime = list(schedule_rt)
    queue = []
    while sm.cycle < end_cycle:
        while normal and normal[0][0] <= sm.cycle:
            queue.extend(normal.pop(0)[1])
        while realtime and realtime[0][0] <= sm.cycle:
            sm.force(piotx.SET_Y | piotx.realtime_code(realtime.pop(0)[1]))
        while queue and sm.put(queue[0] * 0x01010101):
            queue.pop(0)
        sm.get()
        sm.tick()
    frames = pio_emu.decode_uart(sm.trace, sm.cycle - 100, piotx.CYCLES_PER_BIT)
    assert not [f for f in frames if f.framing_error]
    return [(f.start * CYCLE_US, f.value) for f in frames]


def simulate(chip, schedule_normal, schedule_rt, end_cycle):
    sm = midi_sm()
    events = sorted(
        [(c, 0, data) for c, data in schedule_normal] + [(c, 1, b) for c, b in schedule_rt]
    )
    keep = []
    for cycle, kind, payload in events:
        # an action "at cycle c" lands between ticks c-1 and c
        chip.clock.advance_to(cycle * CYCLE_US - 2)
        if kind == 0:
            buf = bytearray(payload)
            keep.append(buf)
            sm.background_write(buf)
        else:
            sm.run(piotx.realtime_exec()[payload & 7])
        sm.readinto(bytearray(4), end=sm.in_waiting) if sm.in_waiting else None
    chip.clock.advance_to((end_cycle - 100) * CYCLE_US)
    return [(t, b) for t, b in chip.wire_log["GP6"] if t < (end_cycle - 100) * CYCLE_US - 400]


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_wire_matches_the_cycle_by_cycle_emulator(chip, seed):
    rng = random.Random(seed)
    normal, realtime, cycle = [], [], 10
    for _ in range(20):
        cycle += rng.choice([1, 3, 7, 40, 80, 150, 400])
        if rng.random() < 0.3:
            realtime.append((cycle, rng.choice([0xF8, 0xFA, 0xFC])))
            cycle += 90  # PioOut waits for the ack before the next request
        else:
            data = bytes(rng.randrange(0x80) for _ in range(rng.randint(1, 3)))
            normal.append((cycle, data))
            # no DMA buffer queued behind a running one: background_write never waits
            cycle += 80 * len(data)
    end = cycle + 3000
    expected = emulate(normal, realtime, end)
    expected = [(t, b) for t, b in expected if t < (end - 100) * CYCLE_US - 400]
    got = simulate(chip, normal, realtime, end)
    assert got == expected
    assert len(got) >= 10


def test_a_state_machine_made_after_a_clock_change_divides_the_new_clock(chip):
    from sim.doubles import microcontroller

    microcontroller.cpu.frequency = 200_000_000
    assert chip.clk_sys_hz == 200_000_000 and microcontroller.cpu.frequency == 200_000_000
    sm = midi_sm(board.GP2)
    assert sm.frequency == 250_000  # 200 MHz / 800 exactly
    # Made before a change, its bit time would be off on the chip: the double refuses.
    with pytest.raises(RuntimeError, match="baud rates were set from the old clock"):
        microcontroller.cpu.frequency = 125_000_000
    sm.deinit()
    microcontroller.cpu.frequency = 125_000_000
    assert chip.clk_sys_hz == 125_000_000


@pytest.mark.parametrize("hz", [199_999_000, 1_000, 300_000_000_000])
def test_a_clock_the_pll_cannot_make_is_refused_as_circuitpython_does(chip, hz):
    from sim.doubles import microcontroller

    with pytest.raises(ValueError, match="Invalid frequency"):
        microcontroller.cpu.frequency = hz
    assert chip.clk_sys_hz == 125_000_000


def test_the_pll_check_finds_the_clocks_pico_sdk_finds():
    from sim.doubles.microcontroller import pll_can_make

    # 12 MHz x fbdiv / (postdiv1 x postdiv2), VCO 750..1600 MHz
    for khz in (125_000, 133_000, 150_000, 200_000, 48_000, 250_000):
        assert pll_can_make(khz), khz
    for khz in (199_999, 201_000 + 500, 0, 1_700_000):
        assert not pll_can_make(khz), khz
