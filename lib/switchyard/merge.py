"""Per-output merge queues and pacing.

Each output keeps one ring per source (A, B, USB and the box itself), filled with whole
messages by the router, and a small realtime ring. The pacer moves bytes to the port only
as fast as the port can take them without queueing deep in hardware, so realtime bytes
jump every queue:
- messages from different sources never interleave; a realtime byte may go out between two
  bytes of a message on DIN (MIDI allows it), never on USB (whole messages per write);
- a SysEx holds its output until it ends; other sources wait in their rings;
- a full ring drops the whole new message and counts it (a SysEx that no longer fits is
  cut and closed with F7, counted); realtime has its own ring, so a clock never waits
  behind a dropped note and is only lost when the port is dead;
- DIN outputs use running status; USB never does.
"""

from switchyard.midi import STATUS_DATA_LENGTH, const

SOURCES = const(4)  # A, B, USB, INTERNAL
INTERNAL = const(3)  # panic and self-test messages come from the box itself
RING_SIZE = const(256)  # per source: 80 ms of wire time
_RING_MASK = const(255)
RT_SIZE = const(32)
_RT_MASK = const(31)
_SYSEX_OPEN = const(-1)  # `left` while a SysEx is being sent
_USB_CHUNK = const(48)


class Output:
    """One output: source rings, realtime ring and the pacer for its port."""

    def __init__(self, name, port, usb):
        self.name = name
        self.port = port
        self.usb = usb
        self.rings = [bytearray(RING_SIZE) for _ in range(SOURCES)]
        self.heads = [0] * SOURCES
        self.tails = [0] * SOURCES
        self.sysex_dropping = [False] * SOURCES
        self.sysex_open = [False] * SOURCES
        self.rt = bytearray(RT_SIZE)
        self.rt_head = 0
        self.rt_tail = 0
        self.cur = -1  # source whose message is being sent, -1 between messages
        self.left = 0  # bytes of that message still to send (_SYSEX_OPEN for SysEx)
        self.next_source = 0  # round-robin start between sources
        self.running = 0  # last channel status sent (DIN running status), 0 = none
        self.drops = 0  # whole messages dropped because a ring was full
        self.rt_drops = 0  # realtime bytes dropped (port dead)
        self.sent = 0  # bytes handed to the port (wraps at 2**30)
        # USB: bytes accepted into `pending` but not yet taken by the host.
        self.pending = bytearray(_USB_CHUNK)
        self.pending_views = [memoryview(self.pending)[:k] for k in range(_USB_CHUNK + 1)]
        self.pending_len = 0

    # ---- filling (router side) -------------------------------------------------------

    def put(self, source, status, data1, data2, length):
        """Queue one whole message of `length` bytes (1..3); drop it if it does not fit."""
        tail = self.tails[source]
        if ((self.heads[source] - tail - 1) & _RING_MASK) < length:
            self.drops += 1
            return
        ring = self.rings[source]
        ring[tail] = status
        tail = (tail + 1) & _RING_MASK
        if length > 1:
            ring[tail] = data1
            tail = (tail + 1) & _RING_MASK
            if length > 2:
                ring[tail] = data2
                tail = (tail + 1) & _RING_MASK
        self.tails[source] = tail

    def put_realtime(self, byte):
        tail = self.rt_tail
        nxt = (tail + 1) & _RT_MASK
        if nxt == self.rt_head:
            self.rt_drops += 1
            return
        self.rt[tail] = byte
        self.rt_tail = nxt

    def sysex_start(self, source):
        # Room for F0 plus the closing F7, which stays reserved while the SysEx runs.
        if ((self.heads[source] - self.tails[source] - 1) & _RING_MASK) < 2:
            self.sysex_dropping[source] = True
            self.sysex_open[source] = False
            self.drops += 1
            return
        self.sysex_dropping[source] = False
        self.sysex_open[source] = True
        self._push(source, 0xF0)

    def sysex_data(self, source, byte):
        if self.sysex_dropping[source]:
            return
        if ((self.heads[source] - self.tails[source] - 1) & _RING_MASK) < 2:
            self.sysex_dropping[source] = True  # cut here; the F7 still fits
            self.drops += 1
            return
        self._push(source, byte)

    def sysex_end(self, source):
        if self.sysex_open[source]:
            self.sysex_open[source] = False
            self._push(source, 0xF7)

    def _push(self, source, byte):
        tail = self.tails[source]
        self.rings[source][tail] = byte
        self.tails[source] = (tail + 1) & _RING_MASK

    def queued(self):
        """Bytes waiting in this output's rings (not counting the port)."""
        total = (self.rt_tail - self.rt_head) & _RT_MASK
        for s in range(SOURCES):
            total += (self.tails[s] - self.heads[s]) & _RING_MASK
        return total + self.pending_len

    # ---- draining (pacer side) -------------------------------------------------------

    def _next_byte(self):
        """Next non-realtime byte for the wire, or -1 if none may go now."""
        cur = self.cur
        if cur < 0:
            # Between messages: pick the next source with a message, round robin.
            heads = self.heads
            tails = self.tails
            s = self.next_source
            for _ in range(SOURCES):
                if heads[s] != tails[s]:
                    break
                s = (s + 1) & 3
            else:
                return -1
            self.next_source = (s + 1) & 3
            head = heads[s]
            status = self.rings[s][head]
            heads[s] = (head + 1) & _RING_MASK
            if status == 0xF0:
                self.cur = s
                self.left = _SYSEX_OPEN
                self.running = 0
                return status
            length = STATUS_DATA_LENGTH[status - 0x80]
            if length:
                self.cur = s
                self.left = length
            if status >= 0xF0:
                self.running = 0
            elif status == self.running and not self.usb:
                return self._next_byte()  # running status: the status byte is not sent
            else:
                self.running = status
            return status
        head = self.heads[cur]
        if head == self.tails[cur]:
            return -1  # a SysEx waiting for its source
        byte = self.rings[cur][head]
        self.heads[cur] = (head + 1) & _RING_MASK
        left = self.left
        if left == _SYSEX_OPEN:
            if byte == 0xF7:
                self.cur = -1
        elif left == 1:
            self.cur = -1
        else:
            self.left = left - 1
        return byte

    def service(self):
        """Hand the port what it can take now without blocking."""
        port = self.port
        if self.usb:
            self._service_usb(port)
            return
        room = port.room()
        if room <= 0:
            return
        buf = port.buf
        n = 0
        rt = self.rt
        while n < room:
            head = self.rt_head
            if head != self.rt_tail:
                buf[n] = rt[head]
                self.rt_head = (head + 1) & _RT_MASK
            else:
                byte = self._next_byte()
                if byte < 0:
                    break
                buf[n] = byte
            n += 1
        if n:
            port.send(n)
            self.sent = (self.sent + n) & 0x3FFFFFFF

    def _service_usb(self, port):
        # USB takes whole messages: realtime only between messages; a short write keeps
        # the remainder at the front of `pending` and nothing else goes until it is taken.
        pending = self.pending
        end = self.pending_len
        while end < _USB_CHUNK:
            if self.cur < 0:
                if end > _USB_CHUNK - 3:
                    break  # the next message might not fit whole
                head = self.rt_head
                if head != self.rt_tail:
                    pending[end] = self.rt[head]
                    self.rt_head = (head + 1) & _RT_MASK
                    end += 1
                    continue
            byte = self._next_byte()
            if byte < 0:
                break
            pending[end] = byte
            end += 1
        if end == 0:
            return
        wrote = port.write(self.pending_views[end], end)
        self.sent = (self.sent + wrote) & 0x3FFFFFFF
        if wrote < end:
            for k in range(end - wrote):
                pending[k] = pending[wrote + k]
        self.pending_len = end - wrote
