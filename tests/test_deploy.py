"""tools/deploy.py against fake CIRCUITPY drives (folders with a boot_out.txt).

Installs come from a copy of this checkout (so a test can change "the next version"),
with three real Adafruit libraries from .venv listed in its requirements-circup.txt:
a single-file module, the module it needs, and a package.
"""

import errno
import importlib.util
import os
import shutil
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SITE = Path(sysconfig.get_paths()["purelib"])
BOOT_OUT = (
    "Adafruit CircuitPython 9.2.1 on 2024-11-20; Raspberry Pi Pico with rp2040\n"
    "Board ID:raspberry_pi_pico\n"
    "UID:E66118604B1F5A2C\n"
)
LIBRARIES = "adafruit_debouncer==2.0.15\nadafruit_ticks==1.1.7\nadafruit_midi==1.6.0\n"
GOOD_PRESETS = """{
  "version": 1,
  "presets": [
    {"name": "Thru", "routes": [{"from": "A", "to": ["1", "2"]}]}
  ]
}
"""
BAD_PRESETS = '{"version": 1, "presets": [{"name": "x", "routes": [{"from": "Q", "to": ["1"]}]}]}'


def load_deploy():
    spec = importlib.util.spec_from_file_location("switchyard_deploy", ROOT / "tools/deploy.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


deploy = load_deploy()


# ---------------------------------------------------------------------------- helpers


def make_source(path):
    """A copy of the checkout's installable files, with three libraries listed."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "lib" / "switchyard", path / "lib" / "switchyard", ignore=ignore)
    shutil.copytree(ROOT / "boards", path / "boards", ignore=ignore)
    for name in ("code.py", "boot.py"):
        shutil.copy(ROOT / name, path / name)
    (path / "requirements-circup.txt").write_text(LIBRARIES)
    return path


def next_version(source, path, files):
    """A copy of source with a line appended to each of files (relative paths)."""
    shutil.copytree(source, path)
    for rel in files:
        with open(path / rel, "a") as f:
            f.write("# next version\n")
    return path


def make_drive(path, boot_out=BOOT_OUT):
    path.mkdir()
    if boot_out is not None:
        (path / "boot_out.txt").write_text(boot_out)
    return path


def snapshot(drive):
    """{relative path: bytes} of every file on the drive."""
    return {
        p.relative_to(drive).as_posix(): p.read_bytes() for p in drive.rglob("*") if p.is_file()
    }


def installed(source):
    """{path on the drive: bytes} a complete install of source holds (without libraries)."""
    files = {"code.py": (source / "code.py").read_bytes()}
    files["boot.py"] = (source / "boot.py").read_bytes()
    for p in (source / "lib" / "switchyard").rglob("*.py"):
        files[p.relative_to(source).as_posix()] = p.read_bytes()
    for p in (source / "boards").glob("*.py"):
        files[p.relative_to(source).as_posix()] = p.read_bytes()
    return files


@pytest.fixture(autouse=True)
def bare_path(tmp_path, monkeypatch):
    """PATH is one empty folder: no mpy-cross of the machine's is found unless a test adds one."""
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", str(folder))
    return folder


@pytest.fixture
def run(capsys):
    def run(*args):
        capsys.readouterr()
        code = deploy.main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def source(tmp_path):
    return make_source(tmp_path / "v1")


@pytest.fixture
def drive(tmp_path):
    return make_drive(tmp_path / "CIRCUITPY")


def install(run, source, drive, *extra):
    code, out, err = run("--source", source, "--to", drive, "--libs", SITE, *extra)
    assert code == 0, err
    return out, err


class Counting:
    """Wraps a deploy function: records calls, and raises like a pulled cable after n."""

    def __init__(self, real, fail_after=None):
        self.real = real
        self.fail_after = fail_after
        self.calls = []

    def __call__(self, *args):
        if self.fail_after is not None and len(self.calls) >= self.fail_after:
            raise OSError(errno.EIO, "Input/output error")
        self.calls.append(args)
        return self.real(*args)


# ------------------------------------------------------------------------- fresh install


def test_fresh_install_copies_everything(run, source, drive):
    out, _ = install(run, source, drive)
    files = snapshot(drive)
    for rel, data in installed(source).items():
        assert files[rel] == data, rel
    assert files["lib/adafruit_debouncer.py"] == (SITE / "adafruit_debouncer.py").read_bytes()
    assert files["lib/adafruit_ticks.py"] == (SITE / "adafruit_ticks.py").read_bytes()
    midi = sorted(p.name for p in (SITE / "adafruit_midi").glob("*.py"))
    assert sorted(p.name for p in (drive / "lib" / "adafruit_midi").iterdir()) == midi
    assert not [rel for rel in files if "__pycache__" in rel or rel.endswith((".pyc", ".pyi"))]
    assert not [rel for rel in files if rel.endswith(deploy.TEMP_SUFFIX)]
    assert "added      code.py" in out
    assert "presets.json: the box runs its safe default" in out
    assert "0 updated, 0 unchanged, 0 removed" in out


def test_install_order_lib_then_boards_then_boot_then_code(run, source, drive, monkeypatch):
    commits = Counting(deploy.commit_file)
    monkeypatch.setattr(deploy, "commit_file", commits)
    install(run, source, drive)
    order = [Path(target).relative_to(drive).as_posix() for _, target in commits.calls]
    assert order[-2:] == ["boot.py", "code.py"]
    first_board = min(i for i, rel in enumerate(order) if rel.startswith("boards/"))
    last_lib = max(i for i, rel in enumerate(order) if rel.startswith("lib/"))
    assert last_lib < first_board
    assert len(order) == len(set(order)) == len(snapshot(drive)) - 1  # all but boot_out.txt


def test_the_real_checkout_installs(run, drive):
    # Whatever this checkout holds today deploys with its own requirements-circup.txt.
    code, out, err = run("--to", drive, "--libs", SITE)
    assert code == 0, err
    files = snapshot(drive)
    assert files["code.py"] == (ROOT / "code.py").read_bytes()
    for p in (ROOT / "lib" / "switchyard").glob("*.py"):
        assert files["lib/switchyard/" + p.name] == p.read_bytes()


# -------------------------------------------------------------------------------- update


def test_update_rewrites_only_changed_files(run, source, drive, tmp_path, monkeypatch):
    install(run, source, drive)
    changed = ["lib/switchyard/router.py", "boards/raspberry_pi_pico.py"]
    v2 = next_version(source, tmp_path / "v2", changed)
    inodes = {p: p.stat().st_ino for p in drive.rglob("*") if p.is_file()}
    stages = Counting(deploy.stage_file)
    monkeypatch.setattr(deploy, "stage_file", stages)

    out, _ = install(run, v2, drive)

    assert sorted(rel for _, rel, _ in stages.calls) == sorted(changed)
    for rel in changed:
        assert f"updated    {rel}" in out
    assert "unchanged  code.py" in out
    assert "2 updated" in out
    for path, inode in inodes.items():
        rel = path.relative_to(drive).as_posix()
        if rel not in changed:
            assert path.stat().st_ino == inode, f"{rel} was rewritten"
    assert snapshot(drive)["lib/switchyard/router.py"] == (v2 / changed[0]).read_bytes()


def test_update_with_nothing_changed_writes_nothing(run, source, drive, monkeypatch):
    install(run, source, drive)
    before = snapshot(drive)
    stages = Counting(deploy.stage_file)
    monkeypatch.setattr(deploy, "stage_file", stages)
    out, _ = install(run, source, drive)
    assert stages.calls == []
    assert snapshot(drive) == before
    assert " 0 added, 0 updated" in " " + out.splitlines()[-1]


def test_modules_gone_from_the_package_are_removed_last(run, source, drive, tmp_path, monkeypatch):
    (source / "lib" / "switchyard" / "oldname.py").write_text("X = 1\n")
    install(run, source, drive)
    assert (drive / "lib" / "switchyard" / "oldname.py").is_file()
    (drive / "lib" / "switchyard" / "cache.mpy").write_bytes(b"C\x06")
    (drive / "lib" / "user_notes.txt").write_text("mine")
    (source / "lib" / "switchyard" / "oldname.py").unlink()
    events = []
    real_commit, real_remove = deploy.commit_file, deploy.remove_file

    def commit(temp, target):
        events.append(("commit", target.name))
        real_commit(temp, target)

    def remove(path):
        events.append(("remove", path.name))
        real_remove(path)

    monkeypatch.setattr(deploy, "commit_file", commit)
    monkeypatch.setattr(deploy, "remove_file", remove)
    (source / "code.py").write_text((source / "code.py").read_text() + "\n")
    out, _ = install(run, source, drive)
    assert events == [("commit", "code.py"), ("remove", "cache.mpy"), ("remove", "oldname.py")]
    assert "removed    lib/switchyard/oldname.py" in out
    assert not (drive / "lib" / "switchyard" / "oldname.py").exists()
    assert (drive / "lib" / "user_notes.txt").read_text() == "mine"


# -------------------------------------------------------------------- interrupted copy


CHANGED = [
    "lib/switchyard/app.py",
    "lib/switchyard/router.py",
    "lib/switchyard/stream.py",
    "boards/raspberry_pi_pico.py",
    "boot.py",
    "code.py",
]


@pytest.mark.parametrize("step", ["stage_file", "commit_file"])
@pytest.mark.parametrize("fail_after", [0, 1, 3, 5])
def test_interrupted_copy_leaves_whole_files_and_old_code_py(
    run, source, drive, tmp_path, monkeypatch, step, fail_after
):
    install(run, source, drive)
    old = snapshot(drive)
    v2 = next_version(source, tmp_path / "v2", CHANGED)
    new = installed(v2)
    broken = Counting(getattr(deploy, step), fail_after=fail_after)
    monkeypatch.setattr(deploy, step, broken)

    code, _, err = run("--source", v2, "--to", drive, "--libs", SITE)

    assert code == 1
    assert "run deploy.py again" in err
    now = snapshot(drive)
    for rel, data in now.items():
        if rel.endswith(deploy.TEMP_SUFFIX):
            continue
        assert data in (old.get(rel), new.get(rel)), f"{rel} is neither old nor new"
    assert set(old) <= set(now)
    assert now["code.py"] == old["code.py"]
    if step == "stage_file":
        # Nothing is renamed into place until every changed file is staged.
        assert {r: d for r, d in now.items() if not r.endswith(deploy.TEMP_SUFFIX)} == old
    else:
        done = [rel for rel in CHANGED if now[rel] == new[rel]]
        assert done == CHANGED[:fail_after]

    monkeypatch.setattr(deploy, step, broken.real)
    out, _ = install(run, v2, drive)
    final = snapshot(drive)
    for rel, data in new.items():
        assert final[rel] == data, rel
    assert not [rel for rel in final if rel.endswith(deploy.TEMP_SUFFIX)]
    if fail_after > 0:
        assert "(left by an interrupted copy)" in out


def test_stale_temp_files_are_removed(run, source, drive):
    install(run, source, drive)
    stale = drive / "lib" / "switchyard" / (".app.py" + deploy.TEMP_SUFFIX)
    stale.write_bytes(b"half a fil")
    out, _ = install(run, source, drive)
    assert not stale.exists()
    assert f"removed    lib/switchyard/{stale.name} (left by an interrupted copy)" in out


def test_read_only_drive_is_refused_before_writing(run, source, drive, monkeypatch):
    # Plugged in with P4 held: the computer sees CIRCUITPY read-only.
    real_open = os.open

    def read_only_open(path, flags, *args, **kwargs):
        if str(path).startswith(str(drive)) and flags & (os.O_WRONLY | os.O_RDWR):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(deploy.os, "open", read_only_open)
    code, _, err = run("--source", source, "--to", drive, "--libs", SITE)
    assert code == 1
    assert "plug it in again without P4" in err
    assert snapshot(drive) == {"boot_out.txt": BOOT_OUT.encode()}


# ------------------------------------------------------------------------------ presets


def test_bad_presets_are_refused_and_nothing_is_copied(run, source, drive, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(BAD_PRESETS)
    code, _, err = run("--source", source, "--to", drive, "--libs", SITE, "--presets", bad)
    assert code == 1
    assert "nothing was copied" in err
    assert "presets[0].routes[0].from" in err
    assert snapshot(drive) == {"boot_out.txt": BOOT_OUT.encode()}

    install(run, source, drive)
    before = snapshot(drive)
    code, _, _ = run("--source", source, "--to", drive, "--libs", SITE, "--presets", bad)
    assert code == 1
    assert snapshot(drive) == before


def test_presets_file_is_installed_then_kept(run, source, drive, tmp_path):
    good = tmp_path / "studio.json"
    good.write_text(GOOD_PRESETS)
    out, _ = install(run, source, drive, "--presets", good)
    assert (drive / "presets.json").read_text() == GOOD_PRESETS
    assert "added      presets.json" in out

    # The user's file stays, even when the checkout brings its own presets.json.
    (drive / "presets.json").write_text(GOOD_PRESETS.replace("Thru", "Mine"))
    (source / "presets.json").write_text(GOOD_PRESETS)
    out, _ = install(run, source, drive)
    assert "Mine" in (drive / "presets.json").read_text()
    assert "kept       presets.json" in out


def test_checkout_presets_go_onto_a_drive_without_any(run, source, drive):
    (source / "presets.json").write_text(GOOD_PRESETS)
    out, _ = install(run, source, drive)
    assert (drive / "presets.json").read_text() == GOOD_PRESETS
    assert "added      presets.json" in out


def test_missing_presets_file_is_refused(run, source, drive, tmp_path):
    code, _, err = run(
        "--source", source, "--to", drive, "--libs", SITE, "--presets", tmp_path / "nope.json"
    )
    assert code == 1
    assert "no such file" in err


# ------------------------------------------------------------------------------ dry run


def test_dry_run_writes_nothing(run, source, drive, tmp_path):
    code, out, _ = run("--source", source, "--to", drive, "--libs", SITE, "--dry-run")
    assert code == 0
    assert "added      code.py" in out
    assert "Dry run, nothing written" in out
    assert snapshot(drive) == {"boot_out.txt": BOOT_OUT.encode()}

    install(run, source, drive)
    stale = drive / ("." + "code.py" + deploy.TEMP_SUFFIX)
    stale.write_text("x")
    before = snapshot(drive)
    v2 = next_version(source, tmp_path / "v2", ["lib/switchyard/merge.py"])
    good = tmp_path / "studio.json"
    good.write_text(GOOD_PRESETS)
    code, out, _ = run(
        "--source", v2, "--to", drive, "--libs", SITE, "--dry-run", "--presets", good
    )
    assert code == 0
    assert "updated    lib/switchyard/merge.py" in out
    assert "added      presets.json" in out
    assert snapshot(drive) == before


# ------------------------------------------------------------------------- drive checks


def test_missing_boot_out_is_refused(run, source, tmp_path):
    drive = make_drive(tmp_path / "USBSTICK", boot_out=None)
    code, _, err = run("--source", source, "--to", drive, "--libs", SITE)
    assert code == 1
    assert "boot_out.txt" in err
    assert snapshot(drive) == {}

    code, _, err = run("--source", source, "--to", drive, "--libs", SITE, "--force")
    assert code == 0
    assert (drive / "code.py").read_bytes() == (source / "code.py").read_bytes()


def test_missing_folder_is_refused(run, source, tmp_path):
    code, _, err = run("--source", source, "--to", tmp_path / "absent", "--libs", SITE)
    assert code == 1
    assert "not a folder" in err
    assert not (tmp_path / "absent").exists()


@pytest.mark.parametrize(
    "banner, warned",
    [
        ("Adafruit CircuitPython 8.2.10 on 2024-02-14; Raspberry Pi Pico with rp2040", True),
        ("Adafruit CircuitPython 9.2.1 on 2024-11-20; Raspberry Pi Pico with rp2040", False),
        ("Adafruit CircuitPython 10.0.3 on 2025-10-17; Raspberry Pi Pico 2 with rp2350a", False),
        (
            "Adafruit CircuitPython 11.0.0-alpha.1 on 2026-01-01; Raspberry Pi Pico with rp2040",
            True,
        ),
    ],
)
def test_circuitpython_major_version_is_checked(run, source, tmp_path, banner, warned):
    drive = make_drive(tmp_path / "CIRCUITPY", boot_out=banner + "\nBoard ID:raspberry_pi_pico\n")
    code, _, err = run("--source", source, "--to", drive, "--libs", SITE)
    assert code == 0
    assert ("made for CircuitPython 9 or 10" in err) is warned


def test_unknown_board_is_warned(run, source, tmp_path):
    drive = make_drive(tmp_path / "CIRCUITPY", boot_out=BOOT_OUT.replace("raspberry_pi_pico", "x"))
    code, _, err = run("--source", source, "--to", drive, "--libs", SITE)
    assert code == 0
    assert "no boards/x.py" in err


def test_boot_out_parsing():
    info = deploy.BootOut(BOOT_OUT)
    assert info.version == (9, 2, 1)
    assert info.major == 9
    assert info.board_id == "raspberry_pi_pico"
    assert info.banner == "Adafruit CircuitPython 9.2.1 on 2024-11-20"
    assert deploy.BootOut("garbage").version is None
    assert deploy.BootOut("").board_id is None


def test_candidate_drives():
    assert deploy.candidate_drives("linux", "ana") == [
        Path("/media/ana/CIRCUITPY"),
        Path("/run/media/ana/CIRCUITPY"),
        Path("/media/CIRCUITPY"),
    ]
    assert deploy.candidate_drives("darwin", "ana") == [Path("/Volumes/CIRCUITPY")]


def test_usage_error_exit_code(run):
    code, _, err = run("--no-such-option")
    assert code == 2
    assert "usage" in err


# ------------------------------------------------------------------------------ libraries


def test_library_missing_everywhere_is_refused(run, source, drive, tmp_path):
    empty = tmp_path / "site"
    empty.mkdir()
    code, _, err = run("--source", source, "--to", drive, "--libs", empty)
    assert code == 1
    assert "adafruit_debouncer" in err and "circup install -r" in err
    assert snapshot(drive) == {"boot_out.txt": BOOT_OUT.encode()}


def test_library_already_on_the_drive_is_kept(run, source, drive, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    lib = drive / "lib"
    lib.mkdir()
    for name in ("adafruit_debouncer.mpy", "adafruit_ticks.mpy"):
        (lib / name).write_bytes(b"C\x06circup")
    (lib / "adafruit_midi").mkdir()
    (lib / "adafruit_midi" / "__init__.mpy").write_bytes(b"C\x06circup")
    code, _, err = run("--source", source, "--to", drive, "--libs", site)
    assert code == 0, err
    assert "adafruit_ticks is not in .venv; keeping the copy already on the drive" in err
    assert (lib / "adafruit_ticks.mpy").read_bytes() == b"C\x06circup"


def test_library_version_other_than_the_pin_is_warned(run, source, drive):
    (source / "requirements-circup.txt").write_text(LIBRARIES.replace("2.0.15", "2.0.14"))
    code, _, err = run("--source", source, "--to", drive, "--libs", SITE)
    assert code == 0
    assert "adafruit_debouncer: .venv has adafruit-circuitpython-debouncer 2.0.15" in err


# ----------------------------------------------------------------------------------- .mpy


def fake_mpy_cross(path, banner):
    """An executable that answers --version like mpy-cross and 'compiles' with -o."""
    path.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        "args = sys.argv[1:]\n"
        "if args == ['--version']:\n"
        f"    print({banner!r})\n"
        "    sys.exit(0)\n"
        "out = args[args.index('-o') + 1]\n"
        "src = open(args[-1], 'rb').read()\n"
        "compile(src, args[-1], 'exec')\n"
        "open(out, 'wb').write(b'C\\x06\\x00\\x1f' + src[:8])\n"
    )
    path.chmod(0o755)
    return path


def test_mpy_install_replaces_the_package_sources(run, source, drive, tmp_path):
    install(run, source, drive)
    tool = fake_mpy_cross(
        tmp_path / "mpy-cross", "CircuitPython 9.2.1 on 2024-11-20; mpy-cross emitting mpy v6.3"
    )
    out, _ = install(run, source, drive, "--mpy-cross", tool)
    package = drive / "lib" / "switchyard"
    modules = sorted(p.stem for p in (source / "lib" / "switchyard").glob("*.py"))
    assert sorted(p.stem for p in package.glob("*.mpy")) == modules
    assert list(package.glob("*.py")) == []
    assert (package / "router.mpy").read_bytes().startswith(b"C\x06")
    assert (drive / "code.py").read_bytes() == (source / "code.py").read_bytes()
    assert (drive / "boot.py").read_bytes() == (source / "boot.py").read_bytes()
    assert "removed    lib/switchyard/router.py" in out

    out, _ = install(run, source, drive)  # back to .py
    assert sorted(p.stem for p in package.glob("*.py")) == modules
    assert list(package.glob("*.mpy")) == []


@pytest.mark.parametrize(
    "banner, why",
    [
        ("MicroPython v1.24.1 on 2024-11-30; mpy-cross emitting mpy v6.3", "not CircuitPython's"),
        ("CircuitPython 10.0.3 on 2025-10-17; mpy-cross emitting mpy v6.3", "for CircuitPython 10"),
    ],
)
def test_wrong_mpy_cross_is_refused(run, source, drive, tmp_path, banner, why):
    tool = fake_mpy_cross(tmp_path / "mpy-cross", banner)
    code, _, err = run("--source", source, "--to", drive, "--libs", SITE, "--mpy-cross", tool)
    assert code == 1
    assert why in err
    assert snapshot(drive) == {"boot_out.txt": BOOT_OUT.encode()}


CP9_BANNER = "CircuitPython 9.2.1 on 2024-11-20; mpy-cross emitting mpy v6.3"


def firmware_forms(drive):
    """({module stems as .py}, {module stems as .mpy}) in the drive's lib/switchyard."""
    package = drive / "lib" / "switchyard"
    return {p.stem for p in package.glob("*.py")}, {p.stem for p in package.glob("*.mpy")}


def test_mpy_cross_on_path_makes_mpy_the_default(run, source, drive, bare_path):
    fake_mpy_cross(bare_path / "mpy-cross", CP9_BANNER)
    modules = {p.stem for p in (source / "lib" / "switchyard").glob("*.py")}
    out, _ = install(run, source, drive)
    assert firmware_forms(drive) == (set(), modules)
    assert f"note: compiling lib/switchyard to .mpy with {bare_path / 'mpy-cross'}" in out
    for name in ("code.py", "boot.py"):
        assert (drive / name).read_bytes() == (source / name).read_bytes()
    assert sorted(p.name for p in (drive / "boards").iterdir()) == sorted(
        p.name for p in (source / "boards").glob("*.py")
    )

    out, _ = install(run, source, drive, "--py")
    assert firmware_forms(drive) == (modules, set())
    assert "note: installing lib/switchyard as .py (--py)" in out
    assert "removed    lib/switchyard/app.mpy" in out


def test_without_mpy_cross_the_package_goes_on_as_py_with_one_note(run, source, drive):
    out, _ = install(run, source, drive)
    notes = [line for line in out.splitlines() if "note:" in line]
    assert len(notes) == 1
    assert "no CircuitPython mpy-cross" in notes[0] and "as .py" in notes[0]
    assert firmware_forms(drive)[1] == set()


@pytest.mark.parametrize(
    "banner, why",
    [
        ("MicroPython v1.24.1 on 2024-11-30; mpy-cross emitting mpy v6.3", "not CircuitPython's"),
        ("CircuitPython 10.0.3 on 2025-10-17; mpy-cross emitting mpy v6.3", "for CircuitPython 10"),
    ],
)
def test_unusable_mpy_cross_on_path_falls_back_to_py(run, source, drive, bare_path, banner, why):
    fake_mpy_cross(bare_path / "mpy-cross", banner)
    out, _ = install(run, source, drive)
    assert why in out and "installing lib/switchyard as .py" in out
    assert firmware_forms(drive)[1] == set()


def test_py_and_mpy_cross_together_is_a_usage_error(run, source, drive, tmp_path):
    tool = fake_mpy_cross(tmp_path / "mpy-cross", CP9_BANNER)
    code, _, _ = run("--source", source, "--to", drive, "--py", "--mpy-cross", tool)
    assert code == 2
    assert snapshot(drive) == {"boot_out.txt": BOOT_OUT.encode()}
