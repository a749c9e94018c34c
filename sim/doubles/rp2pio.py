"""Double of `rp2pio` (StateMachine): the real PIO program runs, instruction by instruction.

The state machine executes the program's own instruction words with the RP2040 datasheet
rules (chapter 3.4: JMP, IN, OUT, PUSH, PULL, MOV, SET; side-set with or without the
enable bit; delays; wrap; OUT/MOV EXEC; forced instructions 3.5.7; MOV STATUS; sticky
TXSTALL/RXSTALL), one instruction per state machine clock at the frequency the clock
divider really gives (StateMachine.c: div256 = ceil(clk_sys * 256 / frequency), clk_sys
125 MHz on the RP2040, 150 MHz on the RP2350). The tick grid starts when the object is
created; a CPU or DMA write lands between ticks and is seen by the next one.

It is event driven, so a ten-minute simulation stays fast: delays are skipped in one
step; a stall, or an idle loop that only polls (the state at an instruction repeats with
nothing visible in between), is fast-forwarded until something from outside changes;
the virtual clock only gets an event where the program does something the firmware or
the DMA can see (a PULL, a PUSH, a stall flag) and where a byte on the wire completes.

The pins: every pin the program drives (OUT, SET and side-set ranges) is a MIDI line;
its levels are decoded as 8N1 at 31250 baud like a receiving instrument would (start bit
low in its middle, bits sampled mid-bit, stop bit high), and each byte is appended to
chip.wire_log[pin] as (time of the start bit's falling edge, byte) once its stop bit has
been sampled (304 us after the start). A frame with a bad stop bit is counted in
chip.tx_framing_errors[pin] and not logged.

CircuitPython behaviour ported from ports/raspberrypi/common-hal/rp2pio/StateMachine.c:
- construction: pins checked free ("GP6 in use"), the program introspected (missing pins
  raise the same ValueErrors; PULL -> TX FIFO, PUSH -> RX FIFO; a TX-only program gets a
  joined 8-word TX FIFO, compute_fifo_type/compute_fifo_depth), `init` forced in, the
  state machine placed like use_existing_program / pio_claim_free_sm_and_add_program:
  4 SMs and 32 instruction words per PIO block (2 blocks RP2040, 3 RP2350), a program
  shared when the same buffer is loaded again (program_id is its address); if it cannot
  be placed: RuntimeError("All state machines in use").
- write(): words into the TX FIFO (busy-waiting, on the virtual clock, while it is full),
  then -- _transfer() -- clear TXSTALL and spin until the TX FIFO is empty and, with
  wait_for_txstall=True (the default), until the SM stalls on an empty FIFO again.
  A program that never stalls on PULL would make that spin forever on the chip; here it
  raises RuntimeError.
- background_write(): common_hal_..._background_write and dma_complete_write ported:
  DMA moves words into the TX FIFO whenever it has room, reading the buffer at that
  moment; the completion interrupt switches buffers; the call blocks only while
  pending_write > 0. `writing` is True on a new StateMachine until a background write
  has completed (dma_completed_write starts false), pending_write counts the first
  buffer of a fresh DMA channel until it has been moved.
- run(): each word is forced (pio_sm_exec) at once, between two ticks, delay ignored,
  PC not advanced; a stalling one is latched and retried on the next ticks (a latched
  or EXEC'd instruction that falls in a delay takes that tick: the delay pauses, one of
  the two readings the datasheet leaves open). readinto(): pops RX words (busy-waits for
  missing ones); in_waiting = RX FIFO level.
A counter (a program whose X only counts down and goes only into ISR and PUSH, as
switchyard.usclock's; _x_only_counts) is run in whole periods: a loop whose state repeats
but for X is skipped in one step, X moved on by as many periods. Its pushes are events
only while a readinto waits for one; in_waiting and rxstall run it up to now; a read
(clear_rxfifo, readinto) is charged to the pass as kind "clock" and spins to the next push
without an event of its own.
Not modelled (NotImplementedError, never a guess): PIO inputs (WAIT, IN PINS, MOV from
PINS, JMP PIN), IRQ, autopull/autopush, background_read, write_readinto, RP2350-only
FIFO modes and MOV STATUS on IRQ. PIO pin levels do not go to chip.pin_history.
tests/test_sim_pio.py checks the wire, tick for tick, against tests/pio_emu.py.
"""

from __future__ import annotations

import array
import struct
from collections import deque

from sim.chip import NUM_GPIOS, PINS, Chip, Pin, current
from sim.doubles import DEINITED, check_pin

MASK32 = 0xFFFFFFFF
INSTRUCTION_MEMORY = 32
BIT_US = 32  # 31250 baud on the MIDI wire
STALL = object()
DRY_RUN_CYCLES = 200_000
QUIET_BEFORE_LOOP_SEARCH = 32  # instructions (_Core.run)


def _reverse32(value: int) -> int:
    return int(f"{value & MASK32:032b}"[::-1], 2)


def _words_of(program: object) -> tuple[int, ...]:
    raw = bytes(memoryview(program).cast("B"))  # type: ignore[arg-type]
    return struct.unpack(f"<{len(raw) // 2}H", raw[: len(raw) // 2 * 2])


def _program_id(program: object) -> int:
    if isinstance(program, array.array):
        return program.buffer_info()[0]
    if isinstance(program, memoryview):
        return id(program.obj)
    return id(program)


class _Config:
    """What the state machine's registers are set to (SMx_EXECCTRL, SHIFTCTRL, PINCTRL)."""

    def __init__(self, **kw: int | bool) -> None:
        self.__dict__.update(kw)
        side_bits = self.sideset_count + (1 if self.sideset_enable else 0)
        if side_bits > 5:
            raise ValueError("side-set uses at most 5 bits")
        self.delay_bits = 5 - side_bits
        self.side_bits = side_bits
        self._split_cache: dict[int, tuple[int | None, int]] = {}

    def split(self, word: int) -> tuple[int | None, int]:
        """(side-set value or None, delay) of an instruction word."""
        cached = self._split_cache.get(word)
        if cached is None:
            cached = self._split_cache[word] = self._split(word)
        return cached

    def _split(self, word: int) -> tuple[int | None, int]:
        field = (word >> 8) & 0x1F
        delay = field & ((1 << self.delay_bits) - 1)
        if not self.side_bits:
            return None, delay
        side = field >> self.delay_bits
        if self.sideset_enable:
            if not side >> self.sideset_count:
                return None, delay
            side &= (1 << self.sideset_count) - 1
        return side, delay


class _Core:
    """Registers, FIFOs and pins of one state machine; `cycle` is the next tick."""

    __slots__ = (
        "cfg", "mem", "pc", "x", "y", "isr", "isr_count", "osr", "osr_count", "delay",
        "latch", "tx", "rx", "pins", "pindirs", "txstall", "rxstall", "cycle", "enabled",
        "hooks", "ops", "last_change", "trace", "rx_watch",
    )

    def __init__(self, cfg: _Config, mem: tuple[int, ...], pins: int, pindirs: int) -> None:
        self.cfg = cfg
        self.mem = mem
        self.pc = cfg.wrap_bottom
        self.x = self.y = self.isr = self.osr = 0
        self.isr_count = 0
        self.osr_count = 32  # the output shift counter starts full: OSR empty (3.5.4)
        self.delay = 0
        self.latch: tuple[int, bool] | None = None  # (instruction, forced)
        self.tx: deque[int] = deque()
        self.rx: deque[int] = deque()
        self.pins = pins
        self.pindirs = pindirs
        self.txstall = False
        self.rxstall = False
        self.cycle = 0
        self.enabled = True
        self.ops = 0  # pulls, pushes and stall flags set: what the CPU or DMA can notice
        # a readinto() waits for a word: a counter's PUSH is an event only then (its RX
        # FIFO and RXSTALL are read through in_waiting/rxstall, which run it up to now)
        self.rx_watch = False
        self.last_change: int | None = None  # dry run: the last tick that moved a pin
        self.trace: list[tuple[int, int, int]] | None = None  # dry run: (tick, pins, dirs)
        self.hooks: StateMachine | None = None  # None in a dry run: no side effects

    def copy(self) -> _Core:
        other = _Core.__new__(_Core)
        for name in _Core.__slots__:
            setattr(other, name, getattr(self, name))
        other.tx = deque(self.tx)
        other.rx = deque(self.rx)
        other.hooks = None
        other.last_change = None
        other.trace = []
        return other

    def adopt(self, probe: _Core) -> None:
        """Take over the state a dry run reached (it executed exactly what we would)."""
        for name in _Core.__slots__:
            if name not in ("hooks", "trace", "last_change"):
                setattr(self, name, getattr(probe, name))

    REGS = (
        "pc", "x", "y", "isr", "isr_count", "osr", "osr_count", "delay", "latch", "pins",
        "pindirs", "txstall", "rxstall",
    )

    def dry_key(self) -> tuple:
        """Everything a dry run depends on: it stops before any PULL or PUSH that could
        move a word, so the FIFOs matter only through their levels (MOV STATUS)."""
        return (
            self.pc, self.x, self.y, self.isr, self.isr_count, self.osr, self.osr_count,
            self.delay, self.latch, self.pins, self.pindirs, self.txstall, self.rxstall,
            len(self.tx), len(self.rx), self.enabled, self.rx_watch,
        )

    def key(self) -> tuple:
        # FIFO contents are left out: within one search window they only change through a
        # PULL or PUSH, and those clear the window (self.ops).
        return (
            self.pc, self.x, self.y, self.isr, self.isr_count, self.osr, self.osr_count,
            self.latch, self.pins, self.pindirs,
        )

    # --- what an instruction would do, for the dry run ---------------------------------
    def visible(self, word: int) -> bool | None:
        """True: executing `word` now changes what the CPU/DMA can see. None: it stalls
        with nothing new to see (the SM is blocked until something outside changes)."""
        op = word >> 13
        if op == 4:  # PUSH / PULL
            if_flag, block = (word >> 6) & 1, (word >> 5) & 1
            if word & 0x80:  # PULL
                if if_flag and self.osr_count < self.cfg.pull_threshold:
                    return False
                if self.tx:
                    return True
                if block:
                    return None if self.txstall else True
                return False
            if if_flag and self.isr_count < self.cfg.push_threshold:
                return False
            if len(self.rx) < self.cfg.rx_depth:
                # a counter's pushes (_x_only_counts) matter only to a waiting readinto
                return self.rx_watch or not self.cfg.x_counts
            if block:
                return None if self.rxstall else True
            return not self.rxstall and not self.cfg.x_counts
        return False

    # --- execution --------------------------------------------------------------------
    def issue(self, word: int, program: bool, forced: bool, when: int | None) -> bool:
        """Execute one instruction at tick `when` (None: now, a forced instruction);
        False if it stalled."""
        cfg = self.cfg
        side, delay = cfg.split(word)
        pins_before = self.pins, self.pindirs
        result = self._execute(word, when)
        if side is not None:
            self._side_set(side)
        if result is STALL:
            if not program:
                self.latch = (word, forced)
            if (self.pins, self.pindirs) != pins_before:
                self._moved(when)
            return False
        if program and result is not True:
            self.pc = cfg.wrap_bottom if self.pc == cfg.wrap_top else self.pc + 1
        op, dest = word >> 13, (word >> 5) & 7
        exec_out = (op == 3 and dest == 7) or (op == 5 and dest == 4)
        if not forced and not exec_out:
            self.delay = delay
        if (self.pins, self.pindirs) != pins_before:
            self._moved(when)
        return True

    def _moved(self, when: int | None) -> None:
        if self.hooks is not None:
            self.hooks._pins_changed(when)
        elif when is not None:
            self.last_change = when
            if self.trace is not None:
                self.trace.append((when, self.pins, self.pindirs))

    def _side_set(self, side: int) -> None:
        cfg = self.cfg
        mask = ((1 << cfg.sideset_count) - 1) << cfg.sideset_base
        value = (side << cfg.sideset_base) & mask
        if cfg.sideset_pindirs:
            self.pindirs = (self.pindirs & ~mask) | value
        else:
            self.pins = (self.pins & ~mask) | value

    def _write_pins(self, value: int, base: int, count: int, dirs: bool = False) -> None:
        mask = ((1 << count) - 1) << base
        bits = (value << base) & mask
        if dirs:
            self.pindirs = (self.pindirs & ~mask) | bits
        else:
            self.pins = (self.pins & ~mask) | bits

    def _status(self) -> int:
        cfg = self.cfg
        level = len(self.tx) if cfg.status_tx else len(self.rx)
        return MASK32 if level < cfg.status_n else 0

    def _execute(self, word: int, when: int | None) -> object:
        """The operation of `word`: True if it wrote PC, STALL if it stalled."""
        cfg = self.cfg
        op = word >> 13
        arg = word & 0xFF
        if op == 0:  # JMP
            cond, addr = (arg >> 5) & 7, arg & 0x1F
            if cond == 0:
                take = True
            elif cond == 1:
                take = self.x == 0
            elif cond == 2:
                take = self.x != 0
                self.x = (self.x - 1) & MASK32
            elif cond == 3:
                take = self.y == 0
            elif cond == 4:
                take = self.y != 0
                self.y = (self.y - 1) & MASK32
            elif cond == 5:
                take = self.x != self.y
            elif cond == 7:
                take = self.osr_count < cfg.pull_threshold
            else:
                raise NotImplementedError("JMP PIN: PIO inputs are not simulated")
            if take:
                self.pc = addr
                return True
            return False
        if op == 2:  # IN
            src, count = (arg >> 5) & 7, arg & 0x1F or 32
            sources = {1: self.x, 2: self.y, 3: 0, 6: self.isr, 7: self.osr}
            if src not in sources:
                raise NotImplementedError(f"IN source {src} is not simulated")
            data = sources[src] & ((1 << count) - 1)
            if cfg.in_shift_right:
                self.isr = ((self.isr >> count) | (data << (32 - count))) & MASK32
            else:
                self.isr = ((self.isr << count) | data) & MASK32
            self.isr_count = min(32, self.isr_count + count)
            return False
        if op == 3:  # OUT
            dest, count = (arg >> 5) & 7, arg & 0x1F or 32
            mask = (1 << count) - 1
            if cfg.out_shift_right:
                data = self.osr & mask
                self.osr = (self.osr >> count) if count < 32 else 0
            else:
                data = (self.osr >> (32 - count)) & mask
                self.osr = (self.osr << count) & MASK32
            self.osr_count = min(32, self.osr_count + count)
            if dest == 0:
                self._write_pins(data, cfg.out_base, cfg.out_count)
            elif dest == 1:
                self.x = data
            elif dest == 2:
                self.y = data
            elif dest == 4:
                self._write_pins(data, cfg.out_base, cfg.out_count, dirs=True)
            elif dest == 5:
                self.pc = data & 31
                return True
            elif dest == 6:
                self.isr, self.isr_count = data, count
            elif dest == 7:
                self.latch = (data & 0xFFFF, False)
            return False
        if op == 4:  # PUSH / PULL
            if_flag, block = (arg >> 6) & 1, (arg >> 5) & 1
            if arg & 0x80:  # PULL (3.4.7)
                if if_flag and self.osr_count < cfg.pull_threshold:
                    return False
                if self.tx:
                    self.osr = self.tx.popleft()
                    self.osr_count = 0
                    self.ops += 1
                    if self.hooks is not None:
                        self.hooks._pulled()
                elif block:
                    if not self.txstall:
                        self.txstall = True
                        self.ops += 1
                    return STALL
                else:
                    self.osr = self.x
                    self.osr_count = 0
                return False
            if if_flag and self.isr_count < cfg.push_threshold:  # PUSH (3.4.6)
                return False
            if len(self.rx) < cfg.rx_depth:
                self.rx.append(self.isr)
                self.ops += 1
            elif block:
                self.ops += 1
                self.rxstall = True
                return STALL
            else:
                if not self.rxstall:  # dropped: seen only through the sticky flag
                    self.ops += 1
                self.rxstall = True
            self.isr = 0
            self.isr_count = 0
            return False
        if op == 5:  # MOV
            dest, mop, src = (arg >> 5) & 7, (arg >> 3) & 3, arg & 7
            if src == 5:
                data = self._status()
            elif src in (1, 2, 3, 6, 7):
                data = {1: self.x, 2: self.y, 3: 0, 6: self.isr, 7: self.osr}[src]
            else:
                raise NotImplementedError(f"MOV source {src} is not simulated")
            if mop == 1:
                data = ~data & MASK32
            elif mop == 2:
                data = _reverse32(data)
            elif mop == 3:
                raise NotImplementedError("MOV operation 11 is reserved")
            if dest == 0:
                self._write_pins(data, cfg.out_base, cfg.out_count)
            elif dest == 1:
                self.x = data
            elif dest == 2:
                self.y = data
            elif dest == 4:
                self.latch = (data & 0xFFFF, False)
            elif dest == 5:
                self.pc = data & 31
                return True
            elif dest == 6:
                self.isr, self.isr_count = data, 0
            elif dest == 7:
                self.osr, self.osr_count = data, 0
            else:
                raise NotImplementedError(f"MOV destination {dest} is not simulated")
            return False
        if op == 7:  # SET
            dest, data = (arg >> 5) & 7, arg & 0x1F
            if dest == 0:
                self._write_pins(data, cfg.set_base, cfg.set_count)
            elif dest == 1:
                self.x = data
            elif dest == 2:
                self.y = data
            elif dest == 4:
                self._write_pins(data, cfg.set_base, cfg.set_count, dirs=True)
            else:
                raise NotImplementedError(f"SET destination {dest} is reserved")
            return False
        raise NotImplementedError(
            "WAIT and IRQ are not simulated (no PIO inputs, no other state machines)"
        )

    def run(self, target: int, dry: bool = False) -> int | None:
        """Run the ticks before `target`. Dry run: stop at the first tick whose
        instruction would be visible and return it; return None if the SM is blocked or
        only loops; the dry run gives up (returning the tick reached) after its budget."""
        if not self.enabled:
            return None
        seen: dict[tuple, tuple[int, int]] = {}  # state key -> (tick, X)
        counts_x = self.cfg.x_counts
        mem = self.mem
        budget = self.cycle + DRY_RUN_CYCLES
        # Instructions since the pins or the FIFOs last moved: the search for a repeated
        # state starts only once the machine has been quiet a while, so a byte being
        # shifted out (whose state never repeats) pays no state key per instruction.
        # Skipping whole periods of a loop found later ends in the same state.
        # a counter (_x_only_counts) repeats within a few instructions: look at once
        fresh = QUIET_BEFORE_LOOP_SEARCH if counts_x else 0
        quiet = fresh
        while self.cycle < target:
            if dry and self.cycle >= budget:
                return self.cycle
            if self.latch is None and self.delay:
                step = min(self.delay, target - self.cycle)
                self.cycle += step
                self.delay -= step
                continue
            if self.latch is not None:
                word, forced = self.latch
                program = False
            else:
                word, forced, program = mem[self.pc], False, True
            if dry:
                vis = self.visible(word)
                if vis:
                    return self.cycle
            if quiet >= QUIET_BEFORE_LOOP_SEARCH:
                key = self.key()
                if counts_x:
                    key = key[:1] + key[2:]  # a counter's loop repeats but for X
                first = seen.get(key)
                if first is not None:
                    if dry:
                        return None  # the state repeats: it only polls (or counts) on
                    period = self.cycle - first[0]
                    loops = (target - self.cycle) // period
                    self.cycle += loops * period
                    # X moves on by as much each period (nothing else does: _x_only_counts);
                    # in any other program the key holds X, so the step is 0
                    self.x = (self.x + loops * ((self.x - first[1]) & MASK32)) & MASK32
                    seen.clear()
                    if self.cycle >= target:
                        break
                else:
                    if len(seen) > 512:
                        seen.clear()
                    seen[key] = (self.cycle, self.x)
            if self.latch is not None:
                self.latch = None
            ops, pins, pindirs = self.ops, self.pins, self.pindirs
            self.issue(word, program, forced, self.cycle)
            self.cycle += 1
            if self.ops != ops or self.pins != pins or self.pindirs != pindirs:
                seen.clear()
                quiet = fresh
            else:
                quiet += 1
        return self.cycle


class _TickClock:
    """Exact times in units of 1/256 clk_sys cycle (the divider's resolution): tick n is at
    base_time + (n - base_cycle) * div256 units; `per_us` units make one microsecond."""

    def __init__(self, per_us: int, now_us: int, div256: int) -> None:
        self.per_us = per_us
        self.base_time = now_us * per_us
        self.base_cycle = 0
        self.div256 = div256

    def rebase(self, now_us: int, cycle: int, div256: int) -> None:
        self.base_time = now_us * self.per_us
        self.base_cycle = cycle
        self.div256 = div256

    def time(self, cycle: int) -> int:
        return self.base_time + (cycle - self.base_cycle) * self.div256

    def units(self, t_us: int) -> int:
        return t_us * self.per_us

    def us_ceil(self, units: int) -> int:
        return -(-units // self.per_us)

    def first_after(self, t_us: int) -> int:
        """The first tick later than t_us."""
        n = (t_us * self.per_us - self.base_time) // self.div256 + 1
        return self.base_cycle + max(0, n)


class _WireDecoder:
    """A MIDI receiver on one PIO pin: 8N1 at 31250 baud (times in _TickClock units)."""

    def __init__(self, chip: Chip, pin: int, clock: _TickClock, level: int) -> None:
        self.chip = chip
        self.pin = pin
        self.clock = clock
        self.log = chip.wire_log[pin]
        t0 = clock.base_time
        self.changes: list[tuple[int, int]] = [(t0, level)]
        self.hunt_from = t0
        self.bit = BIT_US * clock.per_us

    def set(self, t: int, level: int) -> None:
        changes = self.changes
        if changes[-1][1] != level:
            if changes[-1][0] == t:
                changes[-1] = (t, level)
                if len(changes) > 1 and changes[-2][1] == level:
                    changes.pop()
            else:
                changes.append((t, level))

    def level_at(self, t: int) -> int:
        level = self.changes[0][1]
        for when, value in self.changes:
            if when > t:
                break
            level = value
        return level

    def _next_start(self) -> int | None:
        changes = self.changes
        if len(changes) < 2:
            return None
        prev = changes[0][1]
        for when, value in changes[1:]:
            if value == 0 and prev == 1 and when >= self.hunt_from:
                return when
            prev = value
        return None

    def deadline_us(self) -> int | None:
        start = self._next_start()
        return None if start is None else self.clock.us_ceil(start + self.bit * 19 // 2)

    def decode(self, now_us: int) -> None:
        now = now_us * self.clock.per_us
        bit = self.bit
        stop_sample = bit * 19 // 2
        while True:
            start = self._next_start()
            if start is None or start + stop_sample > now:
                break
            if self.level_at(start + bit // 2):
                self.hunt_from = start + 1  # a glitch, not a start bit
                continue
            value = 0
            for k in range(8):
                value |= self.level_at(start + bit * (k + 1) + bit // 2) << k
            if self.level_at(start + stop_sample):
                self.log.append((self.clock.us_ceil(start), value))
            else:
                self.chip.tx_framing_errors[self.pin] += 1
            self.hunt_from = start + stop_sample
        # forget changes nobody will look at again
        keep = 0
        for i, (when, _) in enumerate(self.changes):
            if when <= self.hunt_from:
                keep = i
        if keep:
            del self.changes[:keep]


class _Buffer:
    """A buffer handed to background_write, read element by element when DMA moves it."""

    def __init__(self, obj: object) -> None:
        self.obj = obj
        view = memoryview(obj)  # type: ignore[arg-type]
        self.view = view if view.ndim == 1 else view.cast("B")
        self.stride = self.view.itemsize
        if self.stride > 4:
            raise ValueError("Buffer elements must be 4 bytes long or less")

    def __len__(self) -> int:
        return len(self.view)


def _low_bytes(obj: object) -> bytes:
    """The low byte of each element of a buffer handed to background_write (the bytes
    the transmitter program shifts out), for the runner's meter."""
    if obj is None:
        return b""
    return bytes(int(v) & 0xFF for v in _Buffer(obj).view.tolist())


def _element(value: int, stride: int, swap: bool) -> int:
    value = int(value) & ((1 << (8 * stride)) - 1)
    if swap and stride > 1:
        value = int.from_bytes(value.to_bytes(stride, "little"), "big")
    if stride == 1:
        value *= 0x01010101  # the bus replicates a byte write to all four lanes
    elif stride == 2:
        value *= 0x00010001
    return value


def _introspect(words: tuple[int, ...], what: str, has: dict, counts: dict) -> dict:
    """consider_instruction(): missing pins raise; which FIFOs the program uses."""
    out = {"tx": False, "rx": False, "out_loaded": False, "in_loaded": False}
    out_used = in_used = False
    for i, word in enumerate(words):
        op = word & 0xE000
        if op == 0x8000:
            if word & 0xE080 == 0x8000:  # push
                out["rx"] = out["in_loaded"] = True
            else:
                out["tx"] = out["out_loaded"] = True
        elif op == 0x0000 and (word & 0x00E0) >> 5 == 6 and not has["jmp"]:
            raise ValueError(f"Missing jmp_pin. {what}[{i}] jumps on pin")
        elif op == 0x4000:  # in
            if (word & 0x00E0) >> 5 == 0:
                if not has["in"]:
                    raise ValueError(f"Missing first_in_pin. {what}[{i}] shifts in from pin(s)")
                if word & 0x1F > counts["in"]:
                    raise ValueError(f"{what}[{i}] shifts in more bits than pin count")
            if counts["auto_push"]:
                out["rx"] = out["in_loaded"] = True
            in_used = True
        elif op == 0x6000:  # out
            if (word & 0x00E0) >> 5 in (0, 4):
                if not has["out"]:
                    raise ValueError(f"Missing first_out_pin. {what}[{i}] shifts out to pin(s)")
                if word & 0x1F > counts["out"]:
                    raise ValueError(f"{what}[{i}] shifts out more bits than pin count")
            if counts["auto_pull"]:
                out["tx"] = out["out_loaded"] = True
            out_used = True
        elif op == 0xE000:  # set
            if (word & 0x00E0) >> 5 in (0, 4) and not has["set"]:
                raise ValueError(f"Missing first_set_pin. {what}[{i}] sets pin(s)")
        elif op == 0xA000:  # mov
            dest = (word & 0x00E0) >> 5
            if dest == 0 and not has["out"]:
                raise ValueError(f"Missing first_out_pin. {what}[{i}] writes pin(s)")
            if word & 0x7 == 0 and not has["in"]:
                raise ValueError(f"Missing first_in_pin. {what}[{i}] reads pin(s)")
            if dest == 6:
                out["in_loaded"] = True
            elif dest == 7:
                out["out_loaded"] = True
    if in_used and not out["in_loaded"]:
        raise ValueError("Program does IN without loading ISR")
    if out_used and not out["out_loaded"]:
        raise ValueError("Program does OUT without loading OSR")
    return out


def _x_only_counts(words: tuple[int, ...], bottom: int, top: int) -> bool:
    """X is a counter and nothing else: only `jmp x--` to the next instruction changes
    it, and it goes only into ISR (IN, MOV ISR), which only PUSH reads. A loop of such a
    program whose state repeats but for X repeats for ever with X moving by the same
    amount each time, so _Core.run may skip whole periods of it (a free-running counter:
    switchyard.usclock)."""
    for i, word in enumerate(words):
        op, dest, src = word >> 13, (word >> 5) & 7, word & 7
        if op == 0:  # JMP
            nxt = bottom if i == top else i + 1
            if dest in (1, 5) or (dest == 2 and word & 0x1F != nxt):
                return False
        elif op == 3 and dest in (1, 5, 7):  # OUT X, PC, EXEC
            return False
        elif op == 5:  # MOV
            if dest == 1 or (src == 1 and dest != 6) or src == 6 or dest in (4, 5):
                return False
        elif op == 7 and dest == 1:  # SET X
            return False
    return True


def _unsupported(words: tuple[int, ...], what: str) -> str | None:
    for i, word in enumerate(words):
        op = word >> 13
        if op == 1:
            return f"{what}[{i}] is a WAIT (PIO inputs are not simulated)"
        if op == 6:
            return f"{what}[{i}] is an IRQ (other state machines are not simulated)"
        if op == 0 and (word >> 5) & 7 == 6:
            return f"{what}[{i}] is a JMP PIN (PIO inputs are not simulated)"
        if op == 2 and (word >> 5) & 7 == 0:
            return f"{what}[{i}] is an IN PINS (PIO inputs are not simulated)"
        if op == 5 and word & 7 == 0:
            return f"{what}[{i}] is a MOV from PINS (PIO inputs are not simulated)"
    return None


class StateMachine:
    """rp2pio.StateMachine (see the module docstring)."""

    def __init__(
        self,
        program: object,
        frequency: int,
        *,
        pio_version: int = 0,
        may_exec: object = None,
        init: object = None,
        first_out_pin: Pin | None = None,
        out_pin_count: int = 1,
        initial_out_pin_state: int = 0,
        initial_out_pin_direction: int = 0xFFFFFFFF,
        first_in_pin: Pin | None = None,
        in_pin_count: int = 1,
        pull_in_pin_up: int = 0,
        pull_in_pin_down: int = 0,
        first_set_pin: Pin | None = None,
        set_pin_count: int = 1,
        initial_set_pin_state: int = 0,
        initial_set_pin_direction: int = 0x1F,
        first_sideset_pin: Pin | None = None,
        sideset_pin_count: int = 1,
        sideset_pindirs: bool = False,
        initial_sideset_pin_state: int = 0,
        initial_sideset_pin_direction: int = 0x1F,
        sideset_enable: bool = False,
        jmp_pin: Pin | None = None,
        jmp_pin_pull: object = None,
        exclusive_pin_use: bool = True,
        auto_pull: bool = False,
        pull_threshold: int = 32,
        out_shift_right: bool = True,
        wait_for_txstall: bool = True,
        auto_push: bool = False,
        push_threshold: int = 32,
        in_shift_right: bool = True,
        user_interruptible: bool = True,
        wrap_target: int = 0,
        wrap: int = -1,
        offset: int = -1,
        fifo_type: str = "auto",
        mov_status_type: str = "txfifo",
        mov_status_n: int = 0,
    ) -> None:
        chip = current()
        self._chip: Chip = chip
        self._deinited = True
        words = _words_of(program)
        init_words = _words_of(init) if init is not None else ()
        may_exec_words = _words_of(may_exec) if may_exec is not None else ()
        if not 1 <= len(words) <= INSTRUCTION_MEMORY:
            raise ValueError(f"program length must be 1-{INSTRUCTION_MEMORY}")
        pins: list[Pin] = []
        groups = (
            (first_out_pin, out_pin_count, "first_out_pin"),
            (first_in_pin, in_pin_count, "first_in_pin"),
            (first_set_pin, set_pin_count, "first_set_pin"),
            (first_sideset_pin, sideset_pin_count, "first_sideset_pin"),
            (jmp_pin, 1, "jmp_pin"),
        )
        for first, count, name in groups:
            if first is None:
                continue
            check_pin(first, name)
            for i in range(int(count)):
                number = first._number + i
                if number >= NUM_GPIOS:
                    raise ValueError("Pin count too large")
                pin = PINS[number]
                shared = chip._claims.get(number) == "rp2pio"
                if (exclusive_pin_use or not shared) and not chip.is_free(pin):
                    raise ValueError(f"{pin._name} in use")
                if pin not in pins:
                    pins.append(pin)
        has = {
            "out": first_out_pin is not None,
            "in": first_in_pin is not None,
            "set": first_set_pin is not None,
            "jmp": jmp_pin is not None,
        }
        counts = {"out": out_pin_count, "in": in_pin_count, "auto_pull": auto_pull,
                  "auto_push": auto_push}
        fifos = {"tx": False, "rx": False}
        for what, code in (("program", words), ("init", init_words), ("may_exec", may_exec_words)):
            found = _introspect(code, what, has, counts)
            fifos["tx"] = fifos["tx"] or found["tx"]
            fifos["rx"] = fifos["rx"] or found["rx"]
        if wrap != -1 and not 0 <= wrap <= len(words) - 1:
            raise ValueError(f"wrap must be -1-{len(words) - 1}")
        if not 0 <= wrap_target <= len(words) - 1:
            raise ValueError(f"wrap_target must be 0-{len(words) - 1}")
        for what, code in (("program", words), ("init", init_words), ("may_exec", may_exec_words)):
            problem = _unsupported(code, what)
            if problem:
                raise NotImplementedError("rp2pio double: " + problem)
        if auto_pull or auto_push:
            raise NotImplementedError("rp2pio double: autopull/autopush are not simulated")
        if fifo_type not in ("auto", "txrx", "tx", "rx"):
            raise NotImplementedError(f"rp2pio double: fifo_type {fifo_type!r} is not simulated")
        if mov_status_type not in ("txfifo", "rxfifo"):
            raise NotImplementedError(f"rp2pio double: mov_status_type {mov_status_type!r}")
        join = fifo_type
        if fifo_type == "auto":  # compute_fifo_type()
            join = "tx" if not fifos["rx"] else ("rx" if not fifos["tx"] else "txrx")
        tx_depth = {"tx": 8, "rx": 0}.get(join, 4)
        rx_depth = {"tx": 0, "rx": 8}.get(join, 4)
        actual, div256 = self._divider(int(frequency))

        slot = self._place(_program_id(program), len(words), program)
        if slot is None:
            raise RuntimeError("All state machines in use")
        self._slot = slot
        for pin in pins:
            chip.claim(pin, "rp2pio")
        self._pins = pins
        self._has_tx = fifos["tx"]
        self._has_rx = fifos["rx"]
        self._tx_depth = tx_depth
        self._wait_for_txstall = bool(wait_for_txstall)
        self._in_shift_right = bool(in_shift_right)
        self._actual_frequency = actual

        def mask_and_shift(first: Pin | None, count: int, value: int) -> int:
            if first is None:
                return 0
            return (value & ((1 << count) - 1)) << first._number

        state = mask_and_shift(first_out_pin, out_pin_count, initial_out_pin_state)
        direction = mask_and_shift(first_out_pin, out_pin_count, initial_out_pin_direction)
        state |= mask_and_shift(first_set_pin, set_pin_count, initial_set_pin_state)
        direction |= mask_and_shift(first_set_pin, set_pin_count, initial_set_pin_direction)
        side_mask = mask_and_shift(first_sideset_pin, sideset_pin_count, 0x1F)
        state = (state & ~side_mask) | mask_and_shift(
            first_sideset_pin, sideset_pin_count, initial_sideset_pin_state
        )
        direction = (direction & ~side_mask) | mask_and_shift(
            first_sideset_pin, sideset_pin_count, initial_sideset_pin_direction
        )
        cfg = _Config(
            wrap_bottom=wrap_target,
            wrap_top=len(words) - 1 if wrap == -1 else wrap,
            sideset_count=sideset_pin_count if first_sideset_pin is not None else 0,
            sideset_enable=bool(sideset_enable),
            sideset_pindirs=bool(sideset_pindirs),
            sideset_base=first_sideset_pin._number if first_sideset_pin else 0,
            out_base=first_out_pin._number if first_out_pin else 0,
            out_count=out_pin_count if first_out_pin else 0,
            set_base=first_set_pin._number if first_set_pin else 0,
            set_count=set_pin_count if first_set_pin else 0,
            out_shift_right=bool(out_shift_right),
            in_shift_right=bool(in_shift_right),
            pull_threshold=int(pull_threshold) % 32 or 32,
            push_threshold=int(push_threshold) % 32 or 32,
            status_tx=mov_status_type == "txfifo",
            status_n=int(mov_status_n),
            rx_depth=rx_depth,
            x_counts=_x_only_counts(words, wrap_target, len(words) - 1 if wrap == -1 else wrap),
        )
        self._core = _Core(cfg, words, state, direction)
        self._core.hooks = self
        now = chip.clock.now_us
        self._clock = _TickClock(chip.clk_sys_hz * 256 // 1_000_000, now, div256)
        self._synced_at = -1
        self._decoders = {
            pin._number: _WireDecoder(chip, pin._number, self._clock, self._level(pin._number))
            for pin in pins
            if pin._number not in (first_in_pin._number if first_in_pin else -1,)
        }
        self._init_words = init_words
        self._sm_event: int | None = None
        self._wire_events: dict[int, int] = {}  # time -> clock handle
        self._epoch = 0  # bumped by every CPU action on the state machine
        self._memo: dict[tuple, tuple] = {}
        self._probe: tuple[_Core, int, int] | None = None  # (dry run, its start, epoch)
        self._active = False
        self._deinited = False
        self._offset_value = self._offset
        # background write (DMA) state, zeroed as the C object is
        self._dma_allocated = False
        self._dma_busy = False
        self._dma_completed = False
        self._pending = 0
        self._current: _Buffer | None = None
        self._next: list[_Buffer | None] = [None, None, None]
        self._cur_index = 0
        self._bg_stride = 0
        self._bg_swap = False
        self._last_write: object = None
        self._switched = False
        for word in init_words:
            self._force(word)
        self._reschedule()

    # --- placement, clock divider ----------------------------------------------------------
    def _divider(self, frequency: int) -> tuple[int, int]:
        clk = self._chip.clk_sys_hz
        if frequency == 0:
            frequency = clk
        frequency256 = clk * 256
        div256 = frequency256 // frequency if frequency > 0 else 0
        if div256 == 0 or div256 // 256 > 0x10000 or frequency > clk:
            raise ValueError("frequency out of range")
        if frequency256 % div256 > 0:
            div256 += 1
        return frequency256 // div256, div256

    def _place(self, pid: int, length: int, program: object) -> tuple[int, int] | None:
        blocks = self._chip._pio
        for b, block in enumerate(blocks):
            entry = block["programs"].get(pid)
            if entry is not None and entry["len"] == length and None in block["sms"]:
                sm = block["sms"].index(None)
                block["sms"][sm] = self
                entry["users"] += 1
                self._offset = entry["offset"]
                self._pid = pid
                return b, sm
        for b, block in enumerate(blocks):
            used = sum(e["len"] for e in block["programs"].values())
            if None in block["sms"] and used + length <= INSTRUCTION_MEMORY:
                sm = block["sms"].index(None)
                block["sms"][sm] = self
                self._offset = INSTRUCTION_MEMORY - used - length
                block["programs"][pid] = {
                    "len": length, "users": 1, "obj": program, "offset": self._offset,
                }
                self._pid = pid
                return b, sm
        return None

    # --- time: running the program up to now ------------------------------------------------
    def _level(self, number: int) -> int:
        core = getattr(self, "_core", None)
        if core is None:
            return 1
        if not (core.pindirs >> number) & 1:
            return 1  # not driven: the MIDI line rests at idle
        return (core.pins >> number) & 1

    def _pins_changed(self, when: int | None) -> None:
        if when is None:
            t = self._clock.units(self._chip.clock.now_us)
        else:
            t = self._clock.time(when)
        for number, decoder in self._decoders.items():
            decoder.set(t, self._level(number))

    def _pulled(self) -> None:
        self._dma_pump()

    def _sync(self, force: bool = False) -> None:
        """Execute every tick up to now, then decode the wire."""
        if self._deinited:
            return
        now = self._chip.clock.now_us
        if now == self._synced_at and not force:
            return
        self._synced_at = now
        core = self._core
        before = (core.ops, core.latch)
        target = self._clock.first_after(now)
        probe = self._probe
        if probe is not None and probe[2] == self._epoch and probe[1] == core.cycle:
            ahead = probe[0]
            if ahead.cycle <= target:
                # the dry run already executed these ticks: take its state and pin changes
                for tick, pins, dirs in ahead.trace or ():
                    core.pins, core.pindirs = pins, dirs
                    self._pins_changed(tick)
                core.adopt(ahead)
                self._probe = None
        core.run(target)
        for decoder in self._decoders.values():
            decoder.decode(now)
        if (core.ops, core.latch) != before:
            self._reschedule()
        else:
            self._schedule_wire()

    def _reschedule(self) -> None:
        """Schedule the next tick the CPU or DMA could see (found by a dry run)."""
        clock = self._chip.clock
        if self._sm_event is not None:
            clock.cancel(self._sm_event)
            self._sm_event = None
        self._active = False
        self._probe = None
        if not self._deinited and self._core.enabled:
            probe, stop = self._dry_run()
            start = self._core.cycle
            if stop is not None:
                self._probe = (probe, start, self._epoch)
                self._active = True
                at = max(clock.now_us, self._clock.us_ceil(self._clock.time(stop)))
                self._sm_event = clock.schedule(at, self._on_event)
            if probe.last_change is not None:
                # the pins will move before that: look at the wire once a frame has passed
                moved = self._clock.us_ceil(self._clock.time(probe.last_change))
                self._wire_at(moved + 10 * BIT_US)
        self._schedule_wire()

    def _dry_run(self) -> tuple[_Core, int | None]:
        """Run a copy of the state machine to its next visible tick (None: it only loops
        or is blocked). A program sends the same few bytes again and again, so results
        are remembered by state, relative to the starting tick."""
        core = self._core
        start = core.cycle
        key = core.dry_key()
        # a counter's state is new every time (X), and its dry runs push words: no memo
        memo = None if core.cfg.x_counts else self._memo.get(key)
        probe = core.copy()
        if memo is None:
            stop = probe.run(start + DRY_RUN_CYCLES + 1, dry=True)
            if core.cfg.x_counts:
                return probe, stop
            if len(self._memo) > 4096:
                self._memo.clear()
            self._memo[key] = (
                None if stop is None else stop - start,
                tuple(getattr(probe, name) for name in _Core.REGS),
                tuple((t - start, p, d) for t, p, d in probe.trace or ()),
                None if probe.last_change is None else probe.last_change - start,
            )
            return probe, stop
        offset, regs, trace, last = memo
        for name, value in zip(_Core.REGS, regs, strict=True):
            setattr(probe, name, value)
        probe.trace = [(start + t, p, d) for t, p, d in trace]
        probe.last_change = None if last is None else start + last
        if offset is None:
            return probe, None
        probe.cycle = start + offset
        return probe, probe.cycle

    def _schedule_wire(self) -> None:
        """A look at the wire when the next frame's stop bit has been sampled."""
        for decoder in self._decoders.values():
            due = decoder.deadline_us()
            if due is not None:
                self._wire_at(due)

    def _wire_at(self, at: int) -> None:
        at = max(self._chip.clock.now_us, at)
        if at not in self._wire_events:
            self._wire_events[at] = self._chip.clock.schedule(at, lambda: self._on_wire(at))

    def _on_event(self) -> None:
        self._sm_event = None
        self._sync(force=True)
        if self._sm_event is None:
            self._reschedule()

    def _on_wire(self, at: int) -> None:
        self._wire_events.pop(at, None)
        self._sync(force=True)

    def _check(self) -> Chip:
        """Before a call that acts on the state machine: run it up to now."""
        if self._deinited:
            raise ValueError(DEINITED)
        self._sync()
        self._epoch += 1
        return self._chip

    def _live(self) -> None:
        """Before a read-only query: the FIFOs, flags and DMA state only change at the
        ticks that have their own clock event, so they are exact already."""
        if self._deinited:
            raise ValueError(DEINITED)

    def _wait(self, what: str) -> None:
        """Busy-wait for the next event; raise if the state machine can never move."""
        if not self._active and not self._dma_busy:
            raise RuntimeError(
                f"rp2pio.StateMachine.{what} would spin forever on the chip: the state "
                "machine is stalled or idle and nothing can end the wait"
            )
        self._chip.wait_for_event("rp2pio.StateMachine." + what)
        self._sync()

    # --- lifetime -------------------------------------------------------------------------------
    def deinit(self) -> None:
        if self._deinited:
            return
        self._sync()
        self._dma_allocated = self._dma_busy = False
        self._current = None
        self._next = [None, None, None]
        self._pending = 0
        chip = self._chip
        for handle in [self._sm_event, *self._wire_events.values()]:
            if handle is not None:
                chip.clock.cancel(handle)
        self._sm_event = None
        self._wire_events = {}
        b, sm = self._slot
        block = chip._pio[b]
        block["sms"][sm] = None
        entry = block["programs"].get(self._pid)
        if entry is not None:
            entry["users"] -= 1
            if entry["users"] <= 0:
                del block["programs"][self._pid]
        for pin in self._pins:
            chip.release(pin)
        self._deinited = True

    def deinited(self) -> bool:
        return self._deinited

    def __enter__(self) -> StateMachine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.deinit()

    # --- CPU transfers -------------------------------------------------------------------------
    def _words(self, buffer: object, start: int, end: int | None, swap: bool) -> list[int]:
        view = memoryview(buffer)  # type: ignore[arg-type]
        if view.ndim != 1:
            view = view.cast("B")
        if view.itemsize > 4:
            raise ValueError("Buffer elements must be 4 bytes long or less")
        length = len(view)
        start, end, _ = slice(start, length if end is None else end).indices(length)
        stride = view.itemsize
        return [_element(v, stride, swap) for v in view[start:end].tolist()]

    def write(
        self, buffer: object, *, start: int = 0, end: int | None = None, swap: bool = False
    ) -> None:
        self._check()
        if not self._has_tx:
            raise RuntimeError("No out in program")
        words = self._words(buffer, start, end, swap)
        if not words:
            return
        core = self._core
        i = 0
        while True:
            while i < len(words) and len(core.tx) < self._tx_depth:
                core.tx.append(words[i])
                i += 1
            self._reschedule()
            if i >= len(words):
                break
            self._wait("write")
        core.txstall = False  # _transfer(): fdebug = stall_mask
        self._reschedule()
        while core.tx or (self._wait_for_txstall and not core.txstall):
            self._wait("write")

    def readinto(
        self, buffer: object, *, start: int = 0, end: int | None = None, swap: bool = False
    ) -> None:
        self._check()
        if not self._has_rx:
            raise RuntimeError("No in in program")
        view = memoryview(buffer)  # type: ignore[arg-type]
        if view.ndim != 1:
            view = view.cast("B")
        stride = view.itemsize
        length = len(view)
        start, end, _ = slice(start, length if end is None else end).indices(length)
        mask = (1 << (8 * stride)) - 1
        core = self._core
        for i in range(start, end):
            if not core.rx and core.cfg.x_counts:
                self._counter_wait()
            while not core.rx:
                self._wait("readinto")
            word = core.rx.popleft()
            self._reschedule()
            value = (word >> (32 - 8 * stride)) & mask if self._in_shift_right else word & mask
            if swap and stride > 1:
                value = int.from_bytes(value.to_bytes(stride, "little"), "big")
            view[i] = value

    def _counter_wait(self) -> None:
        """readinto() on a counter (_x_only_counts) with its RX FIFO empty: the CPU spins
        until the next PUSH, found by a dry run, without an event of its own (the wait is
        a microsecond or so; the loop's idle passes may still be skipped around it)."""
        core = self._core
        core.rx_watch = True
        try:
            _, stop = self._dry_run()
        finally:
            core.rx_watch = False
        if stop is None:
            return
        clock = self._chip.clock
        clock.advance_to(max(clock.now_us, self._clock.us_ceil(self._clock.time(stop))))
        self._sync(force=True)

    def write_readinto(self, *args: object, **kwargs: object) -> None:
        raise NotImplementedError("rp2pio double: write_readinto is not simulated")

    def background_read(self, *args: object, **kwargs: object) -> None:
        raise NotImplementedError("rp2pio double: background_read is not simulated")

    def _force(self, word: int) -> None:
        """pio_sm_exec(): execute now, between ticks; latched if it stalls."""
        core = self._core
        core.latch = None
        core.issue(word & 0xFFFF, program=False, forced=True, when=None)

    def run(self, instructions: object) -> None:
        self._chip.work("realtime")  # first: the clock moves to when the CPU gets here
        self._check()
        for word in _words_of(instructions):
            self._force(word)
        self._reschedule()

    # --- background write (DMA) -------------------------------------------------------------------
    def background_write(
        self,
        once: object = None,
        *,
        loop: object = None,
        loop2: object = None,
        swap: bool = False,
    ) -> None:
        # first: the clock moves to when the CPU gets here, then the machine runs up to it
        self._chip.work("write", _low_bytes(once), self)
        self._check()
        if not self._has_tx:
            raise RuntimeError("No out in program")
        infos: list[_Buffer | None] = []
        stride = 0
        for obj in (once, loop, loop2):
            if obj is None:
                infos.append(None)
                continue
            buf = _Buffer(obj)
            if stride and buf.stride != stride:
                raise ValueError("Mismatched data size")
            stride = buf.stride
            infos.append(buf if len(buf) else None)
        o, lp, l2 = infos
        self._switched = False
        pending = sum(1 for b in infos if b is not None)
        if o is None:
            if lp is None:
                o = lp = l2
            elif l2 is None:
                o = l2 = lp
            else:
                o, lp, l2 = lp, l2, lp
        elif lp is None:
            lp = l2
        elif l2 is None:
            l2 = lp
        if self._dma_allocated:
            if stride and stride != self._bg_stride:
                raise ValueError("Mismatched data size")
            if bool(swap) != self._bg_swap:
                raise ValueError("Mismatched swap flag")
            while self._pending:
                self._wait("background_write")
            chip = self._chip
            chip.disable_irq()  # common_hal_mcu_disable_interrupts(): the DMA IRQ waits
            try:
                self._next = [o, lp, l2]
                self._pending = pending
                if self._dma_completed and o is not None:
                    self._dma_complete_write()
                    self._dma_completed = False
            finally:
                chip.enable_irq()
            self._reschedule()
            return
        if o is None:
            return
        self._dma_allocated = True
        self._current = o
        self._next = [lp, l2, lp]
        self._pending = pending
        self._dma_completed = False
        self._bg_stride = stride
        self._bg_swap = bool(swap)
        self._cur_index = 0
        self._dma_busy = True
        self._chip.disable_irq()
        try:
            self._dma_pump()
        finally:
            self._chip.enable_irq()
        self._reschedule()

    def _dma_pump(self) -> None:
        """DMA: move words while the TX FIFO has room (DREQ)."""
        core = self._core
        while self._dma_busy and len(core.tx) < self._tx_depth:
            buf = self._current
            assert buf is not None
            core.tx.append(_element(buf.view[self._cur_index], buf.stride, self._bg_swap))
            self._cur_index += 1
            if self._cur_index >= len(buf):
                self._dma_busy = False
                self._chip.run_irq(self._dma_irq)

    def _dma_irq(self) -> None:
        if self._dma_allocated and not self._dma_busy and not self._deinited:
            self._dma_complete_write()

    def _dma_complete_write(self) -> None:
        finished = self._current
        n1, n2, n3 = self._next
        self._current = n1
        self._next = [n2, n3, n2]
        if self._current is not None:
            if self._pending > 0:
                self._pending -= 1
            self._cur_index = 0
            self._dma_busy = True
        else:
            self._dma_completed = True
            self._pending = 0
        if finished is not None:
            self._last_write = finished.obj
        self._switched = True
        if self._dma_busy:
            self._dma_pump()

    def stop_background_write(self) -> None:
        self._check()
        self._dma_allocated = False
        self._dma_busy = False
        self._current = None
        self._next = [None, None, None]
        self._pending = 0

    @property
    def writing(self) -> bool:
        self._live()
        return not self._dma_completed

    @property
    def pending_write(self) -> int:
        self._live()
        return self._pending

    @property
    def pending(self) -> int:
        return self.pending_write

    @property
    def last_write(self) -> object:
        self._check()
        last, self._last_write = self._last_write, None
        return last if last is not None else array.array("B")

    # --- status ---------------------------------------------------------------------------
    @property
    def in_waiting(self) -> int:
        self._live()
        self._sync()  # pushes are not events unless a readinto waits (_Core.rx_watch)
        return len(self._core.rx)

    def clear_rxfifo(self) -> None:
        if self._core.cfg.x_counts:
            # a read of a counter starts here (switchyard.usclock): first, the clock moves
            # to when the CPU gets here, so the words left after the clear are fresh
            self._chip.work("clock")
        self._check()
        self._core.rx.clear()
        self._core.rxstall = False
        self._reschedule()

    @property
    def txstall(self) -> bool:
        self._live()
        return self._core.txstall

    def clear_txstall(self) -> None:
        self._check()
        self._core.txstall = False
        self._reschedule()

    @property
    def rxstall(self) -> bool:
        self._live()
        self._sync()
        return self._core.rxstall

    @property
    def frequency(self) -> int:
        self._live()
        return self._actual_frequency

    @frequency.setter
    def frequency(self, value: int) -> None:
        self._check()
        self._actual_frequency, div256 = self._divider(int(value))
        self._clock.rebase(self._chip.clock.now_us, self._core.cycle, div256)
        self._reschedule()

    @property
    def offset(self) -> int:
        self._live()
        return self._offset_value

    @property
    def pc(self) -> int:
        self._check()
        return self._offset_value + self._core.pc

    @property
    def rxfifo(self) -> None:
        return None

    def stop(self) -> None:
        """Stop the state machine clock; it keeps its state and FIFOs."""
        self._check()
        self._core.enabled = False
        self._reschedule()

    def restart(self) -> None:
        """Back to the first instruction with a known state, init run again, clock on."""
        self._check()
        core = self._core
        core.pc = core.cfg.wrap_bottom
        core.isr = core.isr_count = 0
        core.osr_count = 32
        core.delay = 0
        core.latch = None
        core.enabled = True
        self._clock.rebase(self._chip.clock.now_us, core.cycle, self._clock.div256)
        for word in self._init_words:
            self._force(word)
        self._reschedule()


def pins_are_sequential(pins: list[Pin]) -> bool:
    numbers = [p._number for p in pins]
    return all(b == a + 1 for a, b in zip(numbers, numbers[1:], strict=False))
