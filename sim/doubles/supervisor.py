"""Double of `supervisor`.

Models: ticks_ms() exactly as shared-bindings/supervisor/__init__.c computes it,
(ms + 0x1fff0000) % 2**29 with ms from the 1024 Hz supervisor tick, so it first wraps
65.536 s after power-up; runtime (usb_connected from chip.usb.connected,
serial_connected from chip.usb.serial_connected, serial_bytes_available 0, autoreload,
run_reason); reload() raises sim.chip.SimReload; set_next_code_file() is recorded on the
chip; set_usb_identification() only while chip.boot_phase.
Left out: status_bar, get_setting (no settings.toml), reset_terminal.
"""

from __future__ import annotations

from sim.chip import Chip, SimReload, current


class RunReason:
    STARTUP = "supervisor.RunReason.STARTUP"
    AUTO_RELOAD = "supervisor.RunReason.AUTO_RELOAD"
    SUPERVISOR_RELOAD = "supervisor.RunReason.SUPERVISOR_RELOAD"
    REPL_RELOAD = "supervisor.RunReason.REPL_RELOAD"


class Runtime:
    def __init__(self, chip: Chip) -> None:
        self._chip = chip
        self.autoreload = True
        self.run_reason = RunReason.STARTUP
        self.display = None

    @property
    def usb_connected(self) -> bool:
        return self._chip.usb.connected

    @property
    def serial_connected(self) -> bool:
        return self._chip.usb.connected and self._chip.usb.serial_connected

    @property
    def serial_bytes_available(self) -> int:
        return 0


def ticks_ms() -> int:
    return current().ticks_ms()


def reload() -> None:
    raise SimReload("supervisor.reload()")


def set_next_code_file(filename: str | None, **options: bool) -> None:
    current()._cache["supervisor.next_code_file"] = (filename, options)


def get_previous_traceback() -> str | None:
    return None


def set_usb_identification(
    manufacturer: str | None = None, product: str | None = None, vid: int = -1, pid: int = -1
) -> None:
    chip = current()
    if not chip.boot_phase:
        raise RuntimeError("Cannot change USB devices now")
    chip._cache["supervisor.usb_identification"] = (manufacturer, product, vid, pid)


def __getattr__(name: str) -> object:
    if name == "runtime":
        chip = current()
        runtime = chip._cache.get("supervisor.runtime")
        if runtime is None:
            runtime = chip._cache["supervisor.runtime"] = Runtime(chip)
        return runtime
    raise AttributeError(f"module 'supervisor' has no attribute {name!r}")
