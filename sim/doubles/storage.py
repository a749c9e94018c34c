"""Double of `storage`, for boot.py: remount("/", readonly) records who may write
CIRCUITPY (chip.firmware_can_write_storage = not readonly); disable_usb_drive() /
enable_usb_drive() only while chip.boot_phase. Outside boot.py with USB connected,
remount raises RuntimeError("Cannot remount path when visible via USB.").
Left out: the filesystem itself, mount/umount/getmount/erase_filesystem.
"""

from __future__ import annotations

from sim.chip import current


def remount(
    mount_path: str, readonly: bool = False, *, disable_concurrent_write_protection: bool = False
) -> None:
    chip = current()
    if mount_path != "/":
        raise OSError(22, "[Errno 22] Invalid argument")
    if not chip.boot_phase and chip.usb.connected:
        raise RuntimeError("Cannot remount path when visible via USB.")
    chip.firmware_can_write_storage = not readonly


def disable_usb_drive() -> None:
    chip = current()
    if not chip.boot_phase:
        raise RuntimeError("Cannot change USB devices now")
    chip._cache["storage.usb_drive"] = False


def enable_usb_drive() -> None:
    chip = current()
    if not chip.boot_phase:
        raise RuntimeError("Cannot change USB devices now")
    chip._cache["storage.usb_drive"] = True
