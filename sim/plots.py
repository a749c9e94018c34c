"""Pictures of timing: a latency histogram and clock jitter over time, one panel per output.

`make demo` writes them (PNG and SVG) next to its report, and the preset editor's "try it"
shows the same figures for the edited presets. The numbers are sim.analysis's, the ones the
demo prints: latency is the box's own delay (last byte in -> first byte out) of each channel
message; jitter is |output clock interval - input clock interval| at each output clock.

matplotlib's object API only (Figure, no pyplot): pyplot keeps global state, which the
editor's server threads must not share.
"""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib
from matplotlib.figure import Figure

from sim import analysis
from sim.runner import OUTPUT_PORTS

LATENCY_BIN_US = 50
INK = "#1f2933"
BAR = "#3d7cc9"
P50 = "#2f9e44"
P99 = "#e8590c"
PANEL_H = 1.3  # inches per output panel
FIG_W = 7.5
FIG_EXTRA_H = 1.3  # title and axis label
# Fixed ids and no date inside the SVG, so the same run draws the same file.
_SVG_RC = {"svg.hashsalt": "switchyard", "svg.fonttype": "path"}
_METADATA = {"svg": {"Date": None}, "png": {"Software": None}}


def timing_series(sim, devices: dict[str, str], clock_input: str = "A") -> list[dict]:
    """Per output that carried anything: its latencies and its clock jitter with times.

    clock_input is the input whose clock the outputs are measured against (the studio's
    Digitakt on A, as in sim.cli.studio_report).
    """
    ins = sim.inputs()
    outs = sim.outputs()
    source_clocks = ins.get(clock_input, [])
    series = []
    for port in OUTPUT_PORTS:
        log = outs.get(port)
        if not log:
            continue
        box, _ = analysis.latencies(ins, log)
        jitter = analysis.clock_jitter(source_clocks, log)
        # jitter[k] is the interval that ends at output clock k + 1
        times = analysis.clock_times(log)[1 : len(jitter) + 1]
        series.append(
            {
                "port": port,
                "device": devices.get(port, ""),
                "latency_us": box,
                "jitter_t_us": times,
                "jitter_us": jitter,
            }
        )
    return series


def _label(s: dict) -> str:
    return "out %s" % s["port"] + ("\n" + s["device"] if s["device"] else "")


def _empty(fig: Figure, text: str) -> Figure:
    ax = fig.subplots()
    ax.set_axis_off()
    ax.text(0.5, 0.5, text, ha="center", va="center", color=INK)
    return fig


def _panels(rows: list[dict], title: str) -> tuple[Figure, list]:
    fig = Figure(figsize=(FIG_W, FIG_EXTRA_H + PANEL_H * max(1, len(rows))), layout="constrained")
    fig.suptitle(title, color=INK)
    if not rows:
        return fig, []
    axes = fig.subplots(len(rows), 1, sharex=True, squeeze=False)[:, 0]
    for ax, s in zip(axes, rows):
        ax.set_ylabel(_label(s), rotation=0, ha="right", va="center", color=INK)
        ax.spines[["top", "right"]].set_visible(False)
        ax.tick_params(labelsize=8)
    return fig, list(axes)


def _stats_text(stats: dict, count_word: str) -> str:
    return "p50 %d µs · p99 %d µs · max %d µs · %d %s" % (
        stats["p50"], stats["p99"], stats["max"], stats["count"], count_word
    )


def latency_figure(series: list[dict]) -> Figure:
    """A histogram of each output's latencies, p50 and p99 marked."""
    rows = [s for s in series if s["latency_us"]]
    fig, axes = _panels(rows, "Latency per output (last byte in → first byte out)")
    if not rows:
        return _empty(fig, "no channel message reached an output")
    top = max(max(s["latency_us"]) for s in rows)
    bins = list(range(0, top + 2 * LATENCY_BIN_US, LATENCY_BIN_US))
    for ax, s in zip(axes, rows):
        stats = analysis.summary_stats(s["latency_us"])
        ax.hist(s["latency_us"], bins=bins, color=BAR)
        ax.axvline(stats["p50"], color=P50, linewidth=1.2)
        ax.axvline(stats["p99"], color=P99, linewidth=1.2, linestyle="--")
        ax.set_title(_stats_text(stats, "messages"), loc="right", fontsize=8, color=INK)
    axes[-1].set_xlabel("latency (µs), %d µs bins; green p50, dashed orange p99"
                        % LATENCY_BIN_US, color=INK)
    return fig


def jitter_figure(series: list[dict]) -> Figure:
    """Each output's clock jitter against time, p99 marked."""
    rows = [s for s in series if s["jitter_us"]]
    fig, axes = _panels(rows, "Clock jitter per output (|out interval − in interval|)")
    if not rows:
        return _empty(fig, "no clock reached an output")
    for ax, s in zip(axes, rows):
        stats = analysis.summary_stats(s["jitter_us"])
        t_s = [t / 1e6 for t in s["jitter_t_us"]]
        ax.plot(t_s, s["jitter_us"], color=BAR, linewidth=0.6, marker=".", markersize=2)
        ax.axhline(stats["p99"], color=P99, linewidth=1.0, linestyle="--")
        ax.set_ylim(bottom=0)
        ax.set_title(_stats_text(stats, "intervals"), loc="right", fontsize=8, color=INK)
    axes[-1].set_xlabel("time (s); µs of jitter at each output clock, dashed orange p99",
                        color=INK)
    return fig


def figures(series: list[dict]) -> dict[str, Figure]:
    return {"latency": latency_figure(series), "jitter": jitter_figure(series)}


def render(fig: Figure, fmt: str) -> bytes:
    """The figure as PNG or SVG bytes."""
    buf = io.BytesIO()
    with matplotlib.rc_context(_SVG_RC):
        fig.savefig(buf, format=fmt, dpi=110, metadata=_METADATA[fmt])
    return buf.getvalue()


def write_plots(series: list[dict], out_dir: str | Path) -> list[Path]:
    """latency.png/.svg and jitter.png/.svg in out_dir; the paths written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, fig in figures(series).items():
        for fmt in ("png", "svg"):
            path = out / ("%s.%s" % (name, fmt))
            path.write_bytes(render(fig, fmt))
            written.append(path)
    return written
