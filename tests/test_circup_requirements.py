"""requirements-circup.txt lists exactly the libraries the firmware needs on CIRCUITPY.

Every module the firmware (code.py, boot.py, lib/switchyard, boards) imports is either a
CircuitPython core module, part of the firmware, or listed; every listed module is imported,
by the firmware or by a listed library (circup and tools/deploy.py install those too). Pins
match requirements-device.txt, the versions the simulator runs.
"""

import ast
import importlib.util
import re
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SITE = Path(sysconfig.get_paths()["purelib"])


def load_deploy():
    spec = importlib.util.spec_from_file_location("switchyard_deploy", ROOT / "tools/deploy.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


deploy = load_deploy()

# CircuitPython's own modules: one circuitpython-stubs package each, plus the MicroPython
# core modules CircuitPython builds in that the stubs do not cover.
MICROPYTHON_CORE = {
    "array", "binascii", "builtins", "collections", "errno", "gc", "io", "json", "math",
    "micropython", "os", "random", "re", "select", "struct", "sys", "time",
}  # fmt: skip
FIRMWARE_PACKAGES = {"switchyard", "boards"}
IMPORT_GUARDS = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}


def core_modules():
    stubs = {p.name[: -len("-stubs")] for p in SITE.glob("*-stubs") if p.is_dir()}
    return stubs | MICROPYTHON_CORE


CORE = core_modules()


def _guards_imports(handler):
    if handler.type is None:
        return True
    kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(isinstance(k, ast.Name) and k.id in IMPORT_GUARDS for k in kinds)


def _is_type_checking(test):
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(text):
    """(required, optional) top-level module names imported by a source text.

    Optional: inside `try: ... except ImportError` (CircuitPython idiom for typing and
    host-only helpers) or `if TYPE_CHECKING:`. Relative imports are the module's own package.
    """
    required, optional = set(), set()

    def visit(node, guarded):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Try):
            body_guarded = guarded or any(_guards_imports(h) for h in node.handlers)
            for child in node.body:
                visit(child, body_guarded)
            for child in node.handlers + node.orelse + node.finalbody:
                visit(child, guarded)
            return
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, True)
            for child in node.orelse:
                visit(child, guarded)
            return
        for name in names:
            (optional if guarded else required).add(name.split(".")[0])
        for child in ast.iter_child_nodes(node):
            visit(child, guarded)

    visit(ast.parse(text), False)
    return required, optional


def library_sources(module):
    return [path.read_text(encoding="utf-8") for path, _ in deploy.library_files(SITE, module)]


def needed_libraries(sources):
    """(libraries needed at run time, libraries imported optionally) for firmware sources.

    Needed: imported outside import guards by the firmware, or by a needed library.
    """
    required, optional = set(), set()
    for text in sources:
        r, o = imports_of(text)
        required |= r
        optional |= o
    local = CORE | FIRMWARE_PACKAGES
    needed = set()
    todo = sorted(required - local)
    while todo:
        module = todo.pop()
        if module in needed:
            continue
        needed.add(module)
        for text in library_sources(module):
            r, _ = imports_of(text)
            todo += sorted(r - local - needed - {module})
    return needed, optional - local - needed


def problems(sources, requirements_text):
    """What is wrong with a requirements-circup.txt for these firmware sources, as messages."""
    listed = [name for name, _ in deploy.parse_requirements(requirements_text)]
    needed, optional = needed_libraries(sources)
    found = []
    for module in sorted(needed - set(listed)):
        found.append(f"{module} is imported but not listed in requirements-circup.txt")
    for module in sorted(set(listed) - needed - optional):
        found.append(f"{module} is listed in requirements-circup.txt but nothing imports it")
    for module in sorted({m for m in listed if listed.count(m) > 1}):
        found.append(f"{module} is listed twice")
    return found


def firmware_sources():
    files = sorted((ROOT / "lib" / "switchyard").rglob("*.py"))
    files += sorted((ROOT / "boards").glob("*.py"))
    files += [ROOT / "code.py", ROOT / "boot.py"]
    return {p.relative_to(ROOT).as_posix(): p.read_text(encoding="utf-8") for p in files}


def device_pins():
    pins = {}
    for line in (ROOT / "requirements-device.txt").read_text().splitlines():
        match = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*==\s*(\S+)", line)
        if match:
            pins[normalise(match.group(1))] = match.group(2)
    return pins


def normalise(dist):
    return re.sub(r"[-_.]+", "-", dist).lower()


# ------------------------------------------------------------------- the real firmware


def test_firmware_files_exist():
    sources = firmware_sources()
    assert "code.py" in sources and "boot.py" in sources
    assert "lib/switchyard/__init__.py" in sources


def test_requirements_match_firmware_imports():
    text = (ROOT / "requirements-circup.txt").read_text(encoding="utf-8")
    assert problems(firmware_sources().values(), text) == []


def test_every_listed_library_is_pinned_to_the_simulator_version():
    pins = device_pins()
    text = (ROOT / "requirements-circup.txt").read_text(encoding="utf-8")
    for module, pin in deploy.parse_requirements(text):
        assert pin, f"{module}: pin it with =="
        dist = deploy.installed_version(SITE, module)
        assert dist, (
            f"{module} is not installed in .venv; add its package to requirements-device.txt"
        )
        assert pins.get(normalise(dist[0])) == pin, (module, dist, pin)
        assert deploy.library_files(SITE, module), module


def test_core_module_list_comes_from_the_stubs():
    # The check above is only as good as this list.
    assert {"usb_midi", "busio", "digitalio", "keypad", "rp2pio", "storage"} <= CORE
    assert {"micropython", "array", "time"} <= CORE
    assert not {"typing", "adafruit_debouncer", "adafruit_ticks", "asyncio"} & CORE


# ------------------------------------------------------------ the checker on known input


def test_imports_of_sorts_required_optional_and_relative():
    text = (
        "import board\n"
        "import adafruit_midi.note_on\n"
        "from adafruit_debouncer import Debouncer\n"
        "from . import midi\n"
        "from .merge import Output\n"
        "try:\n"
        "    from typing import Optional\n"
        "except ImportError:\n"
        "    pass\n"
        "try:\n"
        "    import adafruit_pio_uart\n"
        "except (OSError, ImportError):\n"
        "    adafruit_pio_uart = None\n"
        "try:\n"
        "    import json\n"
        "except ValueError:\n"
        "    pass\n"
        "def f():\n"
        "    import rp2pio\n"
        "if TYPE_CHECKING:\n"
        "    import circuitpython_typing\n"
    )
    required, optional = imports_of(text)
    assert required == {"board", "adafruit_midi", "adafruit_debouncer", "json", "rp2pio"}
    assert optional == {"typing", "adafruit_pio_uart", "circuitpython_typing"}


def test_libraries_pull_in_what_they_import():
    needed, _ = needed_libraries(["from adafruit_debouncer import Debouncer\n"])
    # adafruit_debouncer imports adafruit_ticks; its typing imports are guarded.
    assert needed == {"adafruit_debouncer", "adafruit_ticks"}
    needed, _ = needed_libraries(["import adafruit_pio_uart\n"])
    assert needed == {"adafruit_pio_uart", "adafruit_pioasm"}
    needed, _ = needed_libraries(
        ["import adafruit_midi\nfrom adafruit_midi.note_on import NoteOn\n"]
    )
    assert needed == {"adafruit_midi"}


def test_problems_in_both_directions():
    firmware = ["import usb_midi\nfrom adafruit_debouncer import Debouncer\n"]
    assert problems(firmware, "# nothing\n") == [
        "adafruit_debouncer is imported but not listed in requirements-circup.txt",
        "adafruit_ticks is imported but not listed in requirements-circup.txt",
    ]
    good = "adafruit_debouncer==2.0.15\nadafruit_ticks==1.1.7\n"
    assert problems(firmware, good) == []
    assert problems(firmware, good + "adafruit_midi==1.6.0\n") == [
        "adafruit_midi is listed in requirements-circup.txt but nothing imports it"
    ]
    assert problems(firmware, good + "adafruit_ticks\n") == ["adafruit_ticks is listed twice"]
    # A guarded import may be listed, and need not be.
    optional = ["try:\n    import adafruit_midi\nexcept ImportError:\n    pass\n"]
    assert problems(optional, "adafruit_midi==1.6.0\n") == []
    assert problems(optional, "") == []


def test_parse_requirements_follows_circup():
    text = (
        "# comment\n"
        "\n"
        "adafruit_debouncer==2.0.15\n"
        "  Adafruit_Ticks == 1.1.7  \n"
        "adafruit_midi\n"
        "adafruit_pioasm>=1.3\n"
    )
    assert deploy.parse_requirements(text) == [
        ("adafruit_debouncer", "2.0.15"),
        ("adafruit_ticks", "1.1.7"),
        ("adafruit_midi", None),
        ("adafruit_pioasm", None),
    ]


@pytest.mark.parametrize(
    "module, dist, version",
    [
        ("adafruit_debouncer", "adafruit-circuitpython-debouncer", "2.0.15"),
        ("adafruit_midi", "adafruit-circuitpython-midi", "1.6.0"),
        ("adafruit_pio_uart", "adafruit-circuitpython-pio-uart", "1.1.6"),
    ],
)
def test_installed_version_finds_the_pip_package(module, dist, version):
    found = deploy.installed_version(SITE, module)
    assert found is not None
    assert (normalise(found[0]), found[1]) == (dist, version)
    assert device_pins()[dist] == version


def test_installed_version_of_something_absent():
    assert deploy.installed_version(SITE, "adafruit_no_such_library") is None
    assert deploy.library_files(SITE, "adafruit_no_such_library") == []
