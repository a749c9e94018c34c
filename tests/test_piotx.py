"""switchyard.piotx: the documented PIO source is the shipped program, and its instruction
words, run on a cycle-accurate emulator of one RP2040 state machine (tests/pio_emu.py),
send 8N1 MIDI with realtime bytes jumping the queue.

Cycle conventions (pio_emu): a CPU/DMA action "at cycle t" happens between ticks and is
seen by the instruction issued at tick t; a frame's start is the tick that drives the
start bit low.
"""

import re
import sys
import textwrap
from pathlib import Path

import adafruit_pioasm
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parent.parent
if str(REPO / "lib") not in sys.path:
    sys.path.insert(0, str(REPO / "lib"))

import pio_emu  # noqa: E402
from switchyard import piotx  # noqa: E402

REALTIME = (0xF8, 0xFA, 0xFB, 0xFC, 0xFE, 0xFF)
BYTE = 80  # cycles from one start bit to the next, back to back
WAIT_LOOP = 0  # address of `mov x, y` (the per-byte decision)

# The timings the simulator's behavioural model needs (measured by the tests below).
FIFO_WRITE_TO_START = (3, 8)  # idle machine, min/max over the 6-cycle idle loop phase
Y_REQUEST_TO_START = (6, 11)  # idle machine, forced between ticks (divider > 1)
Y_REQUEST_ON_TICK_TO_START = (7, 12)  # forced on a clock-enable cycle: one cycle lost
START_TO_DECISION = 74  # start bit -> `mov x, y` deciding the next byte (both kinds)
RT_START_TO_Y_CLEARED = 40  # tick of `set y, 0`; Y reads 0 from the next tick
RT_START_TO_PUSH = 48  # tick of `push noblock`; the CPU can read the code after it
START_TO_STATUS = 77  # `pull noblock`: a word seen by this tick goes out back to back
RT_WORST_LATENCY = 85  # request seen just after the decision: wait for one pulled byte


def documented_source():
    """The `.program` block of piotx's docstring, dedented."""
    doc = piotx.__doc__
    assert doc is not None
    match = re.search(r"\n(    \.program .*?)\n\n", doc, re.S)
    assert match, "piotx docstring has no indented .program block"
    return textwrap.dedent(match.group(1))


def asm(line):
    return adafruit_pioasm.assemble(line)[0]


def new_sm(**kwargs):
    """The state machine app.py builds: TX pin is OUT and side-set pin, high at start,
    `.side_set 1 opt`, out_shift_right, mov_status txfifo < 1, init = INIT."""
    return pio_emu.rp2pio_state_machine(
        piotx.PROGRAM,
        init=piotx.INIT,
        sideset_count=piotx.SIDESET_PIN_COUNT,
        sideset_enable=True,
        out_shift_right=True,
        **kwargs,
    )


class Run:
    """Drive the state machine as PioOut does: DMA moves queued normal bytes into the
    TX FIFO whenever it has room; the CPU forces `set y, code` for a realtime byte once
    its request time has come and the previous one is acknowledged, and reads the RX
    FIFO acknowledgements."""

    def __init__(self, normal=(), realtime=(), on_tick=False, forced_in_delay="pause",
                 settle=0, origin=0):
        self.sm = new_sm(forced_in_delay=forced_in_delay, origin=origin)
        self.sm.log_issues = True
        self.sm.run(settle)
        self.normal = [(self.sm.cycle + t, b) for t, b in normal]
        self.realtime = [(self.sm.cycle + t, b) for t, b in realtime]
        self.on_tick = on_tick
        self.forced = []  # (cycle seen by, byte)
        self.acks = []  # (cycle read, word)
        self.busy = False

    def step(self):
        sm = self.sm
        while self.normal and self.normal[0][0] <= sm.cycle:
            # An 8-bit DMA write replicates the byte on all four lanes; only bits 0..7 go out.
            if not sm.put(self.normal[0][1] * 0x01010101):
                break
            self.normal.pop(0)
        word = sm.get()
        if word is not None:
            self.acks.append((sm.cycle, word))
            self.busy = False
        if self.realtime and not self.busy and self.realtime[0][0] <= sm.cycle:
            byte = self.realtime.pop(0)[1]
            sm.force(piotx.realtime_exec()[byte & 7][0], on_tick=self.on_tick)
            # On-tick, the instruction executes at this tick and Y is seen from the next.
            self.forced.append((sm.cycle + (1 if self.on_tick else 0), byte))
            self.busy = True
        sm.tick()

    def until_quiet(self, limit=20000):
        """Run until everything is sent and the line has idled for two byte times."""
        while self.sm.cycle < limit:
            self.step()
            if not (self.normal or self.realtime or self.busy or self.sm.tx_fifo):
                last = max(self.sm.trace[-1][0], self.sm.pull_log[-1][0] if self.sm.pull_log else 0)
                if self.sm.cycle > last + 2 * BYTE:
                    return self.frames()
        raise AssertionError("still busy at cycle %d" % self.sm.cycle)

    def frames(self):
        return pio_emu.decode_uart(self.sm.trace, self.sm.cycle, piotx.CYCLES_PER_BIT)


# ---------------------------------------------------------------- the words


def test_documented_source_assembles_to_program():
    program = adafruit_pioasm.Program(documented_source())
    assert list(program.assembled) == list(piotx.PROGRAM)
    assert len(piotx.PROGRAM) <= 32
    assert program.pio_kwargs.get("sideset_enable") is True
    assert program.pio_kwargs.get("sideset_pin_count") == piotx.SIDESET_PIN_COUNT


def test_init_and_set_y_words():
    assert list(piotx.INIT) == list(adafruit_pioasm.assemble("set y, 0"))
    assert [piotx.SET_Y] == list(adafruit_pioasm.assemble("set y, 0"))
    table = piotx.realtime_exec()
    for byte in REALTIME:
        code = piotx.realtime_code(byte)
        assert 0 < code < 32 and 0xF8 | (code & 7) == byte
        assert list(table[byte & 7]) == list(adafruit_pioasm.assemble("set y, %d" % code))
    assert piotx.FREQUENCY == piotx.BAUD * piotx.CYCLES_PER_BIT


def test_emulator_follows_side_set_and_stall_rules():
    # A blocking pull on an empty FIFO: its side-set applies while it stalls (3.5.1), its
    # delay starts only once the stall clears (3.2.4); `pull noblock` on an empty FIFO
    # copies X into the OSR (3.4.7).
    words = adafruit_pioasm.Program(
        ".side_set 1 opt\nset x, 5 side 1\npull side 0 [3]\nout y, 8 side 1\n"
        "pull noblock\nmov y, osr\nhang:\njmp hang"
    ).assembled
    sm = pio_emu.rp2pio_state_machine(words, sideset_count=1, sideset_enable=True)
    sm.run(5)
    assert sm.trace == [(0, 1), (1, 0)] and sm.pc == 1
    sm.put(0x1A7)
    sm.run(4)  # pull at tick 5, delay 6..8
    assert sm.y == 0 and sm.trace[-1] == (1, 0)
    sm.run(1)  # out y, 8 side 1 at tick 9
    assert sm.y == 0xA7 and sm.trace[-1] == (9, 1)
    sm.run(2)
    assert sm.y == 5


def test_emulator_instruction_semantics():
    # Forced instructions do not advance PC, so each jump shows in sm.pc (3.4.2, 3.4.10).
    sm = pio_emu.StateMachine([asm("jmp 0")], mov_status_type="txfifo", mov_status_n=2,
                              jmp_pin=3)
    for line in ("set x, 3", "mov y, ~x"):
        sm.force(asm(line))
    assert sm.y == 0xFFFFFFFC
    sm.force(asm("mov y, ::x"))
    assert sm.y == 0xC0000000
    sm.force(asm("jmp x!=y 5"))
    assert sm.pc == 5
    sm.force(asm("jmp x-- 6"))
    assert (sm.pc, sm.x) == (6, 2)
    sm.force(asm("set y, 2"))
    sm.force(asm("jmp x!=y 7"))
    sm.force(asm("jmp !y 7"))
    assert sm.pc == 6
    sm.force(asm("jmp y-- 8"))
    assert (sm.pc, sm.y) == (8, 1)
    sm.force(asm("mov x, null"))
    sm.force(asm("jmp x-- 9"))
    assert (sm.pc, sm.x) == (8, 0xFFFFFFFF)
    sm.force(asm("jmp !osre 10"))  # the OSR starts empty
    sm.force(asm("jmp pin 10"))  # GPIO 3 is an input, low
    assert sm.pc == 8
    sm.inputs = 1 << 3
    sm.force(asm("jmp pin 10"))
    assert sm.pc == 10
    assert sm.x == 0xFFFFFFFF and sm.put(asm("set x, 17")) and sm.put(7)
    sm.force(asm("mov x, status"))  # TX level 2, not < 2
    assert sm.x == 0
    sm.force(asm("pull"))
    sm.force(asm("jmp !osre 11"))
    assert sm.pc == 11
    sm.force(asm("mov x, status"))
    assert sm.x == 0xFFFFFFFF
    sm.force(asm("out exec, 16"))  # executed on the next cycle, PC not advanced (3.4.5)
    sm.tick()
    assert (sm.x, sm.pc) == (17, 11)
    sm.force(asm("pull"))
    sm.force(asm("in osr, 4"))
    sm.force(asm("push iffull"))  # 4 bits < threshold 32: nothing
    assert sm.rx_fifo == [] and sm.isr == 7 << 28
    sm.force(asm("push"))
    assert sm.get() == 7 << 28 and sm.isr == 0
    sm.force(asm("pull noblock"))  # empty TX FIFO: OSR = X
    assert sm.osr == 17
    sm.force(asm("mov pc, osr"))
    assert sm.pc == 17


# ---------------------------------------------------------------- normal bytes

# Any byte but the six realtime ones, so that decoded frames can be told apart.
NORMAL_BYTE = st.integers(0, 255).filter(lambda b: b not in REALTIME)


@settings(max_examples=25, deadline=None)
@given(
    data=st.lists(NORMAL_BYTE, min_size=1, max_size=10).map(bytes),
    gaps=st.lists(st.integers(0, 200), min_size=10, max_size=10),
    settle=st.integers(0, 7),
)
def test_normal_bytes_go_out_8n1_lsb_first(data, gaps, settle):
    times, t = [], 0
    for gap in gaps[: len(data)]:
        t += gap
        times.append(t)
    run = Run(normal=list(zip(times, data, strict=True)), settle=settle)
    frames = run.until_quiet()
    assert bytes(f.value for f in frames) == data
    assert not [f for f in frames if f.framing_error or f.skew]
    for a, b in zip(frames, frames[1:], strict=False):
        assert b.start - a.start >= BYTE


@pytest.mark.parametrize("origin", [0, 32 - len(piotx.PROGRAM)])
def test_back_to_back_bytes_are_80_cycles_apart(origin):
    data = bytes(range(0x30, 0x3C))
    run = Run(normal=[(0, b) for b in data], origin=origin)
    frames = run.until_quiet()
    assert bytes(f.value for f in frames) == data
    assert {b.start - a.start for a, b in zip(frames, frames[1:], strict=False)} == {BYTE}


def test_fifo_write_on_idle_machine_starts_within_8_cycles():
    latencies = set()
    for phase in range(8):
        run = Run(normal=[(0, 0x90)], settle=40 + phase)
        written = run.normal[0][0]
        frames = run.until_quiet()
        assert [f.value for f in frames] == [0x90]
        latencies.add(frames[0].start - written)
    assert (min(latencies), max(latencies)) == FIFO_WRITE_TO_START


def test_next_fifo_word_is_sampled_at_start_plus_77():
    # A word seen by `pull noblock` at s+77 goes out back to back (s+80); one written a
    # cycle later waits for the idle loop's next pull (s+86).
    probe = Run(normal=[(0, 0x21)], settle=40)
    s = probe.until_quiet()[0].start - 40
    for late, gap in ((0, BYTE), (1, BYTE + 6)):
        run = Run(normal=[(0, 0x21), (s + START_TO_STATUS + late, 0x22)], settle=40)
        frames = run.until_quiet()
        assert [f.value for f in frames] == [0x21, 0x22]
        assert frames[1].start - frames[0].start == gap
        assert (frames[0].start + START_TO_DECISION, WAIT_LOOP) in run.sm.issue_log


def test_line_idles_high_between_and_after_bytes():
    # (0xFF never goes through the FIFO: all ones means "empty"; it is realtime, via Y)
    run = Run(normal=[(0, 0x00), (0, 0x80), (300, 0x00), (700, 0xF7)], realtime=[(150, 0xF8)])
    frames = run.until_quiet()
    assert [f.value for f in frames] == [0x00, 0x80, 0xF8, 0x00, 0xF7]
    low = set()
    for f in frames:
        low.update(range(f.start, f.start + 9 * piotx.CYCLES_PER_BIT))
    for cycle in range(run.sm.cycle):
        if cycle not in low:
            assert pio_emu.level_at(run.sm.trace, cycle) == 1, cycle
    assert run.sm.trace[-1][1] == 1


# ---------------------------------------------------------------- realtime bytes


def check_realtime(run, frames, normal_bytes, busy_bound=BYTE + 8,
                   idle_bound=Y_REQUEST_ON_TICK_TO_START[1]):
    """Every realtime byte is the next byte decided after its request, ahead of every
    queued normal byte, acknowledged once after Y is cleared; nothing lost or changed."""
    sm = run.sm
    assert not [f for f in frames if f.framing_error]
    rt_frames = [f for f in frames if f.value in REALTIME]
    assert [f.value for f in rt_frames] == [b for _, b in run.forced]
    assert bytes(f.value for f in frames if f.value not in REALTIME) == normal_bytes
    pushes = list(sm.rx_log)
    assert [w for _, w in pushes] == [piotx.realtime_code(b) for _, b in run.forced]
    assert [w for _, w in run.acks] == [w for _, w in pushes]
    for (seen, _), frame, (push, _) in zip(run.forced, rt_frames, pushes, strict=True):
        i = frames.index(frame)
        # Decided at the first `mov x, y` at or after `seen`, 6 cycles before its start
        # bit: only bytes already committed (start <= seen + 5) go before it.
        assert all(f.start <= seen + 5 for f in frames[:i])
        before = frames[i - 1] if i else None
        if before is not None and before.start + BYTE + 8 > seen:
            assert frame.start - seen <= min(busy_bound, RT_WORST_LATENCY)
            assert frame.start >= before.start + BYTE
        else:
            assert frame.start - seen <= idle_bound
        assert push - frame.start == RT_START_TO_PUSH
        cleared = [c for c, y in sm.y_log if y == 0 and c > frame.start]
        assert cleared and cleared[0] == frame.start + RT_START_TO_Y_CLEARED + 1
        assert cleared[0] <= push


@settings(max_examples=40, deadline=None)
@given(
    data=st.lists(NORMAL_BYTE, min_size=3, max_size=10).map(bytes),
    requests=st.lists(
        st.tuples(st.integers(0, 400), st.sampled_from(REALTIME)), min_size=1, max_size=4
    ),
    on_tick=st.booleans(),
    forced_in_delay=st.sampled_from(["pause", "parallel"]),
)
def test_realtime_byte_jumps_the_queue(data, requests, on_tick, forced_in_delay):
    times, t = [], 0
    for gap, byte in requests:
        t += gap
        times.append((t, byte))
    run = Run(normal=[(0, b) for b in data], realtime=times, on_tick=on_tick,
              forced_in_delay=forced_in_delay)
    frames = run.until_quiet()
    check_realtime(run, frames, data)
    assert max(f.skew for f in frames) <= (1 if on_tick else 0)


@pytest.mark.parametrize("on_tick", [False, True])
def test_realtime_from_idle(on_tick):
    latencies = set()
    for byte in REALTIME:
        for phase in range(8):
            run = Run(realtime=[(0, byte)], settle=40 + phase, on_tick=on_tick)
            frames = run.until_quiet()
            check_realtime(run, frames, b"", idle_bound=16)
            latencies.add(frames[0].start - run.forced[0][0] + (1 if on_tick else 0))
    bounds = Y_REQUEST_ON_TICK_TO_START if on_tick else Y_REQUEST_TO_START
    assert (min(latencies), max(latencies)) == bounds


@pytest.mark.parametrize("first", [0x42, 0xFA])
def test_decision_point_is_start_plus_74(first):
    # After a byte (normal or realtime) starting at s, a request seen by tick s+74 goes
    # next; one seen by tick s+75 waits for the normal byte pulled at s+77.
    head_rt = [(0, first)] if first in REALTIME else []
    head = [] if head_rt else [(0, first)]
    probe = Run(normal=head, realtime=head_rt, settle=40)
    s = probe.until_quiet()[0].start - 40
    for offset, expect in ((START_TO_DECISION, [first, 0xFC, 0x10, 0x11]),
                           (START_TO_DECISION + 1, [first, 0x10, 0xFC, 0x11])):
        run = Run(normal=head + [(1, 0x10), (1, 0x11)],
                  realtime=head_rt + [(s + offset, 0xFC)], settle=40)
        frames = run.until_quiet()
        assert [f.value for f in frames] == expect
        start = frames[0].start
        assert (start + START_TO_DECISION, WAIT_LOOP) in run.sm.issue_log
        assert run.forced[-1][0] == start + offset
        rt = next(f for f in frames[1:] if f.value == 0xFC)
        assert rt.start - (start + offset) == (6 if offset == START_TO_DECISION
                                               else RT_WORST_LATENCY)
        check_realtime(run, frames, bytes(b for b in expect if b not in REALTIME))


@pytest.mark.parametrize("forced_in_delay", ["pause", "parallel"])
@pytest.mark.parametrize("rt_first", [False, True])
def test_forced_instruction_at_every_cycle_of_a_byte(forced_in_delay, rt_first):
    """`set y, code` forced at each tick of a byte in progress (inside delays or not).
    Between ticks (the usual case with divider 500) the line is untouched; on a clock-
    enable tick the program slips by at most one cycle, never a framing error."""
    for on_tick in (False, True):
        skews, gaps = set(), set()
        for offset in range(BYTE):
            head = [(0, 0xFE)] if rt_first else []
            run = Run(normal=([] if rt_first else [(0, 0x5A)]) + [(20, 0x33)],
                      realtime=head, settle=41, on_tick=on_tick,
                      forced_in_delay=forced_in_delay)
            while not run.sm.trace[-1][1] == 0:
                run.step()
            start = run.sm.trace[-1][0]
            while run.busy or run.sm.cycle < start + offset:
                run.step()
            run.realtime.append((run.sm.cycle, 0xFB))
            frames = run.until_quiet()
            first = 0xFE if rt_first else 0x5A
            assert frames[0].value == first and frames[0].start == start
            assert not [f for f in frames if f.framing_error]
            assert sorted(f.value for f in frames) == sorted([first, 0x33, 0xFB])
            check_realtime(run, frames, b"\x33" if rt_first else b"\x5a\x33")
            skews.update(f.skew for f in frames)
            gaps.update(b.start - a.start for a, b in zip(frames, frames[1:], strict=False))
        if on_tick:  # the slip exists (in the frame, or in the next start) and is 1 cycle
            assert max(skews) <= 1 and gaps == {BYTE, BYTE + 1}
        else:
            assert skews == {0} and gaps == {BYTE}


# ---------------------------------------------------------------- the hold (CLK's clear wire)


@pytest.mark.parametrize("hold_at", [0, 1, 30, 74, 75, 76, 79])
def test_a_hold_lets_the_byte_on_the_wire_end_and_starts_no_other(hold_at):
    """HOLD forced while a byte is on the wire: that byte ends whole, queued bytes wait
    (the line idles high), a realtime request then starts within Y_REQUEST_TO_START, and
    the queued bytes follow it back to back; RELEASE_EXEC without a request lets them go."""
    for release in (False, True):
        run = Run(normal=[(0, 0x90), (0, 0x3C), (0, 0x64), (0, 0x41)], settle=40)
        while run.sm.trace[-1][1] != 0:
            run.step()
        start = run.sm.trace[-1][0]
        while run.sm.cycle < start + hold_at:
            run.step()
        run.sm.force(piotx.HOLD_EXEC[0])
        seen = run.sm.cycle
        for _ in range(1000):
            run.step()
        frames = run.frames()
        # A hold seen by the decision point (start + 74) stops the next byte; later, one
        # more byte (already pulled) goes first.
        sent = 1 if hold_at <= START_TO_DECISION else 2
        assert [f.value for f in frames] == [0x90, 0x3C][:sent]
        assert not [f for f in frames if f.framing_error]
        last = run.sm.trace[-1]
        assert last[1] == 1 and last[0] <= frames[-1].start + 9 * piotx.CYCLES_PER_BIT
        assert run.sm.tx_fifo  # the rest waits in the FIFO
        assert seen + 1000 - frames[-1].start > BYTE
        t = run.sm.cycle
        if release:
            run.sm.force(piotx.RELEASE_EXEC[0])
            rest = run.until_quiet()
            assert [f.value for f in rest] == [0x90, 0x3C, 0x64, 0x41][:len(rest)]
            assert len(rest) == 4
            assert 3 <= rest[sent].start - t <= Y_REQUEST_TO_START[1]
            assert not run.sm.rx_log  # a hold and its end push nothing
        else:
            run.realtime.append((t, 0xF8))
            rest = run.until_quiet()
            values = [f.value for f in rest]
            assert values == [0x90, 0x3C][:sent] + [0xF8] + [0x3C, 0x64, 0x41][sent - 1:]
            rt = rest[sent]
            assert Y_REQUEST_TO_START[0] <= rt.start - t <= Y_REQUEST_TO_START[1]
            gaps = [b.start - a.start for a, b in zip(rest[sent:], rest[sent + 1:], strict=False)]
            assert gaps == [BYTE] * len(gaps)
            assert [w for _, w in run.sm.rx_log] == [piotx.realtime_code(0xF8)]


def test_hold_words():
    assert list(piotx.HOLD_EXEC) == list(adafruit_pioasm.assemble("set y, %d" % piotx.HOLD))
    assert list(piotx.RELEASE_EXEC) == list(adafruit_pioasm.assemble("set y, 0"))
    codes = {piotx.realtime_code(b) for b in REALTIME}
    assert piotx.HOLD not in codes and piotx.HOLD != 0
