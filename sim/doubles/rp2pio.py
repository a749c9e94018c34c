"""Double of `rp2pio` (StateMachine), following
ports/raspberrypi/common-hal/rp2pio/StateMachine.c.

A PIO program cannot be run here instruction by instruction; the double recognises known
programs by their instruction words and models them by behaviour, cycle-exact at the
state machine's actual frequency (the clock divider is computed as StateMachine.c does:
div256 = ceil(clk_sys * 256 / frequency); clk_sys 125 MHz RP2040, 150 MHz RP2350):

- switchyard_uart_tx_ack (the documented source of lib/switchyard/piotx.py, assembled
  here with adafruit_pioasm): 8N1 at frequency / 8 baud. A word pulled from idle starts
  its start bit 7 cycles later (28 us at 250 kHz); back-to-back bytes are 80 cycles
  (320 us) apart; as each stop bit begins the program pushes one word (0) into the 4-deep
  RX FIFO (push noblock: dropped, and rxstall set, when the RX FIFO is full); the next
  pull happens one cycle after that.
- adafruit_pio_uart's TX program (no CTS), assembled from the library's own source for
  5..9 bits (8 + parity = 9) and one stop bit: start bit 8 cycles after the pull, pull
  again as the stop bit begins; it has no RX FIFO.
Any other program raises NotImplementedError naming its words. The TX line must be both
first_out_pin and first_sideset_pin with `.side_set 1 opt` (sideset_enable=True,
sideset_pin_count=1), out_shift_right=True and auto_pull=False; other configurations
raise NotImplementedError rather than guess.

FIFOs: programs with both pull and push get 4 + 4 words; TX-only programs get a joined
8-word TX FIFO (compute_fifo_type/compute_fifo_depth). The SM holds one more word in its
OSR: a word written to an idle SM is pulled at once. Each byte's start time and value
(word & data mask) go to chip.wire_log[tx pin].

write(buffer, *, start, end, swap): puts words into the TX FIFO, busy-waiting (advancing
the virtual clock) while it is full, then -- as _transfer() does -- clears TXSTALL and
spins until the TX FIFO is empty AND, with wait_for_txstall=True (the default), the SM
has stalled on its next pull, i.e. until the last byte's data bits are out: for 3 bytes
from idle, 28 + 2 * 320 + 292 = 960 us on the ack program and 32 + 640 + 288 = 960 us
on adafruit_pio_uart.

background_write(once, *, loop, loop2, swap) ports common_hal_..._background_write and
rp2pio_statemachine_dma_complete_write: DMA moves words into the TX FIFO as room frees
(reading the buffer when it moves the word, so changing a buffer before DMA has read it
changes what is sent) and the DMA-complete interrupt switches to the next buffer. It
returns at once unless a buffer is already queued and not started (pending_write > 0),
then it busy-waits until it has started. pending_write / pending and writing report the
real flags: pending_write counts the first buffer of a fresh DMA channel until that
buffer has been moved completely, and writing (= not dma_completed) is True on a new
StateMachine until a first background write has completed.

readinto() pops RX FIFO words (busy-waiting for missing ones); in_waiting is the RX FIFO
level. Resources: pins are claimed as exclusive_pin_use requires ("GP6 in use"); state
machines and the 32-word instruction memory of each PIO block are allocated like
use_existing_program / pio_claim_free_sm_and_add_program_for_gpio_range (a program is
identified by its buffer, as the real program_id is its address), and a state machine
that cannot be placed raises RuntimeError("All state machines in use").
Left out: run(), background_read(), write_readinto() (NotImplementedError), the
clock-divider phase (an SM leaves a stall on its next clock edge; here at once), GPIO
levels of PIO pins in pin_history, stop() freezing mid-byte (stop() aborts the byte).
"""

from __future__ import annotations

import array
import math
import struct
from collections import deque
from fractions import Fraction

import adafruit_pioasm

from sim.chip import NUM_GPIOS, PINS, Chip, Pin, current
from sim.doubles import DEINITED, check_pin

ACK_SOURCE = """
.program switchyard_uart_tx_ack
.side_set 1 opt
    pull       side 1 [6]
    set x, 7   side 0 [7]
bitloop:
    out pins, 1
    jmp x-- bitloop [6]
    push noblock side 1
"""


def _pio_uart_tx_source(bitcount: int, stop: int) -> str:
    # adafruit_pio_uart.UART.__init__, tx without cts
    return (
        ".program uart_tx\n"
        + ".side_set 1 opt\n"
        + f"  pull side 1 [{stop * 8 - 1}]\n"
        + f"  set x, {bitcount - 1} side 0 [7]\n"
        + "bitloop:\n"
        + "  out pins, 1\n"
        + "  jmp x-- bitloop [6]\n"
    )


MIDI_TX_SOURCE = """
.program switchyard_midi_tx
.side_set 1 opt
wait_loop:
    jmp !y check_fifo      side 1
    set x, 2               side 1 [2]
    mov osr, y             side 0 [7]
rt_bits:
    out pins, 1
    jmp x-- rt_bits [6]
    mov isr, y             side 1 [7]
    set y, 0               side 1 [7]
    push noblock           side 1 [7]
    nop                    side 1 [7]
    nop                    side 1 [7]
    jmp wait_loop          side 1 [3]
check_fifo:
    mov x, status
    jmp !x have_data
    jmp wait_loop
have_data:
    pull                   side 1
    set x, 7               side 0 [7]
bitloop:
    out pins, 1
    jmp x-- bitloop [6]
    jmp wait_loop          side 1 [3]
"""
# switchyard_midi_tx timing in PIO cycles (tests/test_piotx.py measures them on an
# instruction-level emulator of the words): from a TX FIFO word or a Y request on an idle
# machine to the start bit; from a start bit to the `jmp !y` that picks the next byte, to
# the next start bit, and (realtime bytes) to Y cleared and to the RX push.
MIDI_IDLE_TO_START = 4
MIDI_IDLE_RT_TO_START = 5
MIDI_DECIDE = 76
MIDI_NEXT_START = 80
MIDI_Y_CLEARED = 40
MIDI_RT_PUSH = 48
SET_Y = 0xE040


class _Model:
    """Timing of one known program, in PIO cycles."""

    def __init__(
        self,
        name: str,
        pull_to_start: int,
        data_bits: int,
        next_pull: int,
        push_at: int | None,
        realtime_lane: bool = False,
    ) -> None:
        self.realtime_lane = realtime_lane  # switchyard_midi_tx: Y requests, mov status
        self.name = name
        self.pull_to_start = pull_to_start  # pull -> start bit
        self.data_bits = data_bits
        self.next_pull = next_pull  # start bit -> next pull
        self.push_at = push_at  # start bit -> push (None: the program never pushes)


def _known_programs() -> dict[tuple[int, ...], _Model]:
    known: dict[tuple[int, ...], _Model] = {}
    ack = tuple(adafruit_pioasm.Program(ACK_SOURCE).assembled)
    known[ack] = _Model("switchyard_uart_tx_ack", 7, 8, 73, 72)
    midi = tuple(adafruit_pioasm.Program(MIDI_TX_SOURCE).assembled)
    known[midi] = _Model(
        "switchyard_midi_tx", MIDI_IDLE_TO_START, 8, MIDI_NEXT_START, None, realtime_lane=True
    )
    # stop=2 needs a delay of 15, more than `.side_set 1 opt` leaves room for: the library
    # itself fails to assemble it, so only one stop bit exists.
    for bitcount in range(5, 10):
        words = tuple(adafruit_pioasm.Program(_pio_uart_tx_source(bitcount, 1)).assembled)
        name = f"adafruit_pio_uart uart_tx ({bitcount} bits, 1 stop)"
        known[words] = _Model(name, 8, bitcount, 8 + 8 * bitcount, None)
    return known


KNOWN_PROGRAMS = _known_programs()
INSTRUCTION_MEMORY = 32


def _words_of(program: object) -> tuple[int, ...]:
    raw = bytes(memoryview(program).cast("B"))  # type: ignore[arg-type]
    return struct.unpack(f"<{len(raw) // 2}H", raw[: len(raw) // 2 * 2])


def _program_id(program: object) -> int:
    if isinstance(program, array.array):
        return program.buffer_info()[0]
    if isinstance(program, memoryview):
        return id(program.obj)
    return id(program)


def _introspect(words: tuple[int, ...], what: str, has: dict[str, bool], counts: dict) -> dict:
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
                    raise ValueError(
                        f"Missing first_out_pin. {what}[{i}] shifts out to pin(s)"
                    )
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


class _Buffer:
    """A buffer handed to background_write, read element by element when DMA moves it."""

    def __init__(self, obj: object) -> None:
        self.obj = obj
        self.view = memoryview(obj)  # type: ignore[arg-type]
        if self.view.ndim != 1:
            self.view = self.view.cast("B")
        self.stride = self.view.itemsize
        if self.stride > 4:
            raise ValueError("Buffer elements must be 4 bytes long or less")

    def __len__(self) -> int:
        return len(self.view)


def _element_words(view: memoryview, swap: bool) -> list[int]:
    stride = view.itemsize
    words = []
    for item in view.tolist():
        value = int(item) & ((1 << (8 * stride)) - 1)
        if swap and stride > 1:
            value = int.from_bytes(value.to_bytes(stride, "little"), "big")
        words.append(value)
    return words


class StateMachine:
    """rp2pio.StateMachine for the known transmit programs (see the module docstring)."""

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
                if exclusive_pin_use or not self._pio_uses(pin):
                    if not chip.is_free(pin):
                        raise ValueError(f"{pin._name} in use")
                if pin not in pins:
                    pins.append(pin)
        has = {
            "out": first_out_pin is not None,
            "in": first_in_pin is not None,
            "set": first_set_pin is not None,
            "jmp": jmp_pin is not None,
        }
        counts = {
            "out": out_pin_count,
            "in": in_pin_count,
            "auto_pull": auto_pull,
            "auto_push": auto_push,
        }
        fifos = {"tx": False, "rx": False}
        for what, code in (("program", words), ("init", init_words), ("may_exec", may_exec_words)):
            found = _introspect(code, what, has, counts)
            fifos["tx"] = fifos["tx"] or found["tx"]
            fifos["rx"] = fifos["rx"] or found["rx"]
        if wrap != -1 and not 0 <= wrap <= len(words) - 1:
            raise ValueError(f"wrap must be -1-{len(words) - 1}")
        if not 0 <= wrap_target <= len(words) - 1:
            raise ValueError(f"wrap_target must be 0-{len(words) - 1}")

        model = KNOWN_PROGRAMS.get(tuple(words))
        if model is None:
            listing = ", ".join(f"0x{w:04x}" for w in words)
            kinds = "; ".join(sorted({m.name for m in KNOWN_PROGRAMS.values()}))
            raise NotImplementedError(
                f"the simulator cannot run PIO program [{listing}]; it models {kinds}"
            )
        problems = []
        if first_out_pin is None or first_out_pin is not first_sideset_pin:
            problems.append("the TX pin must be both first_out_pin and first_sideset_pin")
        if not sideset_enable or sideset_pin_count != 1 or sideset_pindirs:
            problems.append("the program needs sideset_enable=True, sideset_pin_count=1")
        if not out_shift_right or auto_pull:
            problems.append("the program needs out_shift_right=True, auto_pull=False")
        if init_words and not (model.realtime_lane and list(init_words) == [SET_Y]):
            problems.append("init instructions are not modelled (only `set y, 0`)")
        if model.realtime_lane and (mov_status_type != "txfifo" or mov_status_n != 1):
            problems.append('the program needs mov_status_type="txfifo", mov_status_n=1')
        if wrap not in (-1, len(words) - 1) or wrap_target != 0:
            problems.append("wrap/wrap_target must keep the whole program")
        if fifo_type not in ("auto", "txrx", "tx"):
            problems.append(f"fifo_type {fifo_type!r} leaves no TX FIFO")
        if problems:
            raise NotImplementedError(
                f"PIO program {model.name} with this configuration is not modelled: "
                + "; ".join(problems)
            )
        join = fifo_type
        if fifo_type == "auto":  # compute_fifo_type()
            join = "tx" if not fifos["rx"] else ("rx" if not fifos["tx"] else "txrx")
        self._tx_depth = 8 if join == "tx" else 4
        self._rx_depth = 0 if join == "tx" else 4
        self._has_tx = fifos["tx"]
        self._has_rx = fifos["rx"]
        self._actual_frequency, self._cycle_us = self._divider(int(frequency))

        # place the state machine (use_existing_program, then a free SM with room)
        pid = _program_id(program)
        slot = self._place(pid, len(words), program)
        if slot is None:
            raise RuntimeError("All state machines in use")
        self._slot = slot
        for pin in pins:
            chip.claim(pin, "rp2pio")
        self._pins = pins
        self._model = model
        self._tx_pin = first_out_pin
        self._log = chip.wire_log[first_out_pin._number]  # type: ignore[union-attr]
        self._mask = (1 << min(model.data_bits, 8)) - 1
        self._wait_for_txstall = bool(wait_for_txstall)
        self._in_shift_right = bool(in_shift_right)
        self._deinited = False
        self._gen = 0
        self._enabled = True
        self._tx: deque[int] = deque()
        self._rx: deque[int] = deque()
        self._stalled = True  # waiting in `pull` with an empty TX FIFO
        self._y = 0  # switchyard_midi_tx: realtime request (init `set y, 0`)
        self._txstall = True
        self._rxstall = False
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

    # --- construction helpers -------------------------------------------------------------
    def _pio_uses(self, pin: Pin) -> bool:
        return self._chip._claims.get(pin._number) == "rp2pio"

    def _divider(self, frequency: int) -> tuple[int, Fraction]:
        clk = self._chip.clk_sys_hz
        if frequency == 0:
            frequency = clk
        frequency256 = clk * 256
        div256 = frequency256 // frequency if frequency > 0 else 0
        if div256 == 0 or div256 // 256 > 0x10000 or frequency > clk:
            raise ValueError("frequency out of range")
        if frequency256 % div256 > 0:
            div256 += 1
        actual = frequency256 // div256
        return actual, Fraction(div256 * 1_000_000, frequency256)

    def _place(self, pid: int, length: int, program: object) -> tuple[int, int] | None:
        blocks = self._chip._pio
        for b, block in enumerate(blocks):
            entry = block["programs"].get(pid)
            if entry is not None and entry["len"] == length and None in block["sms"]:
                sm = block["sms"].index(None)
                block["sms"][sm] = self
                entry["users"] += 1
                self._offset = entry["offset"]
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
                return b, sm
        return None

    # --- lifetime -------------------------------------------------------------------------
    def _check(self) -> Chip:
        if self._deinited:
            raise ValueError(DEINITED)
        return self._chip

    def deinit(self) -> None:
        if self._deinited:
            return
        self.stop_background_write()
        self._gen += 1
        chip = self._chip
        b, sm = self._slot
        block = chip._pio[b]
        block["sms"][sm] = None
        for pid, entry in list(block["programs"].items()):
            if entry["offset"] == self._offset:
                entry["users"] -= 1
                if entry["users"] <= 0:
                    del block["programs"][pid]
                break
        for pin in self._pins:
            chip.release(pin)
        self._tx.clear()
        self._rx.clear()
        self._deinited = True

    def deinited(self) -> bool:
        return self._deinited

    def __enter__(self) -> StateMachine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.deinit()

    # --- the state machine ----------------------------------------------------------------
    def _at(self, t: Fraction) -> int:
        return math.ceil(t)

    def _push_tx(self, word: int) -> None:
        """A word enters the TX FIFO (from the CPU or DMA); a stalled SM pulls it at once."""
        if self._stalled and self._enabled:
            if self._model.realtime_lane:
                self._stalled = False
                now = Fraction(self._chip.clock.now_us)
                self._midi_byte(word & 0xFF, now + MIDI_IDLE_TO_START * self._cycle_us, False)
            else:
                self._pull_word(word, Fraction(self._chip.clock.now_us))
        else:
            self._tx.append(word)

    # --- switchyard_midi_tx: normal bytes from the FIFO, realtime bytes from Y ------------
    def _midi_byte(self, byte: int, start: Fraction, realtime: bool) -> None:
        cycle, clock, gen = self._cycle_us, self._chip.clock, self._gen
        self._log.append((self._at(start), byte))
        if realtime:
            code = self._y

            def cleared() -> None:
                if gen == self._gen:
                    self._y = 0

            def pushed() -> None:
                if gen == self._gen:
                    if len(self._rx) < self._rx_depth:
                        self._rx.append(code)
                    else:
                        self._rxstall = True

            clock.schedule(self._at(start + MIDI_Y_CLEARED * cycle), cleared)
            clock.schedule(self._at(start + MIDI_RT_PUSH * cycle), pushed)
        nxt = start + MIDI_NEXT_START * cycle
        clock.schedule(self._at(start + MIDI_DECIDE * cycle), lambda: self._midi_decide(gen, nxt))

    def _midi_decide(self, gen: int, start: Fraction) -> None:
        """`jmp !y` after a byte: a realtime request first, then the TX FIFO, else idle."""
        if gen != self._gen:
            return
        if self._y:
            self._midi_byte(0xF8 | (self._y & 7), start, True)
        elif self._tx:
            word = self._tx.popleft()
            self._dma_pump()
            self._midi_byte(word & 0xFF, start, False)
        else:
            self._stalled = True
            self._txstall = True

    def _pull_word(self, word: int, t_pull: Fraction) -> None:
        model, cycle, clock = self._model, self._cycle_us, self._chip.clock
        self._stalled = False
        start = t_pull + model.pull_to_start * cycle
        self._log.append((self._at(start), word & self._mask))
        gen = self._gen
        if model.push_at is not None:
            clock.schedule(self._at(start + model.push_at * cycle), lambda: self._on_push(gen))
        t_next = start + model.next_pull * cycle
        clock.schedule(self._at(t_next), lambda: self._on_pull(gen, t_next))

    def _on_push(self, gen: int) -> None:
        if gen != self._gen:
            return
        if len(self._rx) < self._rx_depth:
            self._rx.append(0)  # the ISR is empty: the word pushed is 0
        else:
            self._rxstall = True

    def _on_pull(self, gen: int, t: Fraction) -> None:
        if gen != self._gen:
            return
        if self._tx:
            self._pull_word(self._tx.popleft(), t)
            self._dma_pump()
        else:
            self._stalled = True
            self._txstall = True

    def _room(self) -> bool:
        return (self._stalled and self._enabled) or len(self._tx) < self._tx_depth

    # --- blocking CPU transfers -----------------------------------------------------------
    def _slice_words(self, buffer: object, start: int, end: int | None, swap: bool) -> list[int]:
        view = memoryview(buffer)  # type: ignore[arg-type]
        if view.ndim != 1:
            view = view.cast("B")
        if view.itemsize > 4:
            raise ValueError("Buffer elements must be 4 bytes long or less")
        length = len(view)
        end = length if end is None else end
        start, end, _ = slice(start, end).indices(length)
        return _element_words(view[start:end], swap)

    def write(
        self, buffer: object, *, start: int = 0, end: int | None = None, swap: bool = False
    ) -> None:
        chip = self._check()
        if not self._has_tx:
            raise RuntimeError("No out in program")
        words = self._slice_words(buffer, start, end, swap)
        if not words:
            return
        i = 0
        while i < len(words):
            while i < len(words) and self._room():
                self._push_tx(words[i])
                i += 1
            if i < len(words):
                chip.wait_for_event("rp2pio.StateMachine.write")
        self._txstall = False  # _transfer(): fdebug = stall_mask
        while self._tx or (self._wait_for_txstall and not self._txstall):
            chip.wait_for_event("rp2pio.StateMachine.write")

    def readinto(
        self, buffer: object, *, start: int = 0, end: int | None = None, swap: bool = False
    ) -> None:
        chip = self._check()
        if not self._has_rx:
            raise RuntimeError("No in in program")
        view = memoryview(buffer)  # type: ignore[arg-type]
        if view.ndim != 1:
            view = view.cast("B")
        stride = view.itemsize
        length = len(view)
        end = length if end is None else end
        start, end, _ = slice(start, end).indices(length)
        mask = (1 << (8 * stride)) - 1
        for i in range(start, end):
            while not self._rx:
                chip.wait_for_event("rp2pio.StateMachine.readinto")
            word = self._rx.popleft()
            value = (word >> (32 - 8 * stride)) & mask if self._in_shift_right else word & mask
            if swap and stride > 1:
                value = int.from_bytes(value.to_bytes(stride, "little"), "big")
            view[i] = value

    def write_readinto(self, *args: object, **kwargs: object) -> None:
        raise NotImplementedError("rp2pio double: write_readinto is not modelled")

    def run(self, instructions: object) -> None:
        """Executes instructions at once (pio_sm_exec). Modelled: `set y, N` on
        switchyard_midi_tx, the program's realtime request; anything else raises."""
        self._check()
        words = _words_of(instructions)
        for word in words:
            if not self._model.realtime_lane or word & 0xFFE0 != SET_Y:
                raise NotImplementedError(
                    "rp2pio double: run() models only `set y, N` on switchyard_midi_tx, "
                    "not 0x%04x on %s" % (word, self._model.name)
                )
            self._y = word & 0x1F
        if self._y and self._stalled and self._enabled:
            self._stalled = False
            now = Fraction(self._chip.clock.now_us)
            self._midi_byte(
                0xF8 | (self._y & 7), now + MIDI_IDLE_RT_TO_START * self._cycle_us, True
            )

    def background_read(self, *args: object, **kwargs: object) -> None:
        raise NotImplementedError("rp2pio double: background_read is not modelled")

    # --- background write (DMA) -----------------------------------------------------------
    def background_write(
        self,
        once: object = None,
        *,
        loop: object = None,
        loop2: object = None,
        swap: bool = False,
    ) -> None:
        chip = self._check()
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
                chip.wait_for_event("rp2pio.StateMachine.background_write")
            self._next = [o, lp, l2]
            self._pending = pending
            if self._dma_completed and o is not None:
                # C clears dma_completed_write right after restarting the channel, long
                # before the DMA-complete interrupt can fire; here DMA may finish inside
                # the call, so clear it first.
                self._dma_completed = False
                self._dma_complete_write()
            return
        if o is None:
            return  # nothing to send and no DMA running
        self._dma_allocated = True
        self._current = o
        self._next = [lp, l2, lp]
        self._pending = pending
        self._dma_completed = False
        self._bg_stride = stride
        self._bg_swap = bool(swap)
        self._cur_index = 0
        self._dma_busy = True
        self._dma_pump()

    def _dma_pump(self) -> None:
        """DMA: move words while the TX FIFO has room (DREQ)."""
        while self._dma_busy and self._room():
            buf = self._current
            assert buf is not None
            item = buf.view[self._cur_index]
            value = int(item) & ((1 << (8 * buf.stride)) - 1)
            if self._bg_swap and buf.stride > 1:
                value = int.from_bytes(value.to_bytes(buf.stride, "little"), "big")
            self._cur_index += 1
            self._push_tx(value)
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
        self._check()
        return not self._dma_completed

    @property
    def pending_write(self) -> int:
        self._check()
        return self._pending

    @property
    def pending(self) -> int:
        return self.pending_write

    @property
    def last_write(self) -> object:
        self._check()
        last, self._last_write = self._last_write, None
        return last if last is not None else array.array("B")

    # --- status -----------------------------------------------------------------------------
    @property
    def in_waiting(self) -> int:
        self._check()
        return len(self._rx)

    def clear_rxfifo(self) -> None:
        self._check()
        self._rx.clear()
        self._rxstall = False

    @property
    def txstall(self) -> bool:
        self._check()
        return self._txstall

    def clear_txstall(self) -> None:
        self._check()
        self._txstall = False

    @property
    def rxstall(self) -> bool:
        self._check()
        return self._rxstall

    @property
    def frequency(self) -> int:
        self._check()
        return self._actual_frequency

    @frequency.setter
    def frequency(self, value: int) -> None:
        self._check()
        self._actual_frequency, self._cycle_us = self._divider(int(value))

    @property
    def offset(self) -> int:
        self._check()
        return self._offset

    @property
    def pc(self) -> int:
        self._check()
        return self._offset

    @property
    def rxfifo(self) -> None:
        return None

    def stop(self) -> None:
        """Stop the SM clock. The byte on the wire is aborted; the FIFO keeps its words."""
        self._check()
        self._gen += 1
        self._enabled = False

    def restart(self) -> None:
        """Reset the SM to its first instruction (`pull`) and enable it."""
        self._check()
        self._gen += 1
        self._enabled = True
        self._stalled = True
        if self._tx:
            self._pull_word(self._tx.popleft(), Fraction(self._chip.clock.now_us))
            self._dma_pump()
        else:
            self._txstall = True


def pins_are_sequential(pins: list[Pin]) -> bool:
    numbers = [p._number for p in pins]
    return all(b == a + 1 for a, b in zip(numbers, numbers[1:], strict=False))


__all__ = ["StateMachine", "pins_are_sequential"]
