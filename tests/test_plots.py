"""sim/plots.py: the timing pictures of `make demo` and the editor's "try it"."""

import xml.etree.ElementTree as ET

import pytest
import sim_helpers  # noqa: F401  (the repo root on sys.path, appended)

from sim import analysis, plots
from sim.cli import main as sim_main
from sim.cli import run_studio

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def studio():
    sim, report = run_studio(3.0)
    devices = {port: info["device"] for port, info in report["outputs"].items()}
    return sim, report, plots.timing_series(sim, devices)


def test_series_hold_the_numbers_the_demo_prints(studio):
    _, report, series = studio
    by_port = {s["port"]: s for s in series}
    for port, info in report["outputs"].items():
        if not info["bytes"]:
            assert port not in by_port  # nothing on that output: no panel
            continue
        s = by_port[port]
        assert s["device"] == info["device"]
        assert analysis.summary_stats(s["latency_us"]) == info["latency_us"]
        assert analysis.summary_stats(s["jitter_us"]) == info["clock_jitter_us"]
        assert len(s["jitter_t_us"]) == len(s["jitter_us"])
        assert s["jitter_t_us"] == sorted(s["jitter_t_us"])


def test_one_panel_per_output_that_got_messages_or_clock(studio):
    _, report, series = studio
    with_notes = [p for p, i in report["outputs"].items() if i["latency_us"]["count"]]
    with_clock = [p for p, i in report["outputs"].items() if i["clock_jitter_us"]["count"]]
    assert with_notes and with_clock
    latency = plots.latency_figure(series)
    jitter = plots.jitter_figure(series)
    assert [ax.get_ylabel().split("\n")[0] for ax in latency.axes] == [
        "out " + p for p in with_notes
    ]
    assert [ax.get_ylabel().split("\n")[0] for ax in jitter.axes] == [
        "out " + p for p in with_clock
    ]


def test_written_files_are_png_and_svg(studio, tmp_path):
    _, _, series = studio
    written = plots.write_plots(series, tmp_path)
    assert sorted(p.name for p in written) == [
        "jitter.png", "jitter.svg", "latency.png", "latency.svg"
    ]
    for path in written:
        data = path.read_bytes()
        if path.suffix == ".png":
            assert data.startswith(PNG_MAGIC)
        else:
            assert ET.fromstring(data).tag.endswith("svg")


def test_the_same_run_draws_the_same_files(tmp_path):
    series = [{"port": "3", "device": "Rev2", "latency_us": [580, 600, 640, 980],
               "jitter_t_us": [100_000, 120_833, 141_666], "jitter_us": [7, 13, 247]}]
    first = plots.write_plots(series, tmp_path / "first")
    again = plots.write_plots(series, tmp_path / "again")
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in first]


def test_no_clock_draws_a_figure_that_says_so():
    series = [{"port": "2", "device": "", "latency_us": [600, 700],
               "jitter_t_us": [], "jitter_us": []}]
    svg = plots.render(plots.jitter_figure(series), "svg").decode()
    assert "no clock reached an output" in plots.jitter_figure(series).axes[0].texts[0].get_text()
    assert svg.startswith("<?xml")


def test_demo_writes_the_plots(tmp_path, capsys):
    out = tmp_path / "demo"
    assert sim_main(["demo", "--seconds", "2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "plots: latency.png, latency.svg, jitter.png, jitter.svg" in printed
    for name in ("latency.png", "latency.svg", "jitter.png", "jitter.svg"):
        assert (out / name).stat().st_size > 1000
