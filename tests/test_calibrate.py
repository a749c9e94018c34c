"""tools/calibrate.py: the fuel of the calibration benchmarks is exact and has not drifted."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CALIBRATE = REPO / "tools" / "calibrate.py"

_spec = importlib.util.spec_from_file_location("calibrate", CALIBRATE)
assert _spec is not None and _spec.loader is not None
calibrate = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(calibrate)


def test_fuel_per_unit_is_deterministic_and_matches_the_recorded_constants():
    first = calibrate.measure()
    second = calibrate.measure()
    assert first == second  # exact, not approximately: fuel is an instruction count
    assert set(first) == set(calibrate.RECORDED_FUEL)
    for name, fuel in first.items():
        recorded = calibrate.RECORDED_FUEL[name]
        assert abs(fuel / recorded - 1) < 0.01, (name, fuel, recorded)


def test_fib_calls_counts_every_call_of_the_naive_recursion():
    def count(n):
        return 1 if n <= 1 else 1 + count(n - 1) + count(n - 2)

    for n in (0, 1, 2, 10, 14):
        assert calibrate.fib_calls(n) == count(n)
    assert calibrate.FIB24_CALLS == 150049


def test_ns_per_fuel_is_published_time_over_measured_fuel_and_the_slowest_wins():
    fuel = {"int_add_iteration": 1000.0, "fib_call": 2000.0}
    result = calibrate.calibrate(fuel)
    by_name = {s["name"]: s for s in result["sources"]}
    cp = by_name["int_add, Pico, CircuitPython"]
    assert cp["ns_per_fuel"] == 9.577 / 1_000_000 * 1e9 / 1000.0
    rp2040 = [s["ns_per_fuel"] for s in result["sources"] if s["chip"] == "RP2040"]
    rp2350 = [s["ns_per_fuel"] for s in result["sources"] if s["chip"] == "RP2350"]
    assert len(rp2040) == 3 and len(rp2350) == 1
    assert result["ns_per_fuel"] == max(rp2040)
    assert result["ns_per_fuel_rp2350"] == max(rp2350)
    assert all(s["ref"].startswith("https://") for s in result["sources"])


def test_cli_writes_json_with_the_recommended_value_and_its_sources(tmp_path):
    out = tmp_path / "calibration.json"
    run = subprocess.run(
        [sys.executable, str(CALIBRATE), "--json", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    data = json.loads(out.read_text())
    # The Pico under CircuitPython: between 5 and 10 ns per fuel unit (~1 cycle at 125 MHz).
    assert 5.0 < data["ns_per_fuel"] < 10.0
    assert data["ns_per_fuel"] == max(
        s["ns_per_fuel"] for s in data["sources"] if s["chip"] == "RP2040"
    )
    assert data["ns_per_fuel_rp2350"] < data["ns_per_fuel"]
    assert f"RP2040 @ 125 MHz: {data['ns_per_fuel']:.3f} ns per fuel" in run.stdout


def test_the_interpreter_time_published_at_two_clocks_scales_with_the_clock():
    # The simulator takes ns_per_fuel from 125 MHz to the clock the firmware sets.
    assert calibrate.CLOCK_SCALING
    for pair in calibrate.CLOCK_SCALING:
        (low, t_low), (high, t_high) = sorted(pair["seconds_at_mhz"].items())
        assert abs((t_low / t_high) / (high / low) - 1) < 0.01, pair["name"]


def test_the_calibration_says_which_clock_it_holds_at():
    result = calibrate.calibrate({"int_add_iteration": 1000.0, "fib_call": 2000.0})
    assert result["ns_per_fuel_clk_hz"] == 125_000_000
