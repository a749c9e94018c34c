"""Check a presets.json before copying it onto the box.

    python tools/check.py presets.json

Valid: prints the routing summary and any warnings, exit 0. Invalid: prints every error
(one a line: file, JSON path or line/column, fix), then any warnings, exit 1. Usage error:
exit 2. The validator is lib/switchyard/presets.py, the code the box itself runs, so the
serial console shows the same messages; the routing summary is tools/describe.py.
"""

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "lib"))
if str(REPO) not in sys.path:
    sys.path.append(str(REPO))  # appended: the root code.py must not shadow the stdlib's code

from switchyard import presets  # noqa: E402

from tools import describe  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="check.py", description="Validate a Switchyard presets.json and show its routing."
    )
    parser.add_argument("file", help="the presets file, e.g. presets.json")
    args = parser.parse_args(argv)
    result = presets.load(args.file)
    if result.ok and result.config is not None:
        print(describe.describe(result.config))
        for warning in result.warnings:
            print(warning)
        return 0
    for error in result.errors:
        print(error)
    for warning in result.warnings:
        print(warning)
    count = len(result.errors)
    plural = "" if count == 1 else "s"
    print(
        f"{count} error{plural}: the box would ignore this file and run the safe default "
        "(inputs A and B to every output)",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
