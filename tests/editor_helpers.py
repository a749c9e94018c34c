"""Shared by the preset editor's tests: tools/check.py as a user runs it, a fake CIRCUITPY
drive, HTTP calls to an editor server and a small .mid to play.

The repo root is appended to sys.path (not prepended: the root code.py would shadow the
standard library's `code`), so `editor` and `sim` import as packages.
"""

from __future__ import annotations

import http.client
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import mido

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.append(str(REPO))

CHECK = REPO / "tools" / "check.py"
STUDIO = REPO / "presets.json"
BOOT_OUT = (
    "Adafruit CircuitPython 9.2.1 on 2024-11-20; Raspberry Pi Pico with rp2040\n"
    "Board ID:raspberry_pi_pico\n"
)


def run_check(folder: Path, name: str = "presets.json") -> subprocess.CompletedProcess:
    """`python tools/check.py NAME` run in folder, as a user checks a file."""
    return subprocess.run(
        [sys.executable, str(CHECK), name], cwd=folder, capture_output=True, text=True,
        timeout=60,
    )


def make_drive(path: Path, presets: bytes | None = None) -> Path:
    """A folder that looks like CIRCUITPY to tools/deploy.py (it has a boot_out.txt)."""
    path.mkdir(parents=True)
    (path / "boot_out.txt").write_text(BOOT_OUT)
    if presets is not None:
        (path / "presets.json").write_bytes(presets)
    return path


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in folder.rglob("*") if p.is_file()}


def call(port: int, method: str, path: str, body: bytes | None = None,
         headers: dict | None = None, host: str | None = None):
    """(status, decoded JSON or raw bytes) of one request to the editor on port."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.putrequest(method, path, skip_host=True)
        conn.putheader("Host", host or "127.0.0.1:%d" % port)
        for key, value in (headers or {}).items():
            conn.putheader(key, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    if response.getheader("Content-Type", "").startswith("application/json"):
        return response.status, json.loads(data)
    return response.status, data


def post_json(port: int, path: str, value) -> tuple[int, dict]:
    return call(port, "POST", path, json.dumps(value).encode("utf-8"),
                {"Content-Type": "application/json"})


def midi_file(notes: int, channel: int) -> bytes:
    """A Standard MIDI File of `notes` rising notes on channel (0-based), an eighth each."""
    mid = mido.MidiFile(ticks_per_beat=96)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    for n in range(notes):
        track.append(mido.Message("note_on", channel=channel, note=60 + n, velocity=90, time=0))
        track.append(mido.Message("note_off", channel=channel, note=60 + n, velocity=0, time=48))
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()


@contextmanager
def editor_process() -> Iterator[tuple[str, subprocess.Popen]]:
    """`python -m editor --port 0` as `make editor` runs it: its first line and the
    process, ended afterwards."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "editor", "--port", "0"], cwd=REPO,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline(), proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)
