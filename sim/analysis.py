"""What the wires carried: messages (mido is the oracle), latency and clock jitter.

Latency is reported two ways, per channel message:
- `latency_us` (the box's delay): start of the message's first byte on the output minus
  the start of its last byte on the input. A message is forwarded only once it is complete
  (a cut message must never reach an output), so this is what the box adds: the 320 us of
  the last byte on the wire plus processing and queueing.
- `latency_first_byte_us`: first byte out minus first byte in, which also includes the
  (length - 1) x 320 us the source takes to send the rest of the message.
- `added_delay_us` (what a player feels): last byte out minus last byte in, the time the
  receiving synth has the whole message later than over a plain cable.
Clock jitter: the k-th clock out matched with the k-th clock in from the clock source;
jitter = |out interval - in interval| over consecutive clocks.
"""

from __future__ import annotations

from collections import Counter, defaultdict, deque

import mido

ByteLog = list[tuple[int, int]]


class TimedMessage:
    __slots__ = ("msg", "t_first", "t_last")

    def __init__(self, msg: mido.Message, t_first: int, t_last: int):
        self.msg = msg
        self.t_first = t_first
        self.t_last = t_last


def parse_log(log: ByteLog) -> list[TimedMessage]:
    """Messages in a timed byte stream, parsed by mido, with their first/last byte times."""
    parser = mido.Parser()
    out: list[TimedMessage] = []
    t_first = None
    expecting = 0
    running = 0  # mido does not take running status: the status byte is fed again
    for t_us, byte in log:
        if byte >= 0xF8:
            # mido drops a message that a realtime byte interrupts (MIDI 1.0 allows the
            # byte there), so realtime is taken out of the stream and reported at once.
            if byte not in (0xF9, 0xFD):
                out.append(TimedMessage(mido.Message.from_bytes([byte]), t_us, t_us))
            continue
        if byte < 0xF8:
            if byte >= 0x80 or expecting == 0:
                t_first = t_us  # a status byte, or running status starting a message
                if byte < 0x80 and running:
                    parser.feed_byte(running)
            expecting = 1
            if byte >= 0x80:
                running = byte if byte < 0xF0 else 0
        parser.feed_byte(byte)
        for msg in parser:
            if msg.type in ("clock", "start", "continue", "stop", "active_sensing", "reset"):
                out.append(TimedMessage(msg, t_us, t_us))
            else:
                out.append(TimedMessage(msg, t_first if t_first is not None else t_us, t_us))
                expecting = 0
    return out


def messages(log: ByteLog) -> list[mido.Message]:
    return [m.msg for m in parse_log(log)]


def counts(log: ByteLog) -> Counter:
    """Message counts by (type, channel or None)."""
    c: Counter = Counter()
    for m in messages(log):
        c[(m.type, getattr(m, "channel", None))] += 1
    return c


def _key(msg: mido.Message) -> tuple:
    data = msg.bytes()
    if data[0] < 0xF0:
        return (data[0] & 0xF0,) + tuple(data[1:])
    return tuple(data)


def _matched(inputs: dict[str, ByteLog], output: ByteLog, window_us: int = 50_000):
    """(input message, output message) pairs for the channel messages on one output."""
    pending: dict[tuple, deque] = defaultdict(deque)
    candidates = []
    for log in inputs.values():
        for tm in parse_log(log):
            if tm.msg.type not in ("clock", "start", "continue", "stop", "sysex",
                                   "active_sensing", "reset"):
                candidates.append(tm)
    candidates.sort(key=lambda tm: tm.t_last)
    for tm in candidates:
        pending[_key(tm.msg)].append(tm)
    pairs = []
    for tm in parse_log(output):
        if tm.msg.type in ("clock", "start", "continue", "stop", "sysex", "active_sensing",
                           "reset"):
            continue
        queue = pending.get(_key(tm.msg))
        while queue and tm.t_first - queue[0].t_last > window_us:
            queue.popleft()  # an input message not routed here
        # It cannot start before its input's message began, nor end before it ended (a
        # message forwarded while it arrives starts before its last byte is in).
        if not queue or queue[0].t_first > tm.t_first or queue[0].t_last > tm.t_last:
            continue
        pairs.append((queue.popleft(), tm))
    return pairs


def latencies(inputs: dict[str, ByteLog], output: ByteLog, window_us: int = 50_000):
    """(box delay, first-byte delay) lists for the channel messages on one output."""
    pairs = _matched(inputs, output, window_us)
    return ([out.t_first - src.t_last for src, out in pairs],
            [out.t_first - src.t_first for src, out in pairs])


def added_delays(inputs: dict[str, ByteLog], output: ByteLog) -> list[int]:
    """What a player feels, per channel message on one output: the start of its last byte
    on the output minus the start of its last byte on the input (both bytes take 320 us,
    so this is also end minus end)."""
    return [out.t_last - src.t_last for src, out in _matched(inputs, output)]


def clock_times(log: ByteLog) -> list[int]:
    return [t for t, b in log if b == 0xF8]


def clock_jitter(source: ByteLog, output: ByteLog) -> list[int]:
    ins = clock_times(source)
    outs = clock_times(output)
    n = min(len(ins), len(outs))
    return [
        abs((outs[k + 1] - outs[k]) - (ins[k + 1] - ins[k])) for k in range(n - 1)
    ]


def percentile(values: list[int], p: float) -> int:
    if not values:
        return 0
    s = sorted(values)
    k = min(len(s) - 1, max(0, int(round(p / 100.0 * (len(s) - 1)))))
    return s[k]


def summary_stats(values: list[int]) -> dict:
    return {
        "count": len(values),
        "p50": percentile(values, 50),
        "p99": percentile(values, 99),
        "max": max(values) if values else 0,
    }
