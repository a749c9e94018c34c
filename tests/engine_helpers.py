"""Shared helpers for the engine tests (stream, router, merge, MicroPython).

- sys.path: lib/ first (the engine), the repo root last (tools.*; prepending it would let
  the root code.py shadow the stdlib `code` module).
- The mido oracle: running-status expansion (mido's parser does not understand running
  status), strict parsing of output streams, and the expected messages of an input stream
  (mido's parse of it, with the documented adjustments where mido departs from MIDI 1.0).
- Small fake ports with the interfaces of switchyard.ports: a DIN port (room/buf/send), a
  stand-in for the rp2pio StateMachine behind ports.PioOut that records what goes on the
  wire and refuses what the real one would get wrong, a USB port that may take fewer bytes
  than offered, and a preloaded input. They behave like the hardware; they are not Mocks.
- Box: an App built on those fakes, stepped the way the simulator steps it.
"""

from __future__ import annotations

import json
import sys
from collections import deque
from collections.abc import Iterable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO / "lib") not in sys.path:
    sys.path.insert(0, str(REPO / "lib"))
if str(REPO) not in sys.path:
    sys.path.append(str(REPO))

from hypothesis import strategies as st  # noqa: E402
from switchyard import piotx, presets  # noqa: E402
from switchyard.app import App  # noqa: E402
from switchyard.merge import Output  # noqa: E402
from switchyard.ports import PioOut, UartIn  # noqa: E402
from switchyard.router import INPUT_NAMES, OUTPUT_NAMES, Router  # noqa: E402
from switchyard.stream import StreamParser  # noqa: E402

from sim.oracle import (  # noqa: E402, F401 (the tests import these from here)
    VALID_REALTIME,
    data_length,
    expand_running_status,
    mido_messages,
)
from sim.oracle import valid_messages as oracle  # noqa: E402, F401

SHIPPED_PRESETS = json.loads((REPO / "presets.json").read_text(encoding="utf-8"))


# ---- the oracle ------------------------------------------------------------------------


def parse_din(stream: bytes) -> tuple[list[bytes], bytes]:
    """A DIN output stream as (messages, realtime bytes); asserts it is clean MIDI.

    Running status is expanded first. Realtime bytes may sit anywhere, even between the
    bytes of a message (MIDI allows it on a wire), so they are taken out before mido reads
    the rest; that rest must be whole messages and nothing else: no leftover bytes, no
    stray data, no message cut or interleaved with another.
    """
    expanded = expand_running_status(stream)
    realtime = bytes(b for b in expanded if b >= 0xF8)
    body = bytes(b for b in expanded if b < 0xF8)
    messages = mido_messages(body)
    assert b"".join(messages) == body, "DIN stream is not whole messages: %s" % body.hex(" ")
    assert set(realtime) <= VALID_REALTIME, "undefined realtime byte on an output"
    return messages, realtime


def din_in_order(stream: bytes) -> list[bytes]:
    """A clean DIN stream (see parse_din) as one list in wire order: a realtime byte is a
    one-byte message, placed before the message it went out in the middle of."""
    messages, _ = parse_din(stream)
    expanded = expand_running_status(stream)
    result: list[bytes] = []
    k = 0  # next message
    inside = 0  # bytes of messages[k] already seen
    for b in expanded:
        if b >= 0xF8:
            result.append(bytes([b]))
            continue
        inside += 1
        if inside == len(messages[k]):
            result.append(messages[k])
            k += 1
            inside = 0
    return result


def parse_usb(stream: bytes) -> tuple[list[bytes], bytes]:
    """A USB output stream as (messages, realtime bytes); asserts it is clean MIDI with
    no running status and realtime only between messages (never inside one)."""
    assert expand_running_status(stream) == stream, "running status on USB: %s" % stream.hex(" ")
    everything = mido_messages(stream)
    assert b"".join(everything) == stream, "USB stream is not whole messages: %s" % stream.hex(
        " "
    )
    messages = [m for m in everything if m[0] < 0xF8]
    realtime = bytes(m[0] for m in everything if m[0] >= 0xF8)
    return messages, realtime


def is_merge_of(merged: Sequence, a: Sequence, b: Sequence) -> bool:
    """True if `merged` interleaves `a` and `b`, each in its own order (a shuffle)."""
    if len(merged) != len(a) + len(b):
        return False
    # reach[j]: a[:i] and b[:j] can make merged[:i + j]
    reach = [True] + [False] * len(b)
    for j in range(1, len(b) + 1):
        reach[j] = reach[j - 1] and b[j - 1] == merged[j - 1]
    for i in range(1, len(a) + 1):
        reach[0] = reach[0] and a[i - 1] == merged[i - 1]
        for j in range(1, len(b) + 1):
            k = i + j - 1
            reach[j] = (reach[j] and a[i - 1] == merged[k]) or (
                reach[j - 1] and b[j - 1] == merged[k]
            )
    return reach[len(b)]


# ---- parser sink -------------------------------------------------------------------------


class RecordingSink:
    """A StreamParser sink that records every call as a tuple, in order."""

    def __init__(self) -> None:
        self.events: list[tuple] = []

    def message(self, source: int, status: int, data1: int, data2: int) -> None:
        self.events.append(("msg", status, data1, data2))

    def realtime(self, source: int, byte: int) -> None:
        self.events.append(("rt", byte))

    def sysex_start(self, source: int) -> None:
        self.events.append(("sx_start",))

    def sysex_data(self, source: int, buf: bytes, start: int, end: int) -> None:
        for k in range(start, end):  # one event per byte: splits must not matter
            self.events.append(("sx", buf[k]))

    def sysex_end(self, source: int, complete: bool) -> None:
        self.events.append(("sx_end", complete))


def parse_events(*chunks: bytes) -> tuple[list[tuple], StreamParser]:
    """Feed the chunks, one feed() call each, to a fresh parser; returns (events, parser)."""
    sink = RecordingSink()
    parser = StreamParser(0, sink)
    for chunk in chunks:
        buf = bytearray(chunk) + bytearray(b"\x99" * 3)  # bytes past n must be ignored
        parser.feed(buf, len(chunk))
    return sink.events, parser


# ---- fake ports ------------------------------------------------------------------------


class FakeDin:
    """A DIN output port (ports.UartOut's interface): `room` bytes per loop pass."""

    def __init__(self, room: int = 8) -> None:
        self.per_pass = room
        self.left = room
        self.buf = bytearray(64)
        self.wire = bytearray()

    def room(self) -> int:
        return self.left

    def send(self, n: int) -> None:
        assert 0 < n <= self.left, "send(%d) with room %d" % (n, self.left)
        self.wire += self.buf[:n]
        self.left -= n

    def tick(self) -> None:
        self.left = self.per_pass


class FakeUsb:
    """usb_midi out: write(view, n) takes what `accept` allows (all, a cap, or a schedule
    cycling through caps); 0 models an absent host."""

    def __init__(self, accept: int | Sequence[int] | None = None) -> None:
        if accept is None:
            self.schedule: Sequence[int] | None = None
        elif isinstance(accept, int):
            self.schedule = (accept,)
        else:
            self.schedule = tuple(accept)
        self.calls = 0
        self.wire = bytearray()
        self.offered: list[int] = []

    def write(self, view, n: int) -> int:
        assert 0 < n <= len(view), "write(view of %d, %d)" % (len(view), n)
        take = n
        if self.schedule is not None:
            take = min(n, self.schedule[self.calls % len(self.schedule)])
        self.calls += 1
        self.offered.append(n)
        self.wire += bytes(view[:take])
        return take

    def tick(self) -> None:
        pass


class RecordingSM:
    """rp2pio.StateMachine running switchyard.piotx, as ports.PioOut uses it.

    `tick(k)` lets k byte times pass on the wire: at each byte boundary the program sends
    the realtime byte waiting in Y (and pushes an RX word), else the next TX FIFO byte;
    DMA refills the 4-word FIFO as it empties and reads its buffer only then, and starts
    on the buffer queued behind it when it is done. `pending` counts as
    StateMachine.c does: the first buffer of a fresh DMA channel counts until it has been
    moved completely, a later one only while it waits behind another. What the real
    hardware would get wrong raises AssertionError: run() while the previous realtime byte
    is still in Y or its RX word unread (a byte lost), a background_write while a buffer
    is pending (it would block), a readinto() that would block. A buffer changed after it
    was handed over shows as a wire that differs from `batches`.
    """

    FIFO_DEPTH = 4

    def __init__(self) -> None:
        self.wire = bytearray()  # every byte, in the order the PIO sends it
        self.batches: list[bytes] = []  # each background_write's bytes, as handed over
        self.rt_runs = bytearray()  # the realtime byte of each run()
        self.calls: list[tuple[str, bytes]] = []  # ("dma", bytes) / ("rt", byte), in order
        self.fifo: deque[int] = deque()
        self.dma = None  # the buffer DMA is moving
        self.dma_next = None  # the one queued behind it
        self.dma_pos = 0
        self.dma_started = False
        self.dma_completed = False
        self.dma_pending = 0
        self.y = 0
        self.rx = 0

    @property
    def writing(self) -> bool:
        return not self.dma_completed

    @property
    def pending(self) -> int:
        return self.dma_pending

    @property
    def in_waiting(self) -> int:
        return self.rx

    def readinto(self, buf, end=None) -> None:
        n = len(buf) if end is None else end
        assert n <= self.rx, "readinto of %d RX words with %d there would block" % (n, self.rx)
        self.rx -= n

    def run(self, program) -> None:
        assert len(program) == 1 and program[0] & 0xFFE0 == piotx.SET_Y, "not `set y, N`"
        assert not self.y, "run() while the previous realtime byte is still in Y: it is lost"
        assert not self.rx, "run() before the previous realtime byte's RX word was read"
        self.y = program[0] & 0x1F
        byte = 0xF8 | (program[0] & 7)
        self.rt_runs.append(byte)
        self.calls.append(("rt", bytes([byte])))

    def background_write(self, once=None) -> None:
        assert not self.dma_pending, "background_write with a buffer pending: it would block"
        assert once is not None and len(once) > 0
        self.batches.append(bytes(once))
        self.calls.append(("dma", bytes(once)))
        if not self.dma_started:
            self.dma_started = True
            self.dma = once
            self.dma_pos = 0
            self.dma_pending = 1  # the first buffer counts until it is done
        elif self.dma is None:
            self.dma = once
            self.dma_pos = 0
        else:
            self.dma_next = once
            self.dma_pending = 1
        self.dma_completed = False
        self._pump()

    def _pump(self) -> None:
        while self.dma is not None and len(self.fifo) < self.FIFO_DEPTH:
            self.fifo.append(self.dma[self.dma_pos])  # DMA reads the buffer only now
            self.dma_pos += 1
            if self.dma_pos == len(self.dma):
                self.dma = self.dma_next
                self.dma_next = None
                self.dma_pos = 0
                self.dma_pending = 0
                if self.dma is None:
                    self.dma_completed = True

    def tick(self, byte_times: int = 1) -> None:
        for _ in range(byte_times):
            if self.y:
                self.wire.append(0xF8 | (self.y & 7))
                self.y = 0
                self.rx += 1
            elif self.fifo:
                self.wire.append(self.fifo.popleft())
                self._pump()

    def idle(self) -> bool:
        return not self.y and not self.fifo and self.dma is None


class FeedPort:
    """A DIN or USB input: hands out `chunk` bytes every `every` reads; push() adds more."""

    def __init__(self, data: bytes = b"", chunk: int = 64, every: int = 1) -> None:
        self.data = bytearray(data)
        self.pos = 0
        self.chunk = chunk
        self.every = every
        self.reads = 0

    def push(self, more: bytes) -> None:
        self.data += more

    def readinto(self, buf) -> int:
        self.reads += 1
        if self.reads % self.every:
            return 0
        n = min(self.chunk, len(self.data) - self.pos, len(buf))
        if n <= 0:
            return 0
        buf[:n] = self.data[self.pos : self.pos + n]
        self.pos += n
        return n

    def done(self) -> bool:
        return self.pos >= len(self.data)


class FeedUart(FeedPort):
    """busio.UART with timeout=0, as App reads it through ports.UartIn: `chunk` more bytes
    have arrived at every `every`-th look at in_waiting (each look takes time), and
    readinto() returns what has arrived, or None when nothing has. App looks again between
    the writes of a pass in light traffic, so bytes also come in mid-pass."""

    def __init__(self, data: bytes = b"", chunk: int = 64, every: int = 1) -> None:
        FeedPort.__init__(self, data, chunk, every)
        self.arrived = 0

    @property
    def in_waiting(self) -> int:
        self.reads += 1
        if self.reads % self.every == 0:
            self.arrived = min(len(self.data), self.arrived + self.chunk)
        return self.arrived - self.pos

    def readinto(self, buf):  # type: ignore[override]
        n = min(self.arrived - self.pos, len(buf))
        if n <= 0:
            return None
        buf[:n] = self.data[self.pos : self.pos + n]
        self.pos += n
        return n


class Ticks:
    """supervisor.ticks_ms stand-in the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


def config_of(doc: dict) -> presets.Config:
    result = presets.parse(json.dumps(doc))
    assert result.ok, result.errors
    assert result.config is not None
    return result.config


def preset_doc(*routes: dict, control: dict | None = None, more: Sequence = ()) -> dict:
    """A presets.json document: one preset with these routes, then `more` route lists."""
    doc: dict = {"version": 1, "presets": [{"name": "P1", "routes": list(routes)}]}
    for k, extra in enumerate(more):
        doc["presets"].append({"name": "P%d" % (k + 2), "routes": list(extra)})
    if control is not None:
        doc["control"] = control
    return doc


class Box:
    """An App on fake ports. Ports: DIN outputs (FakeDin), PIO outputs (PioOut on a
    RecordingSM), USB (FakeUsb); inputs are FeedPorts. step() is one loop pass followed by
    one pass of time on every wire."""

    def __init__(
        self,
        doc: dict,
        din: Sequence[str] = ("1", "2"),
        pio: Sequence[str] = ("3", "4"),
        usb: bool = True,
        din_room: int = 8,
        pio_bytes: int = 12,
        usb_accept: int | Sequence[int] | None = None,
        inputs: Sequence[str] = ("A", "B"),
        chunk: int = 64,
        every: int = 1,
        uarts: bool = False,
    ) -> None:
        # uarts: A and B are busio.UARTs (FeedUart behind ports.UartIn), as on the box
        feed = FeedUart if uarts else FeedPort
        self.inputs = {
            name: (feed if name != "USB" else FeedPort)(b"", chunk, every) for name in inputs
        }
        self.ports: dict = {}
        outputs = []
        for name in OUTPUT_NAMES:
            if name in din:
                port = FakeDin(din_room)
                self.ports[name] = port
                outputs.append((name, port, False))
            elif name in pio:
                sm = RecordingSM()
                self.ports[name] = sm
                outputs.append((name, PioOut(sm), False))
            elif name == "USB" and usb:
                port = FakeUsb(usb_accept)
                self.ports[name] = port
                outputs.append((name, port, True))
        self.pio_bytes = pio_bytes
        self.ticks = Ticks()
        ports = [(name, UartIn(port) if isinstance(port, FeedUart) else port)
                 for name, port in self.inputs.items()]
        self.app = App(ports, outputs, config_of(doc), self.ticks)
        self.router = self.app.router
        self.steps = 0

    def output(self, name: str) -> Output:
        return self.router.outputs[OUTPUT_NAMES.index(name)]

    def wire(self, name: str) -> bytes:
        return bytes(self.ports[name].wire)

    def parsed(self, name: str) -> tuple[list[bytes], bytes]:
        if name == "USB":
            return parse_usb(self.wire(name))
        return parse_din(self.wire(name))

    def step(self) -> int:
        got = self.app.step()
        self.steps += 1
        for port in self.ports.values():
            if isinstance(port, RecordingSM):
                port.tick(self.pio_bytes)
            else:
                port.tick()
        return got

    def drained(self) -> bool:
        if any(not port.done() for port in self.inputs.values()):
            return False
        if self.app.queued():
            return False
        return all(p.idle() for p in self.ports.values() if isinstance(p, RecordingSM))

    def run(self, max_steps: int = 100_000, close_sysex: bool = True) -> int:
        """Step until the inputs are read and every output has drained. A SysEx the input
        left open is closed the way the box does it: by the 1 s silence timeout."""
        start = self.steps
        while self.steps - start < max_steps:
            self.step()
            silent = all(port.done() for port in self.inputs.values())
            if silent and close_sysex and any(p.in_sysex for p in self.app.parsers):
                self.ticks.now += 1000  # the inputs have gone quiet mid-SysEx
                continue
            if self.drained():
                return self.steps - start
        raise AssertionError("outputs did not drain in %d passes" % max_steps)

    def steps_n(self, n: int) -> None:
        for _ in range(n):
            self.step()


class RouterBench:
    """A Router with parsers for A, B and USB and a big DIN port on every output, for
    tests about what goes where (pacing is test_merge's job)."""

    def __init__(self, doc: dict, room: int = 64) -> None:
        self.ports = [FakeDin(room) for _ in OUTPUT_NAMES]
        self.outputs = [
            Output(name, port, False) for name, port in zip(OUTPUT_NAMES, self.ports, strict=True)
        ]
        self.router = Router(self.outputs, config_of(doc))
        self.parsers = {name: StreamParser(k, self.router) for k, name in enumerate(INPUT_NAMES)}
        self.seen = dict.fromkeys(OUTPUT_NAMES, 0)

    def send(self, source: str, data: Iterable[int], pump: bool = True) -> None:
        """Feed bytes to an input; with pump, one loop pass of every output after each
        byte (realtime rings are 16 deep: a long burst with no pass would overflow them)."""
        parser = self.parsers[source]
        for b in data:
            parser.feed(bytearray([b]), 1)
            if pump:
                self.pump()

    def pump(self) -> None:
        for port, out in zip(self.ports, self.outputs, strict=True):
            port.tick()
            out.service()

    def drain(self) -> dict[str, list[bytes]]:
        """Every output's messages since the last drain, realtime included, in wire order
        (realtime bytes as one-byte messages at the place they went out)."""
        result = {}
        for name, port, out in zip(OUTPUT_NAMES, self.ports, self.outputs, strict=True):
            for _ in range(10_000):
                if not out.queued():
                    break
                port.tick()
                out.service()
            assert not out.queued()
            everything = din_in_order(bytes(port.wire))  # the whole stream: running status
            result[name] = everything[self.seen[name] :]
            self.seen[name] = len(everything)
        return result


def hexs(*parts: str) -> bytes:
    """bytes from hex strings with spaces: hexs("90 3c 64", "f8")."""
    return bytes.fromhex(" ".join(parts))


def messages(*parts: str) -> list[bytes]:
    return [bytes.fromhex(p) for p in parts]


def everything_to(outputs: Sequence[str], inputs: Sequence[str] = ("A", "B")) -> dict:
    """One preset: every message of each input to these outputs."""
    return preset_doc(*({"from": name, "to": list(outputs)} for name in inputs))


# ---- hypothesis strategies ---------------------------------------------------------------

_COMMON_STATUSES = (0x90, 0x80, 0xB0, 0xB1, 0xE1, 0xC2, 0xD3, 0xA0)
_data = st.integers(0, 127)
_BAD_BYTES = (b"\x00", b"\x00\x00\x00", b"\xf4", b"\xf5", b"\xf7", b"\xf9", b"\xfd")


@st.composite
def _channel_message(draw) -> tuple[str, bytes, bool]:
    status = draw(st.one_of(st.sampled_from(_COMMON_STATUSES), st.integers(0x80, 0xEF)))
    body = bytes([status] + [draw(_data) for _ in range(data_length(status))])
    return ("ch", body, draw(st.booleans()))


@st.composite
def _sysex(draw) -> tuple[str, bytes, bool]:
    body = bytes([0xF0] + draw(st.lists(_data, max_size=40)))
    if draw(st.integers(0, 4)):  # mostly terminated
        body += b"\xf7"
    return ("sx", body, False)


@st.composite
def _common(draw) -> tuple[str, bytes, bool]:
    status = draw(st.sampled_from((0xF1, 0xF2, 0xF3, 0xF6)))
    return ("sys", bytes([status] + [draw(_data) for _ in range(data_length(status))]), False)


@st.composite
def _garbage(draw) -> tuple[str, bytes, bool]:
    raw = draw(
        st.one_of(
            st.sampled_from(_BAD_BYTES),
            st.binary(min_size=1, max_size=3),
            # a channel message cut short
            st.tuples(st.sampled_from(_COMMON_STATUSES), _data).map(bytes),
        )
    )
    return ("junk", raw, False)


_token = st.one_of(_channel_message(), _channel_message(), _sysex(), _common(), _garbage())


@st.composite
def midi_like(draw, min_tokens: int = 0, max_tokens: int = 40) -> bytes:
    """Mostly valid MIDI: channel messages (often in running status), SysEx (sometimes
    unterminated), system common, realtime anywhere (also inside messages and SysEx, and
    the undefined F9/FD), with garbage mixed in."""
    out = bytearray()
    running = 0
    for kind, body, use_running in draw(st.lists(_token, min_size=min_tokens, max_size=max_tokens)):
        if kind == "ch":
            out += body[1:] if use_running and body[0] == running else body
            running = body[0]
        else:
            out += body
            running = 0
    inserts = draw(
        st.lists(
            st.tuples(st.integers(0, 10**6), st.sampled_from(sorted(VALID_REALTIME) + [0xF9])),
            max_size=10,
        )
    )
    for pos, byte in inserts:
        out.insert(pos % (len(out) + 1), byte)
    return bytes(out)


def midi_streams(max_size: int = 200, min_size: int = 0):
    """Random bytes or mostly valid MIDI, for robustness properties."""
    return st.one_of(
        st.binary(min_size=min_size, max_size=max_size),
        midi_like(min_tokens=min_size // 4, max_tokens=max(max_size // 4, min_size // 4)),
    )


def events_as_stream(events: list[tuple]) -> tuple[list[bytes], bytes]:
    """A parser's sink events as (messages, realtime), messages as their MIDI bytes (an
    incomplete SysEx with the F7 the box adds)."""
    result: list[bytes] = []
    realtime = bytearray()
    sysex: bytearray | None = None
    for ev in events:
        if ev[0] == "rt":
            realtime.append(ev[1])
        elif ev[0] == "msg":
            status = ev[1]
            result.append(bytes([status, ev[2], ev[3]][: 1 + data_length(status)]))
        elif ev[0] == "sx_start":
            sysex = bytearray(b"\xf0")
        elif ev[0] == "sx":
            assert sysex is not None
            sysex.append(ev[1])
        else:
            assert sysex is not None
            result.append(bytes(sysex) + b"\xf7")
            sysex = None
    return result, bytes(realtime)


def bounded_sysex(stream: bytes, limit: int) -> bytes:
    """The stream with every SysEx closed (F7 inserted) after `limit` data bytes, and one
    left open at the end closed too."""
    out = bytearray()
    in_sysex = False
    count = 0
    for b in stream:
        if in_sysex and b < 0x80:
            if count == limit:
                out.append(0xF7)
                in_sysex = False
            count += 1
        elif 0xF0 <= b < 0xF8 or 0x80 <= b < 0xF0:
            in_sysex = b == 0xF0
            count = 0
        out.append(b)
    if in_sysex:
        out.append(0xF7)
    return bytes(out)


def cap_realtime(stream: bytes, keep: int) -> bytes:
    """The stream without its valid realtime bytes after the first `keep`."""
    out = bytearray()
    for b in stream:
        if b in VALID_REALTIME:
            if not keep:
                continue
            keep -= 1
        out.append(b)
    return bytes(out)
