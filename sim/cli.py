"""Command line of the simulator.

    python -m sim run [--presets FILE] [--preset N] --in PORT=FILE ...
                      [--press BUTTON@SECONDS[+HOLD]] ... [--seconds S] --out DIR
                      [--board BOARD_ID] [--usb-host fast|slow|absent] [--free-cpu]
                      [--monitor FILE [--monitor-host fast|slow|KB_PER_S]
                       [--monitor-close SECONDS]]
    python -m sim demo [--seconds S] [--preset N] [--out DIR]

run: PORT is A, B or USB; FILE is .mid, .syx or .jsonl. BUTTON is P1..P4 or FN, pressed
at SECONDS for HOLD seconds (default 0.1; FN@3+1.5 is a long press). Without --seconds it
runs until the inputs are played and the outputs drained. Writes DIR/in-PORT.jsonl,
DIR/out-PORT.jsonl ({"t_us", "byte"} a line, the start of the byte on the wire) and
DIR/summary.json. --monitor FILE: boot.py's usb_cdc.data is on and a host holds it open
from the start, reading fast, slowly (--monitor-host slow: 2 KB/s, or a number of KB/s) or
until --monitor-close; FILE gets every byte the box streamed on it (docs/MONITOR.md;
`tools/monitor.py --replay FILE` decodes it). Errors are one line on stderr and exit
status 2; a run in which the box stops making progress (virtual time standing still, or
work left 3 s after the inputs ended) stops with one line naming the pass, the time and
what was queued, and exit status 3.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
from pathlib import Path

from sim import analysis, plots, scenario
from sim.cost import CostModel
from sim.runner import BUTTONS, INPUT_PORTS, OUTPUT_PORTS, Simulation, SimulationStalled
from sim.sources import SourceError, load_events, write_jsonl

REPO = Path(__file__).resolve().parents[1]


class UsageError(Exception):
    pass


def _parse_in(spec: str) -> tuple[str, str]:
    port, sep, path = spec.partition("=")
    if not sep or not path:
        raise UsageError("--in %s: expected PORT=FILE, e.g. --in A=digitakt.mid" % spec)
    port = port.strip().upper()
    if port not in INPUT_PORTS:
        raise UsageError("--in %s: unknown input port %r; inputs are A, B, USB" % (spec, port))
    return port, path


def _parse_press(spec: str) -> tuple[str, float, float]:
    button, sep, when = spec.partition("@")
    button = button.strip().upper()
    if not sep:
        raise UsageError("--press %s: expected BUTTON@SECONDS[+HOLD], e.g. FN@3+1.5" % spec)
    if button not in BUTTONS:
        raise UsageError(
            "--press %s: unknown button %r; buttons are %s" % (spec, button, ", ".join(BUTTONS))
        )
    at, plus, hold = when.partition("+")
    try:
        at_s = float(at)
        hold_s = float(hold) if plus else 0.1
    except ValueError:
        raise UsageError("--press %s: SECONDS and HOLD must be numbers" % spec) from None
    if at_s < 0 or hold_s <= 0:
        raise UsageError("--press %s: SECONDS must be >= 0 and HOLD > 0" % spec)
    return button, at_s, hold_s


def cmd_run(args: argparse.Namespace) -> int:
    if not args.inputs and not args.press and args.seconds is None:
        raise UsageError(
            "nothing to simulate: give at least one --in PORT=FILE, --press or --seconds"
        )
    presets = args.presets
    if presets is not None and not Path(presets).is_file():
        raise UsageError("--presets %s: no such file" % presets)
    if args.preset is not None and not 1 <= args.preset <= 8:
        raise UsageError("--preset %d: presets are numbered 1..8" % args.preset)
    inputs = [_parse_in(s) for s in args.inputs]
    presses = [_parse_press(s) for s in args.press]
    events = {}
    for port, path in inputs:
        if port in events:
            raise UsageError("--in %s given twice" % port)
        events[port] = load_events(path)
    usb = {"fast": (True, None), "slow": (True, 4), "absent": (False, None)}[args.usb_host]
    monitor_rate = _monitor_rate(args.monitor_host)
    if args.monitor is None and (args.monitor_host != "fast" or args.monitor_close is not None):
        raise UsageError("--monitor-host and --monitor-close need --monitor FILE")
    sim = Simulation(
        presets_path=presets,
        preset=args.preset,
        board_id=args.board,
        cost=CostModel.free() if args.free_cpu else None,
        usb_connected=usb[0],
        usb_bytes_per_ms=usb[1],
        monitor=args.monitor is not None,
        monitor_bytes_per_ms=monitor_rate,
        monitor_close_us=(int(args.monitor_close * 1e6)
                          if args.monitor_close is not None else None),
    )
    for port, ev in events.items():
        sim.play(port, ev)
    for button, at_s, hold_s in presses:
        sim.press(button, at_s, hold_s)
    try:
        sim.run(until_us=int(args.seconds * 1e6) if args.seconds is not None else None)
    finally:
        sim.write(args.out)  # a stalled run leaves what it had, to look at
        if args.monitor is not None:
            Path(args.monitor).parent.mkdir(parents=True, exist_ok=True)
            Path(args.monitor).write_bytes(sim.monitor_stream())
    s = sim.summary()
    print(
        "simulated %.3f s: %d drops, %d RX overflow, %d parse errors, %d preset changes -> %s"
        % (s["end_us"] / 1e6, s["drops"], s["rx_overflow"], s["parse_errors"],
           len(s["preset_changes"]), args.out)
    )
    if any(s["clocks"].values()):
        print("clocks: " + ", ".join("out %s %d" % (name, n) for name, n in s["clocks"].items()))
    for name, o in s["outputs"].items():
        if o["drops"] or o["coalesced"]:
            print("  out %s full: %d messages given up (%d SysEx), %d values coalesced"
                  % (name, o["drops"], o["sysex_drops"], o["coalesced"]))
    if args.monitor is not None:
        m = s["monitor"]
        print("monitor: %d bytes streamed, %d records, %d records given up -> %s"
              % (m["bytes_streamed"], m["records"], m["given_up"], args.monitor))
    return 0


def _monitor_rate(spec: str) -> int | None:
    """--monitor-host: None (fast) or bytes per ms."""
    if spec == "fast":
        return None
    if spec == "slow":
        return 2
    try:
        rate = float(spec)
    except ValueError:
        raise UsageError("--monitor-host %s: fast, slow or a number of KB/s" % spec) from None
    if rate <= 0:
        raise UsageError("--monitor-host %s: KB/s must be > 0" % spec)
    return max(1, round(rate))


def studio_report(sim: Simulation, devices: dict[str, str]) -> dict:
    """Per-output message counts and the timing figures of a finished simulation."""
    ins = sim.inputs()
    outs = sim.outputs()
    report: dict = {"outputs": {}}
    box_all, first_all, jitter_all, added_all = [], [], [], []
    for port in OUTPUT_PORTS:
        if port not in outs:
            continue
        log = outs[port]
        c = analysis.counts(log)
        box, first = analysis.latencies(ins, log)
        added_all += analysis.added_delays(ins, log)
        jitter = analysis.clock_jitter(ins.get("A", []), log) if analysis.clock_times(log) else []
        box_all += box
        first_all += first
        jitter_all += jitter
        report["outputs"][port] = {
            "device": devices.get(port, ""),
            "bytes": len(log),
            "messages": {
                "%s%s" % (t, "" if ch is None else " ch%d" % (ch + 1)): n
                for (t, ch), n in sorted(c.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0))
            },
            "latency_us": analysis.summary_stats(box),
            "clock_jitter_us": analysis.summary_stats(jitter),
        }
    report["latency_us"] = analysis.summary_stats(box_all)
    report["latency_first_byte_us"] = analysis.summary_stats(first_all)
    report["added_delay_us"] = analysis.summary_stats(added_all)
    report["clock_jitter_us"] = analysis.summary_stats(jitter_all)
    report["summary"] = sim.summary()
    return report


def run_studio(seconds: float, cost: CostModel | None = None,
               preset: int | None = None) -> tuple[Simulation, dict]:
    """The studio scenario (presets.json; the Digitakt on A, the Keystep on B) run to its
    end, on preset `preset` (1..8; the saved one, 1, when None): the simulation and its
    report (the demo, and tools/bench.py's timing figures)."""
    sim = Simulation(presets_path=REPO / "presets.json", cost=cost, preset=preset)
    sim.play("A", scenario.digitakt(seconds))
    sim.play("B", scenario.keystep(seconds - 0.5))
    sim.run()
    devices = json.loads((REPO / "presets.json").read_text()).get("devices", {})
    return sim, studio_report(sim, devices)


def cmd_demo(args: argparse.Namespace) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_jsonl(out / "digitakt.jsonl", scenario.digitakt(args.seconds))
    write_jsonl(out / "keystep.jsonl", scenario.keystep(args.seconds - 0.5))
    console = io.StringIO()
    with contextlib.redirect_stdout(console):  # the box's serial console
        sim, report = run_studio(args.seconds, preset=args.preset)
    sim.write(out)
    (out / "console.txt").write_text(console.getvalue())
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    devices = {port: info["device"] for port, info in report["outputs"].items()}
    pictures = plots.write_plots(plots.timing_series(sim, devices), out)
    router = sim.app.router
    print("Switchyard studio demo: %.1f s of Digitakt (in A) and Keystep (in B), preset %d \"%s\""
          % (args.seconds, router.preset_index + 1, router.presets[router.preset_index].name))
    print("cost model: %s; CPU at %d MHz"
          % (sim.cost.source, sim.cost.ns_per_fuel_clk_hz // 1_000_000))
    lines = console.getvalue().splitlines()
    print("serial console: %d lines in %s (the last: %s)"
          % (len(lines), out / "console.txt", lines[-1] if lines else "none"))
    print()
    for port, info in report["outputs"].items():
        name = ("out %s" % port) + (" (%s)" % info["device"] if info["device"] else "")
        print("%-22s %5d bytes" % (name, info["bytes"]))
        if not info["messages"]:
            print("    (nothing)")
        for kind, n in info["messages"].items():
            print("    %-26s %5d" % (kind, n))
    s = report["summary"]
    lat = report["latency_us"]
    first = report["latency_first_byte_us"]
    jit = report["clock_jitter_us"]
    print()
    print("latency (last byte in -> first byte out): p50 %d us, p99 %d us, max %d us (%d messages)"
          % (lat["p50"], lat["p99"], lat["max"], lat["count"]))
    print("latency (first byte in -> first byte out): p50 %d us, p99 %d us, max %d us"
          % (first["p50"], first["p99"], first["max"]))
    added = report["added_delay_us"]
    print("added delay (last byte in -> last byte out, what a player feels): p50 %d us, "
          "p99 %d us, max %d us" % (added["p50"], added["p99"], added["max"]))
    print("clock jitter on the outputs: p50 %d us, p99 %d us, max %d us (%d intervals)"
          % (jit["p50"], jit["p99"], jit["max"], jit["count"]))
    print("drops %d, RX overflow %d, parse errors %d, CPU busy %.1f %%"
          % (s["drops"], s["rx_overflow"], s["parse_errors"], 100 * s["cpu_busy_fraction"]))
    print("given up when full: " + (", ".join(
        "out %s %d (%d SysEx) + %d coalesced" % (name, o["drops"], o["sysex_drops"], o["coalesced"])
        for name, o in s["outputs"].items() if o["drops"] or o["coalesced"]) or "nothing"))
    print("plots: %s" % ", ".join(p.name for p in pictures))
    print("files: %s" % out)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m sim", description="Switchyard simulator")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="play MIDI files into the simulated box")
    run.add_argument("--presets", help="presets.json to load (default: the repo's)")
    run.add_argument("--preset", type=int, help="start on preset N (1..8)")
    run.add_argument("--in", dest="inputs", action="append", default=[], metavar="PORT=FILE")
    run.add_argument("--press", action="append", default=[], metavar="BUTTON@SECONDS[+HOLD]")
    run.add_argument("--seconds", type=float, help="simulate this long (default: until drained)")
    run.add_argument("--out", required=True, help="directory for the .jsonl logs and summary.json")
    run.add_argument("--board", default="raspberry_pi_pico",
                     choices=("raspberry_pi_pico", "raspberry_pi_pico2"))
    run.add_argument("--usb-host", default="fast", choices=("fast", "slow", "absent"))
    run.add_argument("--monitor", metavar="FILE",
                     help="save what the box streams on usb_cdc.data (a host holds it open)")
    run.add_argument("--monitor-host", default="fast", metavar="fast|slow|KB_PER_S",
                     help="how fast that host reads (slow: 2 KB/s)")
    run.add_argument("--monitor-close", type=float, metavar="SECONDS",
                     help="the host closes the monitor's channel then")
    run.add_argument("--free-cpu", action="store_true",
                     help="no CPU cost (logic only; timing figures are then meaningless)")
    demo = sub.add_parser("demo", help="the studio scenario, printed per output")
    demo.add_argument("--seconds", type=float, default=8.0)
    demo.add_argument("--preset", type=int, help="play it through preset N (1..8; 5 is the "
                      "split: the Keystep's lower half on the Minitaur, its upper on the Rev2)")
    demo.add_argument("--out", default=str(REPO / "build" / "demo"))
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            return cmd_run(args)
        return cmd_demo(args)
    except (UsageError, SourceError) as e:
        print("sim: error: %s" % e, file=sys.stderr)
        return 2
    except SimulationStalled as e:
        print("sim: error: %s" % e, file=sys.stderr)
        return 3
