"""Scenario runner: the real firmware on a simulated Pico, driven pass by pass.

A Simulation builds a Chip, loads lib/switchyard against the hardware doubles, calls
switchyard.app.build() exactly as code.py does, then repeats App.step(), charging each
pass its CPU cost from the cost model. Within a pass, each output write, realtime byte and
look at a UART happens at the time the pass has got to by then (_PassMeter), not at its
start. When a pass finds nothing to do, the clock jumps to
the next event: a byte arriving, a button edge, an acknowledge from a PIO transmitter, or
the next moment the firmware's housekeeping has work (App.next_wake_ms).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sim.chip import Chip
from sim.clock import VirtualClock
from sim.cost import CostModel
from sim.doubles.usb_midi import PortOut
from sim.doubles.vtime import monotonic_ns_at
from sim.install import load_firmware

INPUT_PORTS = ("A", "B", "USB")
OUTPUT_PORTS = ("1", "2", "3", "4", "5", "6", "USB")
BUTTONS = ("P1", "P2", "P3", "P4", "FN")
_NVM_MAGIC = 0x53
DRAIN_TAIL_US = 100_000  # > the longest hardware queue: 2 DMA batches of 16 bytes + FIFO
# How long past its last input a run may still have work: a SysEx its source abandoned is
# closed after 1 to 2 s of silence (app._SYSEX_TIMEOUT_MS, checked once a second), then the
# fullest queues (255 messages, SysEx lanes of merge.LANE_BUDGET = 16 KB at most on one
# output, 63 realtime bytes: under 17 KB, 5.5 s of wire) leave. A run still busy after
# this has stalled.
DRAIN_BOUND_US = 8_000_000
# A pass always costs virtual time, except on a free CPU while bytes still move through the
# doubles; this many passes with the clock standing still is a loop that makes no progress.
STALL_PASSES = 100_000


class SimulationStalled(RuntimeError):
    """The firmware stopped making progress: one line naming the pass, the virtual time
    and what was still queued."""


class Simulation:
    def __init__(
        self,
        presets_path: str | Path | None = None,
        preset: int | None = None,
        board_id: str = "raspberry_pi_pico",
        cost: CostModel | None = None,
        usb_connected: bool = True,
        usb_bytes_per_ms: int | None = None,
        hold_fn_at_boot: bool = False,
        loopback: dict[str, str] | None = None,
        monitor: bool = False,
        monitor_bytes_per_ms: int | None = None,
        monitor_close_us: int | None = None,
        monitor_open: bool = True,
    ):
        self.chip = Chip(board_id)
        if monitor:
            # boot.py enabled usb_cdc.data and a host has it open from the start (a soft
            # reload keeps USB up); it reads monitor_bytes_per_ms (None: fast).
            self.chip.cdc.data_enabled = True
            self.chip.cdc.is_open = monitor_open
            self.chip.cdc.host_bytes_per_ms = monitor_bytes_per_ms
            if monitor_close_us is not None:
                self.chip.cdc.close_at(monitor_close_us)
        self.chip.usb.connected = usb_connected
        self.chip.usb.host_bytes_per_ms = usb_bytes_per_ms
        self.cost = cost if cost is not None else CostModel.load()
        if preset is not None:
            # The box remembers the last preset in NVM; start as if it had been chosen.
            index = preset - 1
            self.chip.nvm[0:3] = bytes([_NVM_MAGIC, index, index ^ 0xA5])
        if presets_path is None:
            presets_path = Path(__file__).resolve().parents[1] / "presets.json"
        self.board = self._board_file(board_id)
        if hold_fn_at_boot:
            fn = dict(self.board.BUTTONS)["FN"]
            self.chip.press(fn, 0, 10**12)
            self.chip.clock.advance_to(0)  # held before power-up: the pin is low at boot
        self.module = load_firmware(self.chip)
        self.app = self.module.build(str(presets_path))
        if self.app.monitor is not None:
            _count_monitor_calls(self.app.monitor)
        # build() has set the CPU clock the board file asks for: time the passes at it.
        self.cost = self.cost.at_clock(self.chip.clk_sys_hz)
        self.rx_pins = {name: pin for name, _, pin in self.board.INPUTS}
        self.tx_pins = {name: pin for name, _, pin in self.board.OUTPUTS}
        self.loopback = loopback or {}  # output port -> input port (a cable on the desk)
        self._loop_seen = {out: 0 for out in self.loopback}
        self.preset_changes: list[dict] = []
        self._usb_in_log: list[tuple[int, int]] = []
        self.passes = 0
        self.busy_us = 0
        self._last_preset = self.app.router.preset_index
        self.end_us = 0
        # per port and direction (id of its double, output): inside a SysEx
        self._in_sysex: dict[tuple[int, bool], bool] = {}

    @staticmethod
    def _board_file(board_id: str):
        import importlib

        return importlib.import_module("boards." + board_id)

    # ---- inputs --------------------------------------------------------------------

    def play(self, port: str, events: list[tuple[int, bytes]]) -> None:
        """Schedule (t_us, bytes) events on an input port (wire rate on DIN)."""
        if port not in INPUT_PORTS:
            raise ValueError(
                "unknown input port %r; inputs are %s" % (port, ", ".join(INPUT_PORTS))
            )
        for t_us, data in events:
            if port == "USB":
                self.chip.usb.send(t_us, data)
                self._usb_in_log.extend((t_us, b) for b in data)
                self.end_us = max(self.end_us, t_us + 320 * len(data))
            else:
                self.end_us = max(self.end_us, self.chip.feed(self.rx_pins[port], t_us, data))

    def press(self, button: str, at_s: float, hold_s: float = 0.1, bounce_ms: float = 0) -> None:
        if button not in BUTTONS:
            raise ValueError("unknown button %r; buttons are %s" % (button, ", ".join(BUTTONS)))
        pin = dict(self.board.BUTTONS)[button]
        self.chip.press(pin, int(at_s * 1e6), int(hold_s * 1e6), int(bounce_ms * 1000))
        self.end_us = max(self.end_us, int((at_s + hold_s) * 1e6) + 50_000)

    # ---- running -------------------------------------------------------------------

    def _outputs_busy(self) -> int:
        """Outputs with something left to send that can still send it (USB with no host
        connected never drains: its queue just fills and drops, as on the box)."""
        absent = not self.chip.usb.connected
        return sum(
            1 for out in self.app.router.outputs if out.busy and not (absent and out.usb)
        )

    def run(self, until_us: int | None = None, drain: bool = True) -> None:
        """Run until `until_us`, or until inputs are played and outputs drained."""
        clock = self.chip.clock
        app = self.app
        step = app.step
        cost = self.cost
        outputs = app.router.outputs
        limit = until_us if until_us is not None else None
        drain_by = self.end_us + DRAIN_BOUND_US if limit is None and drain else None
        still = 0  # passes since virtual time last moved
        while True:
            now = clock.now_us
            if limit is not None and now >= limit:
                break
            if drain_by is not None and now > drain_by:
                raise self._stalled(
                    "still busy %.3f s after the inputs ended" % ((now - self.end_us) / 1e6)
                )
            meter = _PassMeter(cost, clock, len(app.uart_feeds), self._in_sysex, app.monitor,
                               app.clock is not None)
            busy = sum(1 for out in outputs if out.busy)
            hk_before = app.housekeeping_runs
            fired_before = clock.fired
            self.chip.meter = meter.work
            try:
                got = step()
            finally:
                self.chip.meter = None
            self.passes += 1
            if clock.now_us == now:
                still += 1
                if still >= STALL_PASSES:
                    raise self._stalled("virtual time stood still for %d passes" % still)
            else:
                still = 0
            dt = cost.pass_us(*meter.counts(busy, app.housekeeping_runs - hk_before, end=True))
            # The meter has already moved the clock to the pass's last write or look; the
            # rest of the pass (its fixed cost, housekeeping) runs from there.
            end = meter.start_us + dt
            if end > clock.now_us:
                self.chip.cpu(end - clock.now_us)
            self.busy_us += clock.now_us - meter.start_us
            fired = clock.fired != fired_before
            self._after_pass()
            if got or meter.writes or meter.realtime or fired:
                continue  # a looping Pico would start its next pass right away
            # Nothing moved: jump to the next thing that can happen.
            nxt = clock.next_event_us()
            due = self._own_clock_due_us(dt)
            if due is not None and (nxt is None or due < nxt):
                nxt = due
            wake = app.next_wake_ms()
            if wake is not None:
                wake_us = self._ms_to_us(wake)
                if nxt is None or wake_us < nxt:
                    nxt = wake_us
            if self._outputs_busy() and self._progress_possible():
                # A slow host takes bytes as time passes, with no event to say so: the
                # Pico keeps looping, so look again within a millisecond, not at the next
                # event (a pass counts down the USB back-off).
                soon = clock.now_us + 1000
                if nxt is None or nxt > soon:
                    nxt = soon
            if nxt is None:
                break
            if limit is None and drain and nxt > self.end_us and not self._outputs_busy():
                break  # inputs played (this pass read nothing) and outputs drained
            if limit is not None and nxt > limit:
                if limit > clock.now_us:
                    clock.advance_to(limit)
                break
            # fires what is due, including events due right now (a press at t = 0)
            clock.advance_to(max(nxt, clock.now_us))
        self._after_pass()
        if limit is None and drain:
            # Bytes already handed to DMA and PIO are still leaving: let them go out.
            self.run(until_us=clock.now_us + DRAIN_TAIL_US, drain=False)

    def _stalled(self, why: str) -> SimulationStalled:
        """The one-line error of a run that stopped making progress."""
        waiting = []
        for out in self.app.router.outputs:
            queued = out.queued()
            if not out.busy and not queued:
                continue
            what = "out %s: %d queued" % (out.name, queued)
            if out.sysex is not None:
                sources = INPUT_PORTS + ("the box",)  # merge.SOURCES lanes, in this order
                source = next(
                    sources[k] for k, lane in enumerate(out.lanes) if lane is out.sysex
                )
                what += ", held by a SysEx from %s" % source
            waiting.append(what)
        for name, parser in zip(self.app.input_names, self.app.parsers, strict=True):
            if parser.in_sysex:
                waiting.append("in %s: inside a SysEx" % name)
        return SimulationStalled(
            "the box stalled at pass %d, t = %.6f s: %s (%s)"
            % (self.passes, self.chip.clock.now_us / 1e6, why,
               "; ".join(waiting) or "nothing queued")
        )

    def _own_clock_due_us(self, pass_us: int) -> int | None:
        """When CLK (switchyard.clockgen) next has something to send, or None.

        The Pico spins through passes of `pass_us` (this idle pass's cost) meanwhile; the
        first pass that starts once the clock is due (and its ticks gate open) sends it,
        so the jump lands on that pass, not on the due time itself."""
        gen = self.app.clock
        if gen is None or not (gen.ticking or gen.start_pending or gen.stop_pending):
            return None
        now = self.chip.clock.now_us
        t = self._ms_to_us(gen.gate_ms)
        if gen.ticking and not gen.stop_pending:
            fine = self._fine_source(gen)
            ahead = (gen.due - fine(now)) % _FINE_WRAP
            if ahead < _FINE_WRAP // 2:
                due = now + ahead
                while (fine(due) - gen.due) % _FINE_WRAP >= _FINE_WRAP // 2:
                    due += 1  # monotonic_ns lags real time by up to one 30.5 us subtick
                if gen.held < 0 and gen.hold is not None:
                    due -= min(ahead, gen.lead)  # first the look that holds the outputs
                t = max(t, due)
        if t > now and pass_us > 0:
            t = now + -(-(t - now) // pass_us) * pass_us
        return t

    def _fine_source(self, gen: object) -> Callable[[int], int]:
        """What gen.now_us() reads at a virtual time: switchyard.usclock's count (the
        state machine's X, run up to now: it falls by one a microsecond) or, without a
        state machine for it, time.monotonic_ns()."""
        counter = getattr(getattr(gen, "now_us", None), "__self__", None)
        sm = getattr(counter, "sm", None)
        if sm is None:
            return _fine_us
        sm._sync()
        base_t = self.chip.clock.now_us
        base = (-sm._core.x) % _FINE_WRAP
        return lambda t: (base + t - base_t) % _FINE_WRAP

    def _progress_possible(self) -> bool:
        usb = self.chip.usb
        return usb.connected and usb.host_bytes_per_ms is not None

    def _ms_to_us(self, ticks_ms: int) -> int:
        """The virtual time at which supervisor.ticks_ms() first reads `ticks_ms`."""
        now_ticks = self.chip.ticks_ms()
        ahead = (ticks_ms - now_ticks) % (1 << 29)
        if ahead >= 1 << 28:
            return self.chip.clock.now_us  # already due
        return self.chip.ms64_time_us(self.chip.ticks_ms64() + ahead)

    def _after_pass(self) -> None:
        index = self.app.router.preset_index
        if index != self._last_preset:
            self._last_preset = index
            self.preset_changes.append({"t_us": self.chip.clock.now_us, "preset": index + 1})
        for out_port, in_port in self.loopback.items():
            log = self._out_log(out_port)
            seen = self._loop_seen[out_port]
            if len(log) > seen:
                for t_us, byte in log[seen:]:
                    at = max(t_us, self.chip.clock.now_us)
                    self.chip.feed(self.rx_pins[in_port], at, bytes([byte]))
                self._loop_seen[out_port] = len(log)

    # ---- results -------------------------------------------------------------------

    def _out_log(self, port: str) -> list[tuple[int, int]]:
        if port == "USB":
            return self.chip.usb.received
        return self.chip.wire_log[self.tx_pins[port]]

    def _in_log(self, port: str) -> list[tuple[int, int]]:
        if port == "USB":
            return self._usb_in_log
        return self.chip.wire_log[self.rx_pins[port]]

    def outputs(self) -> dict[str, list[tuple[int, int]]]:
        return {port: list(self._out_log(port)) for port in OUTPUT_PORTS if self._has(port)}

    def inputs(self) -> dict[str, list[tuple[int, int]]]:
        """What each input's wire carried up to now (bytes scheduled later never arrived)."""
        now = self.chip.clock.now_us
        return {
            port: [(t, b) for t, b in self._in_log(port) if t <= now]
            for port in INPUT_PORTS
            if self._has_in(port)
        }

    def _has(self, port: str) -> bool:
        return port == "USB" or port in self.tx_pins

    def _has_in(self, port: str) -> bool:
        return port == "USB" or port in self.rx_pins

    def output_bytes(self, port: str) -> bytes:
        return bytes(b for _, b in self._out_log(port))

    def summary(self) -> dict:
        app = self.app
        return {
            "drops": app.drops(),
            "outputs": {
                name: {"drops": drops, "sysex_drops": sysex, "coalesced": coalesced}
                for name, drops, sysex, coalesced in app.given_up()
            },
            "rx_overflow": sum(self.chip.rx_overflow[pin] for pin in self.rx_pins.values()),
            "monitor": self._monitor_summary(),
            "parse_errors": app.parse_errors(),
            "preset_changes": list(self.preset_changes),
            "clocks": {  # timing clocks (F8) each output sent
                port: sum(1 for _, byte in log if byte == 0xF8)
                for port, log in self.outputs().items()
            },
            "end_us": self.chip.clock.now_us,
            "passes": self.passes,
            "cpu_busy_fraction": round(self.busy_us / max(1, self.chip.clock.now_us), 4),
            "cost_model": self.cost.as_dict(),
        }

    def _monitor_summary(self) -> dict | None:
        """The monitor's own figures (None when usb_cdc.data is off): bytes the host got,
        records made and given up (the stream says so too: gap records)."""
        mon = self.app.monitor
        if mon is None:
            return None
        return {
            "open": mon.on,
            "opens": mon.opens,
            "bytes_streamed": sum(len(d) for _, d in self.chip.cdc.received),
            "records": mon.records + mon.singles,
            "given_up": mon.given_up + mon.gap,
        }

    def monitor_stream(self) -> bytes:
        """Every byte the host read from usb_cdc.data, in order."""
        return self.chip.cdc.stream()

    def write(self, out_dir: str | Path) -> None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        for port, log in self.inputs().items():
            _write_jsonl(out / ("in-%s.jsonl" % port), log)
        for port, log in self.outputs().items():
            _write_jsonl(out / ("out-%s.jsonl" % port), log)
        (out / "summary.json").write_text(json.dumps(self.summary(), indent=2) + "\n")


class _PassMeter:
    """Counts what a pass does as it does it, and places it in time.

    The cost model charges a pass as a whole, but on the Pico a byte read at the start of
    a pass goes out only after it has been parsed and routed and the outputs serviced
    before it. The doubles report to the meter (chip.work) each read that gave bytes and,
    just before they act, each write to an output, each realtime byte into a PIO
    transmitter and each look at a UART. Before acting, the meter moves the clock on to the
    start of the pass plus the work fuel of everything the pass has done so far and of
    this act itself (a write with its busy-output share): a write's bytes leave after the
    pacer built them, and a look at a UART sees what came while the pass worked. The
    first look at each UART in a pass is the one at its top, in pass_fuel; the loop's
    fixed pass_fuel and housekeeping are charged at the end of the pass, with the rest.

    These calls are also the whole count the pass is charged for: the bytes read and
    written, and among them the SysEx bytes (which cost less), told apart by following
    each port's stream here (`in_sysex`, kept by the runner from pass to pass).
    """

    def __init__(self, cost: CostModel, clock: VirtualClock, uarts: int,
                 in_sysex: dict[tuple[int, bool], bool], monitor: object = None,
                 clk: bool = False) -> None:
        # The monitor's own counters (records, hand-overs) at the start of the pass:
        # what it did meanwhile is charged like the rest (CostModel.work_fuel).
        self.monitor = monitor
        self.mon_start = (
            (monitor.records, monitor.singles, monitor.pumps, monitor.batches, monitor.marks)
            if monitor is not None else None
        )
        self.cost = cost
        self.clock = clock
        self.start_us = clock.now_us
        self.free_polls = uarts
        self.in_sysex = in_sysex
        self.reads = 0
        self.copies = 0
        self.bytes_in = 0
        self.sysex_in = 0
        self.polls = 0
        self.writes = 0
        self.usb_writes = 0
        self.out_bytes = 0
        self.sysex_out = 0
        self.realtime = 0
        self.clk = clk  # the loop looks at CLK's gate after each write, calls it at the end
        self.clock_reads = 0

    def work(self, kind: str, data: bytes, port: object) -> None:
        if kind == "read":
            self.reads += 1
            self.copies += len(data) > 1  # a monitor tap copies more than one byte
            self.bytes_in += len(data)
            self.sysex_in += self._sysex_bytes(port, data, False)
            return  # charged with whatever comes next
        if kind == "poll":
            if self.free_polls:
                self.free_polls -= 1
            else:
                self.polls += 1
        elif kind == "realtime":
            self.realtime += 1
        elif kind == "clock":
            self.clock_reads += 1
        else:
            self.writes += 1
            self.usb_writes += isinstance(port, PortOut)  # a USB write makes its record
            self.out_bytes += len(data)
            self.sysex_out += self._sysex_bytes(port, data, True)
        # so far, with one busy output's share for each write
        fuel = self.cost.work_fuel(*self.counts(self.writes))
        at = self.start_us + self.cost.us(fuel)
        if at > self.clock.now_us:
            self.clock.advance_to(at)

    def counts(self, busy_outputs: int, housekeeping: int = 0,
               end: bool = False) -> tuple[int, ...]:
        """What the pass has done so far, as CostModel.work_fuel and pass_us take it
        (`end`: the whole pass, with what comes after its writes)."""
        counts = (
            self.bytes_in, self.out_bytes + self.realtime, busy_outputs, housekeeping,
            self.sysex_in, min(self.sysex_out, self.out_bytes), self.reads, self.writes,
            self.realtime, self.polls,
            (1 if end else 0) if self.clk else 0,
            self.clock_reads,
            self.writes if self.clk else 0,
        )
        if self.mon_start is None:
            return counts
        mon = self.monitor
        r0, s0, p0, b0, m0 = self.mon_start
        wrap = 0x3FFFFFFF
        taps = mon.on  # type: ignore[attr-defined]
        return counts + (
            (mon.records - r0) & wrap, (mon.pumps - p0) & wrap,  # type: ignore[attr-defined]
            (mon.singles - s0) & wrap,  # type: ignore[attr-defined]
            self.reads if taps else 0, self.writes - self.usb_writes if taps else 0,
            mon.marks - m0, mon.batches - b0,  # type: ignore[attr-defined]
            self.copies if taps else 0,
        )

    def _sysex_bytes(self, port: object, data: bytes, closing: bool) -> int:
        """SysEx bytes in `data` on `port`: its data bytes, and with `closing` its F7 too
        (an output sends the F7 from the SysEx lane, an input's parser only ends on it).
        Realtime bytes inside a SysEx are not SysEx bytes. A busio.UART may be both an input
        and an output: its two directions are followed apart."""
        key = (id(port), closing)
        inside = self.in_sysex.get(key, False)
        count = 0
        for byte in data:
            if byte < 0x80:
                count += inside
            elif byte == 0xF0:
                inside = True
            elif byte < 0xF8:
                if inside and byte == 0xF7 and closing:
                    count += 1
                inside = False
        self.in_sysex[key] = inside
        return count


_FINE_WRAP = 1 << 24  # switchyard.clockgen's fine time: us modulo 2**24


def _fine_us(now_us: int) -> int:
    """clockgen.monotonic_us() at virtual time now_us."""
    return (monotonic_ns_at(now_us) // 1000) % _FINE_WRAP


def _count_monitor_calls(mon: Any) -> None:
    """Count the monitor's batches (after_pass) and realtime marks (realtime: one a
    fan-out) for the cost model (monitor_pass_fuel, monitor_realtime_fuel). The box keeps
    no such counters: they are counted here, around its methods."""
    mon.batches = 0
    mon.marks = 0
    after_pass = mon.after_pass
    realtime = mon.realtime

    def counted_after_pass() -> None:
        mon.batches += 1
        after_pass()

    def counted_realtime(bits: int, byte: int) -> None:
        mon.marks += 1
        realtime(bits, byte)

    mon.after_pass = counted_after_pass
    mon.realtime = counted_realtime


def _write_jsonl(path: Path, log: list[tuple[int, int]]) -> None:
    with path.open("w") as f:
        for t_us, byte in log:
            f.write('{"t_us": %d, "byte": %d}\n' % (t_us, byte))
