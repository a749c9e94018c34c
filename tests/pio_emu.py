"""Cycle-accurate emulator of one RP2040 PIO state machine, and an 8N1 decoder for its pin.

Test helper: it runs real instruction words (as assembled by adafruit_pioasm) so that a
PIO program is checked against the hardware rules rather than against a behavioural model.
Every rule below follows the RP2040 datasheet, chapter 3 (PIO); the section numbers are the
RP2040 ones (the RP2350 datasheet repeats the same text in chapter 11, 3.x -> 11.x).

Time. One `tick()` is one state machine clock (one clock-enable pulse from the divider;
at 250 kHz from a 125 MHz clk_sys the divider is 500). `cycle` is the number of the next
tick. The pin level recorded for cycle n is the level driven after tick n, i.e. during
cycle n (the 2-cycle clk_sys pad pipeline is not modelled). CPU/DMA actions (put, get,
force) happen between ticks and are seen by tick `cycle`.

Supported (3.4): JMP (all 8 conditions), WAIT (gpio, pin, irq), IN (pins, x, y, null, isr,
osr), OUT (pins, x, y, null, pindirs, pc, isr, exec), PUSH/PULL (iffull/ifempty,
block/noblock), MOV (dest pins, x, y, exec, pc, isr, osr; source pins, x, y, null, status,
isr, osr; none/invert/bit-reverse), IRQ (set, clear, wait; local flags only), SET (pins,
x, y, pindirs); side-set with or without the enable bit, delay, wrap, 4-deep TX and RX
FIFOs, STATUS = TX or RX level < N (EXECCTRL_STATUS_SEL/STATUS_N), forced instructions
(SMx_INSTR), OUT/MOV EXEC.
Not modelled (NotImplementedError rather than a guess): autopull, autopush, FIFO joining,
MOV PINDIRS (reserved on RP2040, PIO version 0), other state machines, input
synchronisers (inputs are read without the 2-cycle latency of 3.5.6.3).
"""

_MASK = 0xFFFFFFFF

# Opcodes, bits 15:13 (3.4.1)
_JMP, _WAIT, _IN, _OUT, _PUSHPULL, _MOV, _IRQ, _SET = range(8)


def _reverse32(value):
    return int(f"{value & _MASK:032b}"[::-1], 2)


class Stall(Exception):
    """Raised inside an instruction that cannot complete on this cycle (3.2.4)."""


class StateMachine:
    """One PIO state machine with its own 32-word instruction memory and GPIO bank.

    Pins: one 32-bit bank; OUT, SET, side-set and IN each have a base (and OUT/SET a
    count), as PINCTRL does (3.5.6). `inputs` holds external levels for pins whose
    direction is input; a pin driven as output reads back its own level.
    `forced_in_delay` chooses what a forced instruction that coincides with a tick of a
    delay does (the datasheet does not say, see `force`): "pause" (the delay countdown
    loses that tick, the worst case) or "parallel" (the countdown goes on).
    """

    def __init__(
        self,
        program,
        *,
        origin=0,
        wrap_target=None,
        wrap=None,
        sideset_count=0,
        sideset_enable=False,
        out_base=0,
        out_count=1,
        set_base=0,
        set_count=1,
        sideset_base=0,
        in_base=0,
        jmp_pin=0,
        out_shift_right=True,
        in_shift_right=True,
        auto_pull=False,
        pull_threshold=32,
        auto_push=False,
        push_threshold=32,
        mov_status_type="txfifo",
        mov_status_n=0,
        initial_pins=0,
        initial_pindirs=0,
        trace_pin=0,
        forced_in_delay="pause",
    ):
        if auto_pull or auto_push:
            raise NotImplementedError("autopull/autopush are not modelled")
        if mov_status_type not in ("txfifo", "rxfifo"):
            raise NotImplementedError("mov_status_type must be txfifo or rxfifo on RP2040")
        if forced_in_delay not in ("pause", "parallel"):
            raise ValueError("forced_in_delay: 'pause' or 'parallel'")
        if len(program) + origin > 32:
            raise ValueError("program does not fit the 32-word instruction memory")
        side_bits = sideset_count + (1 if sideset_enable else 0)
        if side_bits > 5:
            raise ValueError("side-set uses at most 5 bits of the delay/side-set field")
        self.mem = [0] * 32
        for i, word in enumerate(program):
            # adafruit_pioasm assembles for address 0; relocate JMP targets as
            # pio_add_program does for a program loaded at `origin`.
            if origin and word >> 13 == _JMP:
                word = (word & ~0x1F) | ((word + origin) & 0x1F)
            self.mem[origin + i] = word
        self.origin = origin
        self.wrap_bottom = origin + (wrap_target or 0)
        self.wrap_top = origin + (len(program) - 1 if wrap is None else wrap)
        self.side_bits = side_bits
        self.sideset_count = sideset_count
        self.sideset_enable = sideset_enable
        self.delay_bits = 5 - side_bits
        self.out_base, self.out_count = out_base, out_count
        self.set_base, self.set_count = set_base, set_count
        self.sideset_base, self.in_base, self.jmp_pin = sideset_base, in_base, jmp_pin
        self.out_shift_right, self.in_shift_right = out_shift_right, in_shift_right
        self.pull_threshold = pull_threshold % 32 or 32
        self.push_threshold = push_threshold % 32 or 32
        self.status_tx = mov_status_type == "txfifo"
        self.status_n = mov_status_n
        self.forced_in_delay = forced_in_delay

        self.pc = origin
        self.x = self.y = self.isr = self.osr = 0
        self.isr_count = 0
        self.osr_count = 32  # empty after reset (3.5.4: the shift counter starts full)
        self.tx_fifo = []
        self.rx_fifo = []
        self.fifo_depth = 4
        self.rxstall = False
        self.irq = 0
        self.pins = initial_pins & _MASK
        self.pindirs = initial_pindirs & _MASK
        self.inputs = 0
        self._delay = 0
        self._exec_latch = None  # (instruction, is_forced) from OUT/MOV EXEC or a stalled force
        self._forced_on_tick = []
        self._irq_waiting = None
        self._in_tick = False
        self.cycle = 0
        self.trace_pin = trace_pin
        self.trace = [(0, self.pin_level(trace_pin))]
        # (tick, word) for every word pushed into the RX FIFO; the CPU can read it after it
        self.rx_log = []
        self.pull_log = []  # (tick, word) for every word pulled from the TX FIFO
        self.y_log = [(0, 0)]  # (first tick that sees the new value, value) when Y changes
        self.issue_log = []  # (cycle, address) of program instructions issued (not delays)
        self.log_issues = False

    # ---------------------------------------------------------------- CPU side

    def put(self, word):
        """Write one word to the TX FIFO (TXFx); False if it is full (the write would stall)."""
        if len(self.tx_fifo) >= self.fifo_depth:
            return False
        self.tx_fifo.append(word & _MASK)
        return True

    def get(self):
        """Read one word from the RX FIFO (RXFx), or None when it is empty."""
        return self.rx_fifo.pop(0) if self.rx_fifo else None

    def pin_level(self, pin):
        return (self.pins >> pin) & 1

    def force(self, instr, on_tick=False):
        """Write `instr` to SMx_INSTR (pio_sm_exec / rp2pio StateMachine.run).

        Datasheet 3.5.7 "Forced and EXEC'd Instructions": "When an instruction is written
        to the INSTR register, the state machine immediately decodes and executes that
        instruction, rather than the instruction it would have fetched from the PIO's
        instruction memory. The program counter does not advance, so on the next cycle
        (assuming the instruction forced into the INSTR interface did not stall) the state
        machine continues to execute its current program from the point where it left off,
        unless the written instruction itself manipulated PC. Delay cycles are ignored on
        instructions written to the INSTR register, and execute immediately, ignoring the
        state machine clock divider." and "Instructions written to the INSTR register are
        permitted to stall, in which case the state machine will latch this instruction
        internally until it completes."

        So the write does not wait for the divider. on_tick=False: the write lands on a
        clk_sys cycle without a clock-enable pulse (499 of 500 at divider 500): it executes
        now and the program loses no cycle. on_tick=True: it lands on the clock-enable
        cycle of the next tick and is executed instead of the instruction fetched there
        (PC does not advance, the program slips one cycle). If that tick falls inside a
        delay no fetch is displaced; the datasheet is silent on whether the delay count
        still advances, hence `forced_in_delay`.
        """
        if on_tick:
            self._forced_on_tick.append(instr & 0xFFFF)
            return
        before = self.pin_level(self.trace_pin)
        self._issue(instr & 0xFFFF, program=False, forced=True)
        self._record(before)

    # ---------------------------------------------------------------- running

    def run(self, cycles):
        for _ in range(cycles):
            self.tick()

    def tick(self):
        self._in_tick = True
        before = self.pin_level(self.trace_pin)
        if self._forced_on_tick:
            instr = self._forced_on_tick.pop(0)
            if self._delay and self.forced_in_delay == "parallel":
                self._delay -= 1
            self._issue(instr, program=False, forced=True)
        elif self._exec_latch is not None:
            instr, forced = self._exec_latch
            self._exec_latch = None
            self._issue(instr, program=False, forced=forced)
        elif self._delay:
            self._delay -= 1
        else:
            if self.log_issues:
                self.issue_log.append((self.cycle, self.pc))
            self._issue(self.mem[self.pc], program=True, forced=False)
        self._in_tick = False
        self.cycle += 1
        self._record(before, self.cycle - 1)

    def _record(self, before, cycle=None):
        level = self.pin_level(self.trace_pin)
        if level == before:
            return
        when = self.cycle if cycle is None else cycle
        if self.trace[-1][0] == when:
            self.trace[-1] = (when, level)
            if len(self.trace) > 1 and self.trace[-2][1] == level:
                self.trace.pop()
        else:
            self.trace.append((when, level))

    def _issue(self, instr, *, program, forced):
        """Execute one instruction. program: fetched from memory (PC advances, delay loads).
        Otherwise it is a forced or EXEC'd instruction (PC does not advance); forced ones
        also ignore their delay (3.5.7), EXEC'd ones keep it (3.4.5.2)."""
        side_delay = (instr >> 8) & 0x1F
        y_before = self.y
        try:
            jumped = self._execute(instr)
        except Stall:
            # 3.2.4: PC does not advance, delay does not start; 3.5.1: side-set still
            # takes effect. A stalled forced/EXEC'd instruction stays latched (3.5.7).
            if not program:
                self._exec_latch = (instr, forced)
            self._side_set(side_delay)
            return
        self._side_set(side_delay)
        if self.y != y_before:
            self.y_log.append((self.cycle + self._in_tick, self.y))
        if program and not jumped:
            self.pc = self.wrap_bottom if self.pc == self.wrap_top else (self.pc + 1) & 31
        if not forced and not self._is_exec_out(instr):
            self._delay = side_delay & ((1 << self.delay_bits) - 1)

    @staticmethod
    def _is_exec_out(instr):
        op = instr >> 13
        dest = (instr >> 5) & 7
        # 3.4.5.2 / 3.4.8.2: delay cycles on OUT EXEC and MOV EXEC are ignored.
        return (op == _OUT and dest == 7) or (op == _MOV and dest == 4)

    def _side_set(self, field):
        if not self.side_bits:
            return
        side = field >> self.delay_bits
        if self.sideset_enable:
            if not side >> self.sideset_count:
                return
            side &= (1 << self.sideset_count) - 1
        self._write_pins(side, self.sideset_base, self.sideset_count)

    def _write_pins(self, value, base, count):
        for i in range(count):
            pin = (base + i) & 31
            self.pins = (self.pins & ~(1 << pin)) | (((value >> i) & 1) << pin)

    def _write_pindirs(self, value, base, count):
        for i in range(count):
            pin = (base + i) & 31
            self.pindirs = (self.pindirs & ~(1 << pin)) | (((value >> i) & 1) << pin)

    def _read_pins(self):
        levels = (self.pins & self.pindirs) | (self.inputs & ~self.pindirs & _MASK)
        # 3.5.6.2: the IN bus is the GPIO levels right-rotated by IN_BASE.
        b = self.in_base & 31
        return ((levels >> b) | (levels << (32 - b))) & _MASK

    def _gpio(self, n):
        levels = (self.pins & self.pindirs) | (self.inputs & ~self.pindirs & _MASK)
        return (levels >> (n & 31)) & 1

    def _status(self):
        level = len(self.tx_fifo) if self.status_tx else len(self.rx_fifo)
        return _MASK if level < self.status_n else 0

    def _execute(self, instr):
        """Run the operation of `instr`; True if it wrote PC. Raises Stall."""
        op = instr >> 13
        arg = instr & 0xFF
        if op == _JMP:
            cond, addr = (arg >> 5) & 7, arg & 0x1F
            if cond == 0:
                take = True
            elif cond == 1:
                take = self.x == 0
            elif cond == 2:
                take = self.x != 0
                self.x = (self.x - 1) & _MASK
            elif cond == 3:
                take = self.y == 0
            elif cond == 4:
                take = self.y != 0
                self.y = (self.y - 1) & _MASK
            elif cond == 5:
                take = self.x != self.y
            elif cond == 6:
                take = self._gpio(self.jmp_pin) == 1
            else:
                take = self.osr_count < self.pull_threshold  # !OSRE
            if take:
                self.pc = addr
            return take
        if op == _WAIT:
            pol, src, index = (arg >> 7) & 1, (arg >> 5) & 3, arg & 0x1F
            if src == 0:
                met = self._gpio(index) == pol
            elif src == 1:
                met = self._gpio(self.in_base + index) == pol
            elif src == 2:
                flag = index & 7  # relative (bit 4) adds the SM number, 0 here
                met = ((self.irq >> flag) & 1) == pol
                if met and pol:
                    self.irq &= ~(1 << flag)
            else:
                raise NotImplementedError("WAIT source 11 is reserved on RP2040")
            if not met:
                raise Stall
            return False
        if op == _IN:
            src, count = (arg >> 5) & 7, arg & 0x1F or 32
            data = {0: None, 1: self.x, 2: self.y, 3: 0, 6: self.isr, 7: self.osr}.get(src, -1)
            if data == -1:
                raise NotImplementedError("IN source %d is reserved" % src)
            if data is None:
                data = self._read_pins()
            data &= (1 << count) - 1
            if self.in_shift_right:
                self.isr = ((self.isr >> count) | (data << (32 - count))) & _MASK
            else:
                self.isr = ((self.isr << count) | data) & _MASK
            self.isr_count = min(32, self.isr_count + count)
            return False
        if op == _OUT:
            dest, count = (arg >> 5) & 7, arg & 0x1F or 32
            mask = (1 << count) - 1
            if self.out_shift_right:
                data = self.osr & mask
                self.osr = (self.osr >> count) if count < 32 else 0
            else:
                data = (self.osr >> (32 - count)) & mask
                self.osr = (self.osr << count) & _MASK
            self.osr_count = min(32, self.osr_count + count)
            return self._write_dest(dest, data, count, mov=False)
        if op == _PUSHPULL:
            if arg & 0x1F:
                raise NotImplementedError("reserved PUSH/PULL bits set: %04x" % instr)
            if_flag, block = (arg >> 6) & 1, (arg >> 5) & 1
            if arg & 0x80:  # PULL (3.4.7)
                if if_flag and self.osr_count < self.pull_threshold:
                    return False
                if self.tx_fifo:
                    self.osr = self.tx_fifo.pop(0)
                    self.pull_log.append((self.cycle, self.osr))
                elif block:
                    raise Stall
                else:
                    self.osr = self.x  # noblock on empty FIFO: same as MOV OSR, X
                self.osr_count = 0
                return False
            # PUSH (3.4.6)
            if if_flag and self.isr_count < self.push_threshold:
                return False
            if len(self.rx_fifo) < self.fifo_depth:
                self.rx_fifo.append(self.isr)
                self.rx_log.append((self.cycle, self.isr))
            elif block:
                raise Stall
            else:
                self.rxstall = True  # FIFO unchanged, ISR still cleared
            self.isr = 0
            self.isr_count = 0
            return False
        if op == _MOV:
            dest, mop, src = (arg >> 5) & 7, (arg >> 3) & 3, arg & 7
            if src == 0:
                data = self._read_pins()
            elif src == 5:
                data = self._status()
            else:
                data = {1: self.x, 2: self.y, 3: 0, 6: self.isr, 7: self.osr}.get(src)
                if data is None:
                    raise NotImplementedError("MOV source %d is reserved" % src)
            if mop == 1:
                data = ~data & _MASK
            elif mop == 2:
                data = _reverse32(data)
            elif mop == 3:
                raise NotImplementedError("MOV operation 11 is reserved")
            if dest == 3:
                raise NotImplementedError("MOV PINDIRS is reserved on RP2040 (PIO version 0)")
            return self._write_dest(dest, data, 32, mov=True)
        if op == _IRQ:
            clear, wait, index = (arg >> 6) & 1, (arg >> 5) & 1, arg & 0x1F
            flag = index & 7
            if clear:
                self.irq &= ~(1 << flag)
                return False
            if wait and self._irq_waiting == flag:
                # Retry of a stalled IRQ WAIT: wait until the flag is cleared.
                if (self.irq >> flag) & 1:
                    raise Stall
                self._irq_waiting = None
                return False
            self.irq |= 1 << flag
            if wait:
                self._irq_waiting = flag
                raise Stall
            return False
        # SET (3.4.11)
        dest, data = (arg >> 5) & 7, arg & 0x1F
        if dest == 0:
            self._write_pins(data, self.set_base, self.set_count)
        elif dest == 1:
            self.x = data
        elif dest == 2:
            self.y = data
        elif dest == 4:
            self._write_pindirs(data, self.set_base, self.set_count)
        else:
            raise NotImplementedError("SET destination %d is reserved" % dest)
        return False

    def _write_dest(self, dest, data, count, *, mov):
        """OUT (mov=False) and MOV destinations. True if PC was written."""
        if mov:
            table = {0: "pins", 1: "x", 2: "y", 4: "exec", 5: "pc", 6: "isr", 7: "osr"}
        else:
            table = {0: "pins", 1: "x", 2: "y", 3: "null", 4: "pindirs", 5: "pc", 6: "isr",
                     7: "exec"}
        name = table[dest]
        if name == "pins":
            self._write_pins(data, self.out_base, self.out_count)
        elif name == "pindirs":
            self._write_pindirs(data, self.out_base, self.out_count)
        elif name == "x":
            self.x = data
        elif name == "y":
            self.y = data
        elif name == "pc":
            self.pc = data & 31
            return True
        elif name == "isr":
            self.isr = data
            self.isr_count = 0 if mov else count  # MOV: counter reset; OUT: set to count
        elif name == "osr":
            self.osr = data
            self.osr_count = 0  # MOV OSR: output shift counter reset, i.e. full
        elif name == "exec":
            # Executed on the next cycle from the instruction latch, PC not advanced then.
            self._exec_latch = (data & 0xFFFF, False)
        return False


def rp2pio_state_machine(program, init=(), **kwargs):
    """A StateMachine configured as rp2pio.StateMachine does for a 1-pin TX program:
    the pin is OUT, SET and side-set pin 0, driven, initially high; `init` words are
    forced (pio_sm_exec) before the program starts, as the `init` argument does."""
    kwargs.setdefault("initial_pins", 1)
    kwargs.setdefault("initial_pindirs", 1)
    sm = StateMachine(program, **kwargs)
    for word in init:
        sm.force(word)
    return sm


class Frame:
    """One decoded UART character."""

    def __init__(self, start, value, framing_error, skew):
        self.start = start  # cycle of the start bit's falling edge
        self.value = value
        self.framing_error = framing_error
        self.skew = skew  # largest distance (cycles) of an edge from the ideal bit grid

    def __repr__(self):
        flag = " FRAMING" if self.framing_error else ""
        return "Frame(%d, 0x%02X, skew=%d%s)" % (self.start, self.value, self.skew, flag)


def level_at(trace, cycle):
    """Pin level during `cycle` from a list of (cycle, level) changes."""
    level = trace[0][1]
    for when, value in trace:
        if when > cycle:
            break
        level = value
    return level


def decode_uart(trace, end, cycles_per_bit=8, data_bits=8):
    """Decode 8N1 (LSB first) from a pin trace up to cycle `end`.

    Hunts for a falling edge, checks the start bit is low for its whole bit time, samples
    each data bit in its middle, and checks the stop bit is high from its middle to its end
    (a framing error otherwise), then hunts again. `skew` is how far any edge inside the
    frame lies from the ideal grid start + k * cycles_per_bit (0 on a perfect line).
    """
    levels = []
    level = trace[0][1]
    changes = dict(trace)
    for c in range(end):
        level = changes.get(c, level)
        levels.append(level)
    half = cycles_per_bit // 2
    frame_len = (data_bits + 2) * cycles_per_bit
    frames = []
    c = 1
    while c < end:
        if not (levels[c - 1] == 1 and levels[c] == 0):
            c += 1
            continue
        start = c
        if start + frame_len > end:
            raise ValueError("frame starting at cycle %d runs past the trace end" % start)
        error = any(levels[start + i] for i in range(cycles_per_bit))
        value = 0
        for bit in range(data_bits):
            value |= levels[start + (bit + 1) * cycles_per_bit + half] << bit
        stop = start + (data_bits + 1) * cycles_per_bit
        if not all(levels[i] for i in range(stop + half, stop + cycles_per_bit)):
            error = True
        skew = 0
        for i in range(start + 1, stop + cycles_per_bit):
            if levels[i] != levels[i - 1]:
                offset = (i - start) % cycles_per_bit
                skew = max(skew, min(offset, cycles_per_bit - offset))
        frames.append(Frame(start, value, error, skew))
        c = stop + half + 1
    return frames
