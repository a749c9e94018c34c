"""Double of `micropython`: const() is the identity; heap_lock()/heap_unlock() only count
(chip.heap_lock_depth, chip.heap_lock_count) because CPython cannot forbid allocation --
the allocation gate runs the engine under MicroPython instead. mem_info() prints a line.
"""

from __future__ import annotations

from sim.chip import current


def const(expr):  # noqa: ANN001, ANN201 - identity, any type
    return expr


def heap_lock() -> None:
    chip = current()
    chip.heap_lock_depth += 1
    chip.heap_lock_count += 1


def heap_unlock() -> int:
    chip = current()
    if chip.heap_lock_depth > 0:
        chip.heap_lock_depth -= 1
    return chip.heap_lock_depth


def heap_locked() -> int:
    return current().heap_lock_depth


def mem_info(verbose: object = None) -> None:
    print("mem: simulated (no MicroPython heap on the host)")


def stack_use() -> int:
    return 0


def alloc_emergency_exception_buf(size: int) -> None:
    return None


def opt_level(level: int | None = None) -> int | None:
    return 0 if level is None else None
