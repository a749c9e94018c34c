"""tools/guest.py's reference forwarder: the floor tools/bench.py reports must do the job it
claims (every message to every output, byte for byte), or its fuel means nothing."""

import sys
from pathlib import Path

import engine_helpers  # noqa: F401  (lib/ on sys.path: the forwarder reads switchyard.midi)
import mido

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))

from bench import mixed_stream  # noqa: E402
from guest import FORWARDER_SETUP  # noqa: E402


def _forward(data: bytes, outputs: int) -> list[bytes]:
    space: dict = {}
    exec(FORWARDER_SETUP, space)
    outs = [bytearray(len(data)) for _ in range(outputs)]
    n = space["forward"](bytearray(data), len(data), outs)
    return [bytes(o[:n]) for o in outs]


def test_forwarder_copies_every_message_of_the_bench_stream_to_every_output():
    data = mixed_stream(400)
    expected = [m.bytes() for m in mido.parse_all(data)]
    assert len(expected) == 400
    for out in _forward(data, 4):
        assert [m.bytes() for m in mido.parse_all(out)] == expected


def test_forwarder_output_differs_when_the_input_does():
    a = _forward(bytes([0x90, 60, 100, 0xF8, 0xC0, 5]), 2)
    b = _forward(bytes([0x90, 61, 100, 0xF8, 0xC0, 5]), 2)
    assert a[0] == bytes([0x90, 60, 100, 0xF8, 0xC0, 5]) == a[1]
    assert a != b
