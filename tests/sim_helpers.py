"""Helpers for the end-to-end tests that drive the simulator (sim/) and its CLI.

The repo root is appended to sys.path (not prepended): the root code.py would shadow the
standard library's `code` module.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.append(str(REPO))

from sim import analysis, scenario  # noqa: E402, F401
from sim.cost import CostModel  # noqa: E402
from sim.runner import Simulation  # noqa: E402

PY = REPO / ".venv" / "bin" / "python"
BOARD = "raspberry_pi_pico"
DIN_OUTPUTS = ("1", "2", "3", "4", "5", "6")
ALL_OUTPUTS = DIN_OUTPUTS + ("USB",)
REALTIME = frozenset({0xF8, 0xFA, 0xFB, 0xFC, 0xFE, 0xFF})
CLOCK_US = 20_833  # 120 BPM, 24 ppqn

ByteLog = list[tuple[int, int]]


def board_file(board_id: str = BOARD):
    import importlib

    return importlib.import_module("boards." + board_id)


def led_pins(board_id: str = BOARD) -> dict[str, str]:
    """LED name (P1..P4, ACT, CLK) -> pin name, from the board file."""
    return dict(board_file(board_id).LEDS)


# ---- running the simulator in-process ---------------------------------------------------


def free_sim(**kwargs) -> Simulation:
    """A Simulation with no CPU cost (logic tests only)."""
    kwargs.setdefault("cost", CostModel.free())
    return Simulation(**kwargs)


def cost_model(**fuel: float) -> CostModel:
    """1 fuel = 1 ns on the Pico at the clock its firmware sets (the board file's CPU_HZ),
    every term 0 but those given (timing tests with round numbers)."""
    terms = {
        "pass_fuel": 0.0, "in_byte_fuel": 0.0, "out_byte_fuel": 0.0, "busy_output_fuel": 0.0,
        "housekeeping_fuel": 0.0, "sysex_in_byte_fuel": 0.0, "sysex_out_byte_fuel": 0.0,
        "read_fuel": 0.0, "write_fuel": 0.0, "realtime_fuel": 0.0, "poll_fuel": 0.0,
    }
    terms.update(fuel)
    return CostModel(
        1.0, terms["pass_fuel"], terms["in_byte_fuel"], terms["out_byte_fuel"],
        terms["busy_output_fuel"], "test", terms["housekeeping_fuel"],
        terms["sysex_in_byte_fuel"], terms["sysex_out_byte_fuel"], terms["read_fuel"],
        terms["write_fuel"], terms["realtime_fuel"], terms["poll_fuel"],
        board_file().CPU_HZ,
    )


def messages(log: ByteLog) -> list:
    """The mido messages a byte log carries (running status expanded)."""
    return analysis.messages(log)


def non_realtime(msgs: list) -> list:
    return [m for m in msgs if m.type not in ("clock", "start", "stop", "continue",
                                               "active_sensing", "reset")]


def msg_bytes(msgs: list) -> list[tuple[int, ...]]:
    return [tuple(m.bytes()) for m in msgs]


def level_at(history: list[tuple[int, bool]], t_us: int, initial: bool = False) -> bool:
    """The level of a pin at t_us from chip.pin_history (changes only)."""
    level = initial
    for t, value in history:
        if t > t_us:
            break
        level = value
    return level


def rising_edges(history: list[tuple[int, bool]]) -> list[int]:
    return [t for t, value in history if value]


def events_from_messages(msgs: list[bytes], start_us: int, gap_us: int) -> list[tuple[int, bytes]]:
    return [(start_us + k * gap_us, bytes(m)) for k, m in enumerate(msgs)]


def clock_events(start_us: int, count: int, period_us: int = CLOCK_US,
                 start: bool = True) -> list[tuple[int, bytes]]:
    """FA then `count` clocks, as a clock master sends them."""
    ev = [(start_us, b"\xfa")] if start else []
    ev += [(start_us + 400 + k * period_us, b"\xf8") for k in range(count)]
    return ev


def merge_events(*sources: list[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
    out = [e for src in sources for e in src]
    out.sort(key=lambda e: e[0])
    return out


# ---- presets files ------------------------------------------------------------------------


def write_presets(path: Path, presets: list[dict], control: dict | None = None) -> Path:
    doc: dict = {"version": 1}
    if control is not None:
        doc["control"] = control
    doc["presets"] = presets
    path.write_text(json.dumps(doc, indent=1))
    return path


def everything_route(source: str, outputs: tuple[str, ...] = ALL_OUTPUTS) -> dict:
    return {"from": source, "to": list(outputs)}


# ---- the CLI -------------------------------------------------------------------------------


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(PY), "-m", "sim", *args],
        cwd=str(REPO),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def read_byte_log(path: Path) -> ByteLog:
    """An in-/out-PORT.jsonl file: one {"t_us", "byte"} object a line."""
    log: ByteLog = []
    for line in path.read_text().splitlines():
        obj = json.loads(line)
        assert set(obj) == {"t_us", "byte"}, line
        assert isinstance(obj["t_us"], int) and isinstance(obj["byte"], int), line
        log.append((obj["t_us"], obj["byte"]))
    return log


def write_jsonl_events(path: Path, events: list[tuple[int, bytes]]) -> Path:
    with path.open("w") as f:
        for t_us, data in events:
            f.write(json.dumps({"t_us": t_us, "bytes": list(data)}) + "\n")
    return path


# ---- a chip prepared before the firmware boots ------------------------------------------------


def booted_with(setup, **kwargs) -> Simulation:
    """A Simulation whose Chip went through setup(chip) before the firmware's build() ran
    (flash NVM already written, a button already held at power-up, ...)."""
    import sim.runner as runner

    base = runner.Chip

    class PreparedChip(base):  # type: ignore[misc, valid-type]
        def __init__(self, *args, **kw):
            super().__init__(*args, **kw)
            setup(self)

    runner.Chip = PreparedChip
    try:
        return Simulation(**kwargs)
    finally:
        runner.Chip = base


def hold_at_power_up(button: str, release_s: float):
    """setup() for booted_with: `button` is held when the chip powers up, released later."""

    def setup(chip) -> None:
        pin = dict(board_file(chip.board_id).BUTTONS)[button]
        chip._drive[chip.pin_number(pin)] = False  # pressed before power-up
        chip.press(pin, 0, int(release_s * 1e6))  # the release edge at release_s

    return setup


def ticks_ms_at(t_us: int) -> int:
    """supervisor.ticks_ms() at virtual time t_us (what the firmware's timers read)."""
    from sim.chip import TICKS_MS_OFFSET, TICKS_PERIOD

    ms64 = (t_us * 1024 // 1_000_000) * 1000 // 1024
    return (ms64 + TICKS_MS_OFFSET) % TICKS_PERIOD
