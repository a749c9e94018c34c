"""MIDI byte-stream parser: one per input, no allocation.

Implements the stream rules of DESIGN.md:
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
    sink.sysex_data(source, byte)                one SysEx data byte
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
        self.running_status = 0
        self.status = 0  # status of the message being collected (0: none)
        self.need = 0  # data bytes the pending message still needs
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
        sink = self.sink
        source = self.source
        status = self.status
        need = self.need
        data1 = self.data1
        i = 0
        while i < n:
            b = buf[i]
            i += 1
            if b < 0x80:
                if need:
                    if need == 2:
                        data1 = b
                        need = 1
                    else:
                        need = 0
                        if STATUS_DATA_LENGTH[status - 0x80] == 2:
                            sink.message(source, status, data1, b)
                        else:
                            sink.message(source, status, b, 0)
                        if status >= _SYSTEM_FIRST:
                            status = 0  # system common has no running status
                elif self.in_sysex:
                    self.sysex_bytes += 1
                    sink.sysex_data(source, b)
                elif status:
                    # A channel message completed earlier; running status restarts it.
                    need = STATUS_DATA_LENGTH[status - 0x80]
                    if need == 2:
                        data1 = b
                        need = 1
                    else:
                        need = 0
                        sink.message(source, status, b, 0)
                else:
                    self.stray_data += 1
                continue
            if b >= _REALTIME_FIRST:
                if STATUS_TYPE[b - 0x80] == T_NONE:
                    self.undefined += 1
                else:
                    sink.realtime(source, b)
                continue
            # A non-realtime status byte.
            if self.in_sysex:
                self.in_sysex = False
                if b == _SYSEX_END:
                    sink.sysex_end(source, True)
                    status = 0
                    need = 0
                    continue
                self.sysex_cut += 1
                sink.sysex_end(source, False)
            elif need:
                self.aborted += 1
            need = 0
            if b < _SYSTEM_FIRST:
                status = b
                need = STATUS_DATA_LENGTH[b - 0x80]
                continue
            # System common, SysEx, stray F7 or undefined F4/F5: all cancel running status.
            status = 0
            if b == _SYSEX:
                self.in_sysex = True
                self.sysex_bytes = 0
                self.sysex_mark = -1
                sink.sysex_start(source)
            elif b == _SYSEX_END:
                self.stray_end += 1
            elif STATUS_TYPE[b - 0x80] == T_NONE:
                self.undefined += 1
            else:
                need = STATUS_DATA_LENGTH[b - 0x80]
                if need:
                    status = b
                else:
                    sink.message(source, b, 0, 0)  # tune request F6
        self.status = status
        self.need = need
        self.data1 = data1

    def close_sysex(self):
        """End a SysEx the source abandoned (cable pulled mid-message)."""
        if self.in_sysex:
            self.in_sysex = False
            self.sysex_cut += 1
            self.sink.sysex_end(self.source, False)
