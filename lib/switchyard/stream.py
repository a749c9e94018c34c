"""MIDI byte-stream parser: one per input, no allocation.

Implements the stream rules of docs/ARCHITECTURE.md ("MIDI stream rules"):
1. realtime bytes are delivered at once, even inside a message or a SysEx, keeping the
   pending message and the running status;
2. running status is accepted;
3. a new status byte before a message is complete aborts it (counted);
4. SysEx is streamed through byte by byte; any non-realtime status ends it, and the sink is
   told to close it (the output gets an F7 the source never sent); F0 F7 is valid;
5. a stray F7 and data bytes with no status are dropped and counted; F4/F5 and a stray F7
   cancel running status; undefined realtime F9/FD is dropped;
6. 0x00 bytes from a break are data with no status: dropped until the next status byte;
7. SysEx and system common clear running status; realtime does not.

The sink (the router) receives whole messages, never parts:
    sink.message(source, status, data1, data2)   channel and system common messages
    sink.realtime(source, byte)                  F8 FA FB FC FE FF
    sink.sysex_start(source)                     F0 seen
    sink.sysex_data(source, buf, start, end)     SysEx data bytes buf[start:end]
    sink.sysex_end(source, complete)             F7 seen (complete=True) or cut short
"""

from switchyard.midi import STATUS_DATA_LENGTH, STATUS_TYPE, T_NONE, const

_SYSEX = const(0xF0)
_SYSEX_END = const(0xF7)
_REALTIME_FIRST = const(0xF8)
_SYSTEM_FIRST = const(0xF0)


class StreamParser:
    """Turns the bytes of one MIDI input into whole messages for a sink."""

    def __init__(self, source, sink):
        self.source = source
        self.sink = sink
        self.status = 0  # running status, or the system common being collected (0: none)
        self.size = 0  # data bytes a message of that status has
        self.have = 0  # data bytes of the pending message so far; -1: its status only
        self.data1 = 0
        self.in_sysex = False
        self.sysex_bytes = 0
        self.sysex_mark = -1  # sysex_bytes at the last timeout check (app.py)
        self.bytes_seen = 0  # wraps; the self-test watches it
        # Error counters (never reset by the parser; the app reports them).
        self.aborted = 0  # a new status cut a pending message short
        self.stray_data = 0  # data bytes with no status (also break 0x00 bytes)
        self.stray_end = 0  # F7 outside a SysEx
        self.undefined = 0  # F4 F5 F9 FD
        self.sysex_cut = 0  # SysEx ended by a status byte instead of F7

    def errors(self):
        return self.aborted + self.stray_data + self.stray_end + self.undefined + self.sysex_cut

    def feed(self, buf, n):
        """Parse the first n bytes of buf."""
        self.bytes_seen = (self.bytes_seen + n) & 0x3FFFFFFF
        if n == 1:
            # Light traffic brings bytes one at a time; the two commonest, a realtime byte
            # and the data byte that completes a message, are taken without loading and
            # storing the whole parser state.
            b = buf[0]
            if b >= _REALTIME_FIRST:  # rule 1 (F9/FD: rule 5)
                if STATUS_TYPE[b - 0x80] == T_NONE:
                    self.undefined += 1
                else:
                    self.sink.realtime(self.source, b)
                return
            if b < 0x80 and self.have == 1 and not self.in_sysex:
                self.have = 0
                status = self.status
                self.sink.message(self.source, status, self.data1, b)
                if status >= _SYSTEM_FIRST:
                    self.status = 0  # system common has no running status
                return
        sink = self.sink
        source = self.source
        lengths = STATUS_DATA_LENGTH  # a local: module globals cost a lookup each use
        status = self.status  # running status, or the system common being collected
        size = self.size  # data bytes a message of `status` has
        have = self.have  # 1: data1 held; -1: a status waits for its data; 0: none pending
        data1 = self.data1
        in_sysex = self.in_sysex
        i = 0
        while i < n:
            b = buf[i]
            i += 1
            if b < 0x80:
                if in_sysex:
                    # the whole run of data bytes in this read, in one call
                    start = i - 1
                    while i < n and buf[i] < 0x80:
                        i += 1
                    self.sysex_bytes += i - start
                    sink.sysex_data(source, buf, start, i)
                elif not status:
                    self.stray_data += 1  # rules 5, 6: no status yet, or a break's 0x00 bytes
                elif have == 1:  # rule 2: also a running-status message's second data byte
                    have = 0
                    sink.message(source, status, data1, b)
                    if status >= _SYSTEM_FIRST:
                        status = 0  # system common has no running status
                elif size == 2:
                    if i < n and buf[i] < 0x80:
                        # the whole message is here: take both data bytes at once
                        have = 0
                        sink.message(source, status, b, buf[i])
                        i += 1
                        if status >= _SYSTEM_FIRST:
                            status = 0
                    else:
                        data1 = b
                        have = 1
                else:
                    have = 0
                    sink.message(source, status, b, 0)
                    if status >= _SYSTEM_FIRST:
                        status = 0
                continue
            if b >= _REALTIME_FIRST:  # rule 1: at once, the pending message kept
                if STATUS_TYPE[b - 0x80] == T_NONE:
                    self.undefined += 1  # rule 5: F9, FD
                else:
                    sink.realtime(source, b)
                continue
            # A non-realtime status byte: it ends a SysEx (rule 4).
            if in_sysex:
                in_sysex = False
                self.in_sysex = False
                if b == _SYSEX_END:
                    sink.sysex_end(source, True)
                    status = 0
                    have = 0
                    continue
                self.sysex_cut += 1
                sink.sysex_end(source, False)
            elif have:
                self.aborted += 1  # rule 3: a status with none or part of its data bytes
            have = 0
            if b < _SYSTEM_FIRST:
                status = b
                size = lengths[b - 0x80]
                if size == 2 and i + 1 < n and buf[i] < 0x80 and buf[i + 1] < 0x80:
                    # the usual case: the whole message is in this read
                    sink.message(source, b, buf[i], buf[i + 1])
                    i += 2
                    continue
                have = -1  # pending until its data bytes come
                continue
            # System common, SysEx, stray F7 or undefined F4/F5: all cancel running status
            # (rules 5, 7).
            status = 0
            if b == _SYSEX:
                in_sysex = True
                self.in_sysex = True
                self.sysex_bytes = 0
                self.sysex_mark = -1
                sink.sysex_start(source)
            elif b == _SYSEX_END:
                self.stray_end += 1  # rule 5: a stray F7 is dropped
            elif STATUS_TYPE[b - 0x80] == T_NONE:
                self.undefined += 1
            else:
                size = STATUS_DATA_LENGTH[b - 0x80]
                if size:
                    status = b
                    have = -1
                else:
                    sink.message(source, b, 0, 0)  # tune request F6
        self.status = status
        self.size = size
        self.have = have
        self.data1 = data1

    def close_sysex(self):
        """End a SysEx the source abandoned (cable pulled mid-message)."""
        if self.in_sysex:
            self.in_sysex = False
            self.sysex_cut += 1
            self.sink.sysex_end(self.source, False)
