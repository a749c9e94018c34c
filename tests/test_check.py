"""tools/check.py: exit codes and output, run as a user runs it."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "presets"
CHECK = REPO / "tools" / "check.py"


def run_check(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(CHECK), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_valid_file_prints_summary_and_warnings_and_exits_0():
    run = run_check("presets.json")
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith("5 presets; Program Change on channel 16")
    for heading in ["P1  Studio", "P2  Keystep > Minitaur", "P3  Keystep > Rev2", "P4  Everything"]:
        assert heading in lines
    warnings = [line for line in lines if ": warning: " in line]
    assert warnings and all(w.startswith("presets.json: presets[3].routes[") for w in warnings)
    assert run.stderr == ""


def test_shape_example_is_valid_without_warnings():
    run = run_check(str(FIXTURES / "shape_example.json"))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "P1  Studio" in run.stdout and "warning" not in run.stdout


def test_invalid_file_prints_every_error_one_per_line_and_exits_1():
    path = str(FIXTURES / "many_errors.json")
    run = run_check(path)
    assert run.returncode == 1
    lines = run.stdout.splitlines()
    assert len(lines) == 7
    assert all(line.startswith(path + ": ") for line in lines)
    assert (
        lines[2]
        == path + ': presets[0].routes[0].to[1]: unknown output "7"; outputs are 1..6 and USB'
    )
    assert "7 errors: the box would ignore this file and run the safe default" in run.stderr


def test_json_syntax_error_gives_line_and_column():
    path = str(FIXTURES / "broken_syntax.json")
    run = run_check(path)
    assert run.returncode == 1
    assert run.stdout == (
        path + ': line 6, column 7: expected "," or "]" after a list item; add the missing comma\n'
    )


def test_warnings_alone_do_not_fail():
    path = str(FIXTURES / "loops.json")
    run = run_check(path)
    assert run.returncode == 0
    warnings = [line for line in run.stdout.splitlines() if ": warning: " in line]
    assert [w.split(": warning: ")[0] for w in warnings] == [
        path + ": presets[0].routes[0].to[0]",
        path + ": presets[0].routes[1].to[0]",
        path + ": presets[0].routes[1].to[1]",
    ]


def test_missing_file_exits_1_with_the_fix(tmp_path):
    run = run_check("presets.json", cwd=tmp_path)
    assert run.returncode == 1
    assert run.stdout == (
        "presets.json: file not found; copy presets.json from the Switchyard release onto "
        "CIRCUITPY\n"
    )


def test_usage_errors_exit_2():
    assert run_check().returncode == 2
    run = run_check("presets.json", "other.json")
    assert run.returncode == 2 and "usage: check.py" in run.stderr
    assert run_check("--bogus", "presets.json").returncode == 2


def test_the_box_s_own_clock_is_a_row_of_its_own_with_its_divided_routes(tmp_path):
    path = tmp_path / "jam.json"
    path.write_text(
        '{"version": 1, "tempo": {"bpm": 100}, "presets": [{"name": "Jam", "routes": ['
        '{"from": "CLK", "to": ["1", "5"], "types": ["clock", "transport"]},'
        '{"from": "CLK", "to": ["4"], "types": ["clock", "transport"], "clock_divide": 2},'
        '{"from": "B", "to": ["4"], "types": ["notes"]}]}]}'
    )
    run = run_check(str(path))
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].endswith("; CLK at 100.0 BPM")
    clk = next(line for line in lines if line.startswith("CLK "))
    assert clk.split() == ["CLK", "clk+tr", ".", ".", "clk+tr", "/2", "clk+tr", ".", "."]
    legend = " ".join(run.stdout.split())  # (wrapped)
    assert "/N: every N-th clock" in legend and "CLK: the box's own clock" in legend
