"""Wiring and the main loop.

    port.read -> StreamParser (per input) -> Router (preset) -> Output queues -> pacer -> port

`main()` is what code.py calls: it builds the box from the board file and presets.json,
then runs one loop pass after another forever (`App.loop(None)`, the loop generator's send).
The simulator calls `build()`, then `App.step()`, which is that same pass.
"""

import sys

try:
    from typing import Any  # noqa: F401 (type comments; not on CircuitPython)
except ImportError:
    pass

from switchyard import clockgen
from switchyard import presets as presets_module
from switchyard.merge import COALESCED, DROPS, READ_CHUNK, Output, PioOutput
from switchyard.midi import const
from switchyard.panel import Panel
from switchyard.ports import PioOut, UartIn
from switchyard.router import CLK, INPUT_NAMES, OUTPUT_NAMES, ConfigError, Router
from switchyard.stream import StreamParser

PRESETS_PATH = "/presets.json"
_TICKS_MASK = const(0x1FFFFFFF)
_TICKS_HALF = const(0x10000000)
_NVM_MAGIC = const(0x53)
# CLK's tapped tempo: nvm[3:9] after the preset's record (an older box's record ends at 3;
# what follows is erased flash or zeros there, which the magic and check refuse)
_NVM_TEMPO_MAGIC = const(0x54)
_DEFAULT_BPM10 = const(1200)  # CLK at 120.0 BPM when presets.json gives no tempo
_NVM_IDLE_MS = const(2000)  # write the chosen preset after 2 s without MIDI and stopped
_SYSEX_TIMEOUT_MS = const(1000)  # a SysEx silent this long is closed (cable pulled)
_SELFTEST_NOTE_MS = const(250)
# Buttons and LEDs every 4 ms, in two halves (keys, then LEDs), so no pass carries both:
# a housekeeping pass is what a realtime byte arriving meanwhile has to wait for.
_HOUSEKEEPING_MS = const(4)
# The monitor's records of what the inputs read are made no later than this after the read
# (its stream's times say when a record was made, to the millisecond: docs/MONITOR.md).
_MONITOR_BATCH_MS = const(3)
_LOW_OUTPUTS = const(4)  # outputs 1-4: their subsets in one table, 5, 6, USB in another
_LOW_MASK = const(15)

DEBUG = False


def log(*args):
    print("switchyard:", *args)


def load_board_file(board_id):
    """The board file for this board_id, or a clear error naming the fix."""
    name = "boards." + board_id
    try:
        __import__(name)
    except ImportError:
        raise RuntimeError(  # noqa: B904 (CircuitPython has no exception chaining)
            "no board file boards/%s.py for board_id %r: copy one from boards/ and adjust its pins"
            % (board_id, board_id)
        )
    return sys.modules[name]


def set_cpu_clock(cpu, hz):
    """Run the CPU at `hz`, the board file's CPU_HZ; return a line for the log.

    Called before any UART, PIO state machine or pin is made: a UART's baud divisor and a
    state machine's clock divider are worked out from the system clock when they are made
    (CircuitPython's docs: "set the CPU frequency before initializing other systems").
    A CircuitPython that cannot set it (AttributeError, NotImplementedError) or a clock the
    PLL cannot make (ValueError) leaves the box working at the clock it has, only slower.
    """
    now = cpu.frequency
    if not hz or now == hz:
        return "cpu at %d MHz" % (now // 1000000)
    try:
        cpu.frequency = hz
    except Exception as err:  # any refusal: keep the clock, keep running
        return (
            "cpu stays at %d MHz, %d MHz refused (%s: %s): the box works, with more latency;"
            " CircuitPython 9 or 10 sets it (docs/INSTALL.md)"
            % (now // 1000000, hz // 1000000, type(err).__name__, err)
        )
    return "cpu at %d MHz" % (cpu.frequency // 1000000)


def nvm_read_preset(nvm, count):
    """Last chosen preset from NVM, or 0 when the record is missing or torn."""
    if nvm is None or len(nvm) < 3:
        return 0
    magic, index, check = nvm[0], nvm[1], nvm[2]
    if magic != _NVM_MAGIC or check != (index ^ 0xA5) or index >= count:
        return 0
    return index


def nvm_read_tempo(nvm, file_bpm10):
    """CLK's last tapped tempo (tenths of a BPM) from NVM, or file_bpm10 when the record is
    missing or torn, or presets.json's tempo changed since the tap (the file's edit wins)."""
    if nvm is None or len(nvm) < 9:
        return file_bpm10
    r = nvm[3:9]
    if r[0] != _NVM_TEMPO_MAGIC or r[5] != (r[1] ^ r[2] ^ r[3] ^ r[4] ^ 0xA5):
        return file_bpm10
    tapped = r[1] | (r[2] << 8)
    if (r[3] | (r[4] << 8)) != file_bpm10 or not clockgen.MIN_BPM10 <= tapped <= clockgen.MAX_BPM10:
        return file_bpm10
    return tapped


class App:
    """The box: inputs, parsers, router, outputs, panel, and the loop step."""

    def __init__(self, inputs, outputs, config, ticks_ms, keys=None, event=None, leds=None,
                 nvm=None, config_error=False, selftest=False, now_us=None):
        # inputs: list of (name, port); outputs: list of (name, port, usb) in OUTPUT_NAMES order
        self.ticks_ms = ticks_ms
        self.outputs = [
            PioOutput(name, port) if isinstance(port, PioOut) else Output(name, port, usb)
            for name, port, usb in outputs
        ]
        by_name = {}
        for out in self.outputs:
            by_name[out.name] = out
        # Router outputs in OUTPUT_NAMES order; ports the board lacks get a dead output.
        routed = []
        for name in OUTPUT_NAMES:
            routed.append(by_name.get(name) or Output(name, _NoPort(), name == "USB"))
        self.router = Router(routed, config)  # sets each output's bit
        if self.router.short_lanes:
            log("%d SysEx lanes smaller than %d bytes: the heap had no block that big"
                % (self.router.short_lanes, self.router.lane_bytes))
        # Every subset of outputs 1-4 and of 5, 6, USB as a tuple (the loop services only
        # the busy ones): 16 + 8 tuples, not the 128 of all seven (3.4 KB of heap).
        self.low_sets = [
            tuple(routed[k] for k in range(_LOW_OUTPUTS) if m & (1 << k))
            for m in range(1 << _LOW_OUTPUTS)
        ]
        self.high_sets = [
            tuple(routed[k] for k in range(_LOW_OUTPUTS, len(routed))
                  if m & (1 << (k - _LOW_OUTPUTS)))
            for m in range(1 << (len(routed) - _LOW_OUTPUTS))
        ]
        self.busy = 0
        self.in_ports = [port for _, port in inputs]
        self.input_names = [name for name, _ in inputs]
        self.parsers = [StreamParser(INPUT_NAMES.index(name), self.router) for name, _ in inputs]
        # Each input with its parser's feed, bound once: (busio.UART, feed) for the UARTs,
        # which the loop reads directly, and (port, feed) for the others.
        # Lists, not tuples: the monitor swaps its taps in while a host has it open.
        uart_feeds = []  # type: list
        other_feeds = []  # type: list
        for port, parser in zip(self.in_ports, self.parsers):
            if isinstance(port, UartIn):
                uart_feeds.append((port.uart, parser.feed))
            else:
                other_feeds.append((port, parser.feed, parser))
        self.uart_feeds = uart_feeds
        self.other_feeds = other_feeds
        self.monitor = None  # type: Any  # switchyard.monitor.Monitor when usb_cdc.data exists
        self.monitor_on = False
        self.pump_late = False
        self.mon_due_ms = 0  # when the monitor's records of what was read became due
        self.rx = bytearray(READ_CHUNK)
        self.panel = Panel(keys, event, leds or {}, config_error)
        self.router.beat_led = (leds or {}).get("CLK")
        # CLK, the box's own clock, when presets.json asks for it (a tempo or a CLK route);
        # now_us: its fine time source (clockgen.monotonic_us on the box)
        self.clock = None  # type: Any
        self.file_bpm10 = config.tempo_bpm10 or _DEFAULT_BPM10
        self.saved_bpm10 = 0
        self.nvm_tempo = bytearray(6)
        if config.uses_clock():
            self.clock = clockgen.ClockGen(
                self.router.realtime, CLK, nvm_read_tempo(nvm, self.file_bpm10),
                config.clock_when_stopped, now_us or clockgen.monotonic_us, ticks_ms,
                self.router.clock_hold, self.router.clock_release,
                self._pause_inputs, self._resume_inputs)
            # The inputs' entries while CLK's next clock is a moment away (made once: the
            # swap allocates nothing), and room for the entries they stand in for.
            self.idle_uart = [(_IDLE, None) for _ in uart_feeds]
            self.idle_other = [(_IDLE, None, parser) for _, _, parser in other_feeds]
            self.paused_uart = [None] * len(uart_feeds)
            self.paused_other = [None] * len(other_feeds)
            self.saved_bpm10 = self.clock.bpm10
        self.panel.clock = self.clock
        self.nvm = nvm
        self.nvm_record = bytearray(3)
        self.saved_preset = nvm_read_preset(nvm, len(self.router.presets))
        self.router.request_preset(self.saved_preset)
        self.router.preset_changes = 0
        self.seen_changes = 0
        self.last_ms = ticks_ms()
        self.housekeeping_runs = 0  # wraps; the simulator's cost model counts them
        self.last_input_ms = self.last_ms
        self.sysex_check_ms = self.last_ms
        self.bytes_in = 0
        self.reported_given_up = 0
        self.last_traffic = 0
        self.selftest = SelfTest(self) if selftest else None
        passes = self._passes()
        next(passes)  # to its first yield: nothing done yet
        self.loop = passes.send

    # ---- the loop ---------------------------------------------------------------------

    def step(self):
        """One pass: read every input, route, pace every output. Never blocks; returns the
        bytes read. code.py's main() resumes the loop generator (`loop`) directly."""
        return self.loop(None)

    def _passes(self):
        """The loop as a generator, resumed once a pass (`loop(None)`): the objects every
        pass works on stay in its locals, so a pass pays one resume, not a method call
        and an attribute read for each. Yields the bytes the pass read.

        In light traffic the UARTs are looked at again before and between the writes of
        a pass, so a clock byte that comes meanwhile does not wait for the rest of them;
        CLK is looked at before a pass's writes and after each one, for the same reason."""
        rx = self.rx
        # busio.UART and its parser's feed, called directly: this runs every pass
        uart_feeds = self.uart_feeds
        other_feeds = self.other_feeds
        router = self.router
        low_sets = self.low_sets
        high_sets = self.high_sets
        ticks_ms = self.ticks_ms
        read_uarts = self._read_uarts
        gen = self.clock
        clock = None if gen is None else gen.poll
        now = ticks_ms()
        got = 0
        due = False  # the monitor's records of passes that read are still to make
        due_ms = now
        while True:
            yield got
            got = 0
            for uart, feed in uart_feeds:
                if uart.in_waiting:  # also moves bytes from the FIFO to the ring (UartIn)
                    n = uart.readinto(rx)
                    if n:
                        feed(rx, n)
                        got += n
            for port, feed, parser in other_feeds:
                if parser.in_sysex and router.sysex_tight(parser.source):
                    continue  # USB MIDI is flow-controlled: the host holds the rest
                n = port.readinto(rx)
                if n:
                    feed(rx, n)
                    got += n
            busy = self.busy
            touched = router.touched
            if touched:
                if got == 1:
                    # Light traffic (a byte a pass) and writes ahead: a clock byte that came
                    # on the other input while this one was parsed goes out before them.
                    got += read_uarts(rx)
                    touched = router.touched
                router.touched = 0
                for out in low_sets[touched & _LOW_MASK]:
                    out.busy = True  # the router filled its ring without a call
                for out in high_sets[touched >> _LOW_OUTPUTS]:
                    out.busy = True
                busy |= touched
            if busy:
                # CLK due meanwhile: not after the writes. Its gate is looked at here, not
                # in a call: shut (all but the last ~3 ms before a clock), this is all.
                if clock and ((now - gen.gate_ms) & _TICKS_MASK) < _TICKS_HALF:
                    clock(now)
                # A write takes a while: a clock byte that came meanwhile goes out after it,
                # not after the other outputs' writes and the housekeeping. Only in light
                # traffic: under load, reading between writes would split the input into
                # more reads than the CPU has time for.
                for out in low_sets[busy & _LOW_MASK]:
                    wrote = out.pump(None)
                    if not out.busy:
                        busy &= ~out.bit
                    if wrote:
                        if got < 2:
                            got += read_uarts(rx)
                        if clock and ((now - gen.gate_ms) & _TICKS_MASK) < _TICKS_HALF:
                            clock(now)  # CLK due meanwhile: not after the other writes
                if busy >> _LOW_OUTPUTS:
                    for out in high_sets[busy >> _LOW_OUTPUTS]:
                        wrote = out.pump(None)
                        if not out.busy:
                            busy &= ~out.bit
                        if wrote:
                            if got < 2:
                                got += read_uarts(rx)
                            if clock and ((now - gen.gate_ms) & _TICKS_MASK) < _TICKS_HALF:
                                clock(now)  # CLK due meanwhile: not after the others
                self.busy = busy
            if got:
                self.bytes_in = (self.bytes_in + got) & 0x3FFFFFFF
                if self.monitor_on:
                    # The monitor's records of what was read wait (Monitor.after_pass):
                    # made in a pass that reads nothing, so a byte that comes meanwhile
                    # does not wait for them; under a load that leaves no such pass,
                    # every _MONITOR_BATCH_MS.
                    if not due:
                        due = True
                        # (`now` is as old as this pass; the simulator reads mon_due_ms)
                        due_ms = self.mon_due_ms = ticks_ms()
                    elif ((now - due_ms) & _TICKS_MASK) >= _MONITOR_BATCH_MS:
                        self.monitor.after_pass()
                        due_ms = self.mon_due_ms = now
            now = ticks_ms()
            if clock is not None:
                clock(now)  # CLK (switchyard.clockgen): right after the ticks read, every pass
            # (not while CLK's outputs are held for its next clock, as housekeeping below)
            if due and not got and (gen is None or gen.held < 0):
                mon = self.monitor
                if not self.monitor_on:
                    due = False
                elif mon.waiting or mon.rt_mask or (
                    (now - due_ms) & _TICKS_MASK
                ) >= _MONITOR_BATCH_MS:
                    # Once an output was handed a message (or a realtime byte): a byte
                    # read mid-message waits for the rest, which is due a byte time after
                    # it (making the records then would hold that byte up); a message
                    # that went nowhere, within _MONITOR_BATCH_MS.
                    due = False
                    mon.after_pass()
            # Housekeeping waits while CLK's outputs are held for its next clock (the last
            # ~0.45 ms before it): its ~0.1 ms would delay that clock's look.
            if ((now - self.last_ms) & _TICKS_MASK) >= _HOUSEKEEPING_MS and (
                gen is None or gen.held < 0
            ):
                self.last_ms = now
                self.housekeeping_runs = (self.housekeeping_runs + 1) & 0x3FFFFFFF
                self._housekeeping(now, got)

    def _read_uarts(self, rx):
        """Read and parse what every UART input has; the number of bytes (the loop's own
        first read of each pass does the same, inlined)."""
        got = 0
        for uart, feed in self.uart_feeds:
            if uart.in_waiting:
                n = uart.readinto(rx)
                if n:
                    feed(rx, n)
                    got += n
        return got

    def _housekeeping(self, now, got=0):
        router = self.router
        if self.monitor_on:
            if got and not self.pump_late:
                # This pass read a byte, and the next of its message is likely a byte
                # time away: hand over at the next housekeeping instead (8 ms at most).
                self.pump_late = True
            else:
                self.pump_late = False
                self._monitor_pump()
        if router.panic_next < 16:
            router.panic_step()
        elif router.send_next < len(router.sending):
            router.send_step()
        if self.housekeeping_runs & 1:
            traffic = self.bytes_in != self.last_traffic
            if traffic:
                self.last_traffic = self.bytes_in
                self.last_input_ms = now
            self.panel.show(now, router, traffic)
            return
        self.panel.poll(now, router)
        if self.selftest is not None:
            self.selftest.tick(now)
        clock = self.clock
        if ((now - self.sysex_check_ms) & _TICKS_MASK) >= _SYSEX_TIMEOUT_MS and (
            clock is None or ((now - clock.gate_ms) & _TICKS_MASK) >= _TICKS_HALF
        ):
            # Once a second, not while CLK's next clock is near (its gate open): this
            # branch takes ~0.35 ms on the Pico, a clock due meanwhile would wait for it.
            self.sysex_check_ms = now
            self._report_given_up()
            if self.monitor is not None:
                self._monitor_second()
            for parser in self.parsers:
                if parser.in_sysex:
                    if parser.sysex_bytes == parser.sysex_mark:
                        parser.close_sysex()  # silent for a whole period: source gone
                    parser.sysex_mark = parser.sysex_bytes
        if router.preset_changes != self.seen_changes:
            self.seen_changes = router.preset_changes
            self.last_input_ms = now  # a fresh choice waits its 2 s like MIDI does
        idle = (now - self.last_input_ms) & _TICKS_MASK
        if (
            router.preset_index != self.saved_preset
            and idle >= _NVM_IDLE_MS
            and not router.playing
        ):
            self._save_preset(router.preset_index)
        if (
            clock is not None
            and clock.bpm10 != self.saved_bpm10
            and idle >= _NVM_IDLE_MS
            and ((now - clock.last_tap) & _TICKS_MASK) >= _NVM_IDLE_MS
            and not router.playing
        ):
            self._save_tempo(clock.bpm10)

    def _save_preset(self, index):
        # Flash writes stall interrupts for milliseconds: only when the desk is quiet.
        self.saved_preset = index
        if self.nvm is None:
            return
        record = self.nvm_record
        record[0] = _NVM_MAGIC
        record[1] = index
        record[2] = index ^ 0xA5
        self.nvm[0:3] = record  # one flash write; runs once per change, when idle

    def _save_tempo(self, bpm10):
        # Like the preset: one flash write, once per tapped tempo, when the desk is quiet.
        self.saved_bpm10 = bpm10
        if self.nvm is None or len(self.nvm) < 9:
            return
        record = self.nvm_tempo
        record[0] = _NVM_TEMPO_MAGIC
        record[1] = bpm10 & 0xFF
        record[2] = bpm10 >> 8
        record[3] = self.file_bpm10 & 0xFF
        record[4] = self.file_bpm10 >> 8
        record[5] = record[1] ^ record[2] ^ record[3] ^ record[4] ^ 0xA5
        self.nvm[3:9] = record

    def next_wake_ms(self):
        """ticks_ms at which housekeeping (or the loop's monitor records) next has timed
        work, or None (simulator use)."""
        if self.clock is not None and self.clock.held >= 0:
            return None  # it waits for CLK's clock, which the simulator times itself
        now = self.last_ms
        panel = self.panel
        wakes = []
        keys = panel.keys
        if (
            (keys is not None and len(keys.events))
            or self.bytes_in != self.last_traffic
            or self.router.preset_index != panel.shown_preset
        ):
            wakes.append(now + _HOUSEKEEPING_MS)  # keys or LEDs have work at the next run
        if panel.act_on:
            wakes.append(panel.last_traffic_ms + 30)
        if panel.fn_down and not panel.fn_used:
            wakes.append(panel.fn_since + 1000)
        if not panel.p_used:
            wakes.append(panel.p_since + 1000)  # a preset button held: CLK start/stop
        clock = self.clock  # (its clocks are not housekeeping: sim/runner.py times them)
        if clock is not None:
            if clock.bpm10 != self.saved_bpm10:
                wakes.append(self.last_input_ms + _NVM_IDLE_MS)
                wakes.append(clock.last_tap + _NVM_IDLE_MS)
        if panel.error:
            wakes.append(now + 100 - now % 100)
        if self.router.preset_index >= 4:
            wakes.append(now + 500 - now % 500)
        if self.router.preset_index != self.saved_preset:
            wakes.append(self.last_input_ms + _NVM_IDLE_MS)
        for parser in self.parsers:
            if parser.in_sysex:
                wakes.append(self.sysex_check_ms + _SYSEX_TIMEOUT_MS)
        if self.selftest is not None and not self.selftest.done:
            wakes.append(self.selftest.next_ms)
        if self.router.panic_next < 16 or self.router.send_next < len(self.router.sending):
            wakes.append(now + _HOUSEKEEPING_MS)
        mon = self.monitor
        if self.monitor_on and mon.fill:
            wakes.append(now + _HOUSEKEEPING_MS)  # its hand-over: housekeeping
        # The monitor's records of what was read: made by the loop itself (in a pass that
        # reads nothing), not by housekeeping, so not held to its interval below.
        batch = None
        if self.monitor_on and (mon.waiting or mon.rt_mask or any(tap.n for tap in mon.taps)):
            batch = (self.mon_due_ms + _MONITOR_BATCH_MS) & _TICKS_MASK
        if not wakes:
            return batch
        best = wakes[0]
        for w in wakes:
            if ((w - best) & _TICKS_MASK) >= 0x10000000:
                best = w  # w is earlier (ticks wrap at 2**29)
        # Timed work happens in housekeeping, which runs no sooner than its interval: a
        # wake already due (the ACT LED's end, between two runs) is the next run.
        first = now + _HOUSEKEEPING_MS
        if ((best - first) & _TICKS_MASK) >= 0x10000000:
            best = first
        if batch is not None and ((batch - best) & _TICKS_MASK) >= 0x10000000:
            return batch
        return best & _TICKS_MASK

    # ---- the monitor (switchyard.monitor): wiring only --------------------------------

    def _pause_inputs(self):
        """CLK holds its outputs for its next clock (switchyard.clockgen): the loop's
        passes look at nothing but CLK and the outputs until it has gone, so the clock
        does not wait for a message being parsed. The monitor's taps, if in, are
        kept and put back (the monitor opens and closes only while CLK is not near)."""
        _swap(self.uart_feeds, self.idle_uart, self.paused_uart)
        _swap(self.other_feeds, self.idle_other, self.paused_other)

    def _resume_inputs(self):
        _swap(self.uart_feeds, self.paused_uart, None)
        _swap(self.other_feeds, self.paused_other, None)

    def attach_monitor(self, monitor):
        """Wire in the monitor; it records nothing until a host opens its channel."""
        sources = [parser.source for parser in self.parsers]
        kinds = [isinstance(port, UartIn) for port in self.in_ports]
        monitor.attach(
            self.uart_feeds, self.other_feeds,
            [source for source, uart in zip(sources, kinds) if uart],
            [source for source, uart in zip(sources, kinds) if not uart],
            [(out, OUTPUT_NAMES.index(out.name)) for out in self.outputs],
            self.router,
        )
        self.monitor = monitor

    def _monitor_second(self):
        """Once a second: open or close with the host, and the counters while open."""
        monitor = self.monitor
        if monitor.serial.connected != self.monitor_on:
            if self.monitor_on:
                monitor.close()
            else:
                monitor.open()
            self.monitor_on = monitor.on
        if self.monitor_on:
            errors = 0
            for parser in self.parsers:
                errors += parser.errors()
            monitor.stats(self.router.preset_index, errors, self.router.outputs)

    def _monitor_pump(self):
        if not self.monitor.pump():
            self.monitor.close()
            self.monitor_on = False

    # ---- status for the console, the simulator and the benchmark ----------------------

    def parse_errors(self):
        return sum(p.errors() for p in self.parsers)

    def drops(self):
        return sum(out.drops() + out.rt_drops for out in self.router.outputs)

    def given_up(self):
        """Per output: (name, messages given up, of them SysEx, values coalesced)."""
        return [(out.name, out.drops() + out.rt_drops, out.sysex_drops, out.coalesced())
                for out in self.router.outputs]

    def _report_given_up(self):
        """A console line per output that gave something up since the last report (the
        serial console is where a user without the simulator sees it)."""
        total = 0
        for out in self.router.outputs:
            ring = out.ring  # its words, not two method calls an output (a cheaper loop)
            total += ring[DROPS] + ring[COALESCED] + out.rt_drops
        if total == self.reported_given_up:
            return
        self.reported_given_up = total
        for name, drops, sysex, coalesced in self.given_up():
            if drops or coalesced:
                log("out %s full: %d messages given up (%d SysEx), %d values coalesced"
                    % (name, drops, sysex, coalesced))

    def queued(self):
        return sum(out.queued() for out in self.router.outputs)


def _swap(entries, new, saved):
    """Put new[k] in entries[k] for each k, the old one in saved[k] if saved is given (list
    items only: nothing is allocated)."""
    for k in range(len(entries)):
        if saved is not None:
            saved[k] = entries[k]
        entries[k] = new[k]


class _Idle:
    """An input as the loop sees it while CLK's next clock is a moment away: nothing has
    come (its bytes wait in the UART's ring, or with the USB host, for the next pass)."""

    in_waiting = 0

    def readinto(self, buf):
        return 0


_IDLE = _Idle()


class _NoPort:
    """An output the board does not have: takes everything and sends nothing."""

    buf = bytearray(8)

    def room(self):
        return 8

    def send(self, n):
        pass

    def write(self, view, n):
        return n


class SelfTest:
    """Hold FN at power-up: test note C4 on each output in turn, report what came back.

    Loop an OUT into an IN with a MIDI cable: the console shows which input saw the note.
    The LEDs step along with the output under test. Runs once, then the box carries on.
    """

    def __init__(self, app):
        self.app = app
        self.index = -1
        self.next_ms = app.ticks_ms()
        self.before = [p.bytes_seen for p in app.parsers]
        self.results = []  # (output name, [input names that saw bytes])
        self.done = False
        log("self-test: sending C4 on channel 1 to each output in turn")

    def tick(self, now):
        if self.done or ((now - self.next_ms) & _TICKS_MASK) >= 0x10000000:
            return  # not yet (ticks difference negative)
        app = self.app
        outputs = app.router.outputs
        if self.index >= 0:
            name = outputs[self.index].name
            heard = [
                app.input_names[k]
                for k in range(len(app.parsers))
                if app.parsers[k].bytes_seen != self.before[k]
            ]
            self.results.append((name, heard))
            log("self-test: out %s -> %s" % (name, ", ".join(heard) if heard else "no input"))
        leds = app.panel.preset_leds
        app.panel.led_state = -1  # the panel shows the preset again once this is done
        for k in range(len(leds)):
            leds[k].value = False
        self.index += 1
        if self.index >= len(outputs):
            self.done = True
            log("self-test: done")
            return
        if leds:
            leds[self.index % len(leds)].value = True
        self.before = [p.bytes_seen for p in app.parsers]
        out = outputs[self.index]
        app.router.own(out.bit, 0x90, 60, 100)
        app.router.own(out.bit, 0x80, 60, 0)
        self.next_ms = (now + _SELFTEST_NOTE_MS) & _TICKS_MASK


# ---- building the box from the board file (CircuitPython or the simulator) ---------------


def build(presets_path=PRESETS_PATH):
    """The box from the board file and presets.json, one step at a time."""
    import board
    import microcontroller
    import supervisor
    import usb_midi

    bf = load_board_file(board.board_id)
    # First, before any peripheral exists (see set_cpu_clock).
    log(set_cpu_clock(microcontroller.cpu, getattr(bf, "CPU_HZ", 0)))
    # The monitor's module next, while the heap is whole: compiled from .py after the box
    # is built, it did not fit in a Pico's heap (MemoryError at start-up).
    monitor_module = _monitor_module()
    pin = _PinFinder(board)
    config, config_error = _load_presets(presets_path)
    selftest = _fn_held_at_power_up(bf, pin)  # before keypad claims the pin
    uarts, uart_tx = _make_uarts(bf, pin)
    inputs = _make_inputs(bf, uarts, usb_midi.ports[0])
    outputs = _make_outputs(bf, pin, uarts, uart_tx, usb_midi.ports[1], supervisor.ticks_ms)
    keys, event, leds = _make_panel(bf, pin)
    now_us = _make_us_clock() if config.uses_clock() else None
    try:
        app = App(inputs, outputs, config, supervisor.ticks_ms, keys, event, leds,
                  microcontroller.nvm, config_error, selftest, now_us)
    except ConfigError as err:
        log("error:", presets_path, err)
        app = App(inputs, outputs, presets_module.safe_default(), supervisor.ticks_ms, keys,
                  event, leds, microcontroller.nvm, True, selftest)
    monitor = None if monitor_module is None else _make_monitor(supervisor.ticks_ms)
    if monitor is not None:
        app.attach_monitor(monitor)
        app._monitor_second()  # a host that kept it open across a reload starts at once
    router = app.router
    log("preset %d: %s" % (router.preset_index + 1, router.presets[router.preset_index].name))
    return app


def _make_us_clock():
    """CLK's fine time: a microsecond counter on a state machine (switchyard.usclock), or
    time.monotonic_ns() when none is free (it allocates a long integer a read)."""
    import rp2pio

    from switchyard import usclock

    counter = usclock.make(rp2pio)
    if counter is None:
        log("CLK: no state machine left for its microsecond counter; using time.monotonic_ns")
        return None
    return counter.now_us


def _monitor_module():
    """switchyard.monitor when boot.py enabled its channel (usb_cdc.data), else None."""
    try:
        import usb_cdc
    except ImportError:  # a CircuitPython without USB CDC: no monitor
        return None
    if usb_cdc.data is None:
        return None
    from switchyard import monitor

    return monitor


def _make_monitor(ticks_ms):
    """The monitor on usb_cdc.data (docs/MONITOR.md), made last: made first, its buffers
    moved what the box's other blocks found (on the emulated Pico a CLK preset's SysEx
    lanes found no room). A heap with no 1 KB block left for it runs without it."""
    import usb_cdc

    serial = usb_cdc.data
    if serial is None:
        return None
    from switchyard.monitor import Monitor

    serial.timeout = 0
    serial.write_timeout = 0  # never block: a short write keeps the rest for later
    try:
        return Monitor(serial, ticks_ms)
    except MemoryError:
        log("monitor off: no room left in the heap for its 1 KB buffer")
        return None


class _PinFinder:
    """board.<name>, or an error naming the board file and the pin."""

    def __init__(self, board):
        self.board = board

    def __call__(self, name):
        try:
            return getattr(self.board, name)
        except AttributeError:
            raise RuntimeError(  # noqa: B904
                "boards/%s.py names pin %s, which this board has not"
                % (self.board.board_id, name)
            )


def _load_presets(presets_path):
    """presets.json, or the safe default with the reasons logged: (config, broken)."""
    import gc

    result = presets_module.load(presets_path)
    presets_module.unload_checks()
    gc.collect()  # the checks' bytecode: ~12 KB of heap on a .py install
    for line in result.warnings:
        log(line)
    if result.ok:
        return result.config, False
    for line in result.errors:
        log(line)
    log("running the safe default: A and B merged to every output")
    return presets_module.safe_default(), True


def _fn_held_at_power_up(bf, pin):
    """FN held while plugging in: the self-test."""
    import digitalio

    fn_pin = [p for name, p in bf.BUTTONS if name == "FN"]
    if not fn_pin:
        return False
    probe = digitalio.DigitalInOut(pin(fn_pin[0]))
    probe.switch_to_input(pull=digitalio.Pull.UP)
    held = not probe.value
    probe.deinit()
    return held


def _make_uarts(bf, pin):
    """The hardware UARTs: RX for the inputs, TX for outputs that use the "uart" driver.
    Returns ({uart index: busio.UART}, {output name: uart index})."""
    import busio

    uart_tx = {}
    uarts = {}
    for _, index, rx_pin in bf.INPUTS:
        tx = None
        for out_name, driver, tx_pin in bf.OUTPUTS:
            if driver == "uart" and _uart_index(tx_pin) == index:
                tx = tx_pin
                uart_tx[out_name] = index
        uarts[index] = busio.UART(
            tx=pin(tx) if tx else None,
            rx=pin(rx_pin),
            baudrate=31250,
            timeout=0,
            receiver_buffer_size=256,
        )
    return uarts, uart_tx


def _make_inputs(bf, uarts, usb_port_in):
    from switchyard.ports import UsbIn

    inputs = [(name, UartIn(uarts[index])) for name, index, _ in bf.INPUTS]  # type: list
    inputs.append(("USB", UsbIn(usb_port_in)))
    return inputs


def _make_outputs(bf, pin, uarts, uart_tx, usb_port_out, ticks_ms):
    """(name, port, usb) for each DIN output of the board file, then USB."""
    from switchyard.ports import UartOut, UsbOut

    outputs = []  # type: list
    for name, driver, tx_pin in bf.OUTPUTS:
        if driver == "uart":
            outputs.append((name, UartOut(uarts[uart_tx[name]], ticks_ms), False))
        else:
            outputs.append((name, PioOut(_make_state_machine(pin(tx_pin))), False))
    outputs.append(("USB", UsbOut(usb_port_out), True))
    return outputs


def _make_state_machine(tx):
    """The switchyard.piotx transmitter on one pin."""
    import rp2pio

    from switchyard import piotx

    sm = rp2pio.StateMachine(
        piotx.PROGRAM,
        frequency=piotx.FREQUENCY,
        init=piotx.INIT,
        first_out_pin=tx,
        initial_out_pin_state=1,
        initial_out_pin_direction=1,
        first_sideset_pin=tx,
        sideset_pin_count=piotx.SIDESET_PIN_COUNT,
        sideset_enable=True,
        initial_sideset_pin_state=1,
        initial_sideset_pin_direction=1,
        out_shift_right=True,
    )
    if not hasattr(sm, "pending_write") and not hasattr(sm, "pending"):
        raise RuntimeError(  # the pacer's double buffering reads it
            "rp2pio.StateMachine has no `pending_write` in this CircuitPython: the DIN "
            "outputs need CircuitPython 9 or 10 (see docs/INSTALL.md)"
        )
    return sm


def _make_panel(bf, pin):
    """The buttons (keypad scans and debounces them in the background) and the LEDs."""
    import digitalio
    import keypad

    # Scanned every 10 ms (keypad's default is 20): an event's timestamp is its scan's, and
    # 4 taps of tap tempo stay within 1 BPM only with 10 ms steps (switchyard/clockgen.py).
    keys = keypad.Keys([pin(p) for _, p in bf.BUTTONS], value_when_pressed=False, pull=True,
                       interval=0.01)
    leds = {}
    for name, p in bf.LEDS:
        led = digitalio.DigitalInOut(pin(p))
        led.switch_to_output(value=False)
        leds[name] = led
    return keys, keypad.Event(), leds


def _uart_index(tx_pin):
    if tx_pin in ("GP0", "GP12", "GP16", "GP28"):
        return 0
    if tx_pin in ("GP4", "GP8", "GP20"):
        return 1
    return -1


def main(presets_path=PRESETS_PATH):
    app = build(presets_path)
    loop = app.loop
    while True:
        loop(None)

