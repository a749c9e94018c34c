"""Try it: play the studio scenario or a .mid through the simulated box with edited presets.

The edited text is written to a temporary presets.json that the real firmware loads in the
simulator (sim.runner.Simulation), started on the preset the page shows. The figures are
sim.cli.studio_report's (the numbers `make demo` prints) and the pictures sim.plots' (the
ones `make demo` writes).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import io
import tempfile
import threading
from pathlib import Path

from editor.document import Problem, check_text, presets, safe_name
from sim import plots, scenario
from sim.cli import studio_report
from sim.runner import INPUT_PORTS, Simulation, SimulationStalled
from sim.sources import SourceError, load_events

MAX_MIDI_BYTES = 1 << 20
MAX_MIDI_SECONDS = 60.0  # of music played; a longer file is cut there (simulating takes CPU)
STUDIO_SECONDS = (1.0, 30.0)
MIDI_SUFFIXES = (".mid", ".midi")
# One simulation at a time: the simulator installs its board doubles for the whole process.
_LOCK = threading.Lock()


def _studio_events(seconds) -> tuple[dict, str]:
    low, high = STUDIO_SECONDS
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise Problem("seconds must be a number from %g to %g" % (low, high))
    if not low <= seconds <= high:
        raise Problem("seconds must be from %g to %g, not %g" % (low, high, seconds))
    events = {"A": scenario.digitakt(seconds), "B": scenario.keystep(seconds - 0.5)}
    return events, "the studio scenario, %g s (Digitakt on A, Keystep on B)" % seconds


def _midi_events(midi_b64, midi_name, port, folder: Path) -> tuple[dict, str, list[str]]:
    name = safe_name(midi_name or "upload.mid")
    if not name.lower().endswith(MIDI_SUFFIXES):
        raise Problem("%s is not a .mid file; try it plays Standard MIDI Files (.mid)" % name)
    if port not in INPUT_PORTS:
        raise Problem("input %r is not on the box; inputs are %s" % (port, ", ".join(INPUT_PORTS)))
    if not isinstance(midi_b64, str):
        raise Problem("no MIDI file came with the request; choose a .mid file")
    try:
        data = base64.b64decode(midi_b64, validate=True)
    except (binascii.Error, ValueError):
        raise Problem("%s did not arrive whole (bad base64); choose it again" % name) from None
    if len(data) > MAX_MIDI_BYTES:
        raise Problem(
            "%s is %s bytes; try it takes .mid files up to %s bytes"
            % (name, format(len(data), ","), format(MAX_MIDI_BYTES, ",")),
            status=413,
        )
    path = folder / ("upload" + Path(name).suffix.lower())
    path.write_bytes(data)
    try:
        events = load_events(path)
    except SourceError as e:
        raise Problem(str(e).replace(str(path), name)) from None
    if not events:
        raise Problem("%s holds no MIDI events to play" % name)
    notes = []
    limit_us = int(MAX_MIDI_SECONDS * 1e6)
    if events[-1][0] > limit_us:
        events = [e for e in events if e[0] <= limit_us]
        notes.append("%s is longer than %g s: played its first %g s"
                     % (name, MAX_MIDI_SECONDS, MAX_MIDI_SECONDS))
    return {port: events}, "%s on input %s" % (name, port), notes


def try_presets(
    text: str,
    filename: str = "presets.json",
    preset: int = 1,
    source: str = "studio",
    seconds: float = 8.0,
    midi_b64: str | None = None,
    midi_name: str | None = None,
    port: str = "A",
) -> dict:
    """Run the simulator with these presets; the report and the plots as SVG text."""
    verdict = check_text(text, filename)
    if not verdict["ok"]:
        count = len(verdict["errors"])
        raise Problem(
            "fix the %d error%s first: with this file the box would run its safe default"
            % (count, "" if count == 1 else "s"),
            status=422,
            details=[e["text"] for e in verdict["errors"]],
        )
    config = presets.parse(text, safe_name(filename)).config
    count = len(config.presets)
    if isinstance(preset, bool) or not isinstance(preset, int) or not 1 <= preset <= count:
        raise Problem("preset must be a number from 1 to %d" % count)
    with tempfile.TemporaryDirectory(prefix="switchyard-try-") as folder:
        notes: list[str] = []
        if source == "studio":
            events, what = _studio_events(seconds)
        elif source == "midi":
            events, what, notes = _midi_events(midi_b64, midi_name, port, Path(folder))
        else:
            raise Problem('source must be "studio" or "midi"')
        presets_path = Path(folder) / "presets.json"
        presets_path.write_text(text, encoding="utf-8")
        shown_path = str(presets_path)
        with _LOCK:
            console = io.StringIO()
            with contextlib.redirect_stdout(console):  # the box's serial console
                sim = Simulation(presets_path=presets_path, preset=preset)
                for port_name, port_events in events.items():
                    sim.play(port_name, port_events)
                try:
                    sim.run()
                except SimulationStalled as stall:
                    raise Problem("the simulated box stopped making progress: %s" % stall,
                                  status=500) from None
            report = studio_report(sim, config.devices)
            series = plots.timing_series(sim, config.devices)
            pictures = {
                name: plots.render(fig, "svg").decode("utf-8")
                for name, fig in plots.figures(series).items()
            }
    summary = report["summary"]
    return {
        "preset": {"number": preset, "name": config.presets[preset - 1].name},
        "source": what,
        "notes": notes,
        "outputs": report["outputs"],
        "latency_us": report["latency_us"],
        "latency_first_byte_us": report["latency_first_byte_us"],
        "clock_jitter_us": report["clock_jitter_us"],
        "summary": {k: summary[k] for k in (
            "drops", "rx_overflow", "parse_errors", "preset_changes", "end_us",
            "cpu_busy_fraction")},
        "console": console.getvalue().replace(shown_path, safe_name(filename)).splitlines(),
        "plots": pictures,
    }
