"""Per-output merge queues and pacing.

Each output keeps one lane per source (A, B, USB and the box itself) and a small realtime
ring. A lane is a ring of 4-byte slots in one bytearray, head and tail kept in its last
bytes, so the router can queue a message with a few byte stores and no call:

    lane[slot]     status (or one SysEx byte)     lane[HEAD]  head slot offset
    lane[slot+1]   data 1                         lane[TAIL]  tail slot offset
    lane[slot+2]   data 2                         lane[DROPS]  messages dropped (16 bits)

The pacer moves bytes to the port only as fast as the port takes them without queueing
deep in hardware, so realtime bytes jump every queue:
- messages from different sources never interleave; a realtime byte may go out between two
  bytes of a message on DIN (MIDI allows it), never on USB (whole messages per write);
- a SysEx holds its output until it ends; other sources wait in their lanes;
- a full lane drops the whole new message and counts it (a SysEx that no longer fits is
  cut and closed with F7, counted); realtime has its own ring, so a clock never waits
  behind a dropped note and is only lost when the port is dead;
- DIN outputs use running status; USB never does.
"""

from switchyard.midi import STATUS_DATA_LENGTH, const

SOURCES = const(4)  # A, B, USB, INTERNAL
INTERNAL = const(3)  # panic and self-test messages come from the box itself
LANE_BYTES = const(256)  # 64 slots: 63 messages (20 ms of a full wire) per source
HEAD = const(256)
TAIL = const(257)
DROPS = const(258)  # 16-bit drop count, low byte first
RT_SIZE = const(32)
_RT_MASK = const(31)
_USB_CHUNK = const(48)


def new_lane():
    return bytearray(LANE_BYTES + 4)


def lane_drop(lane):
    """Count one message dropped on a full lane (the rare path)."""
    low = lane[DROPS] + 1
    if low > 0xFF:
        low = 0
        lane[DROPS + 1] = (lane[DROPS + 1] + 1) & 0xFF
    lane[DROPS] = low


def lane_drops(lane):
    return lane[DROPS] | (lane[DROPS + 1] << 8)


class Output:
    """One output: its lanes, realtime ring and the pacer for its port."""

    def __init__(self, name, port, usb):
        self.name = name
        self.port = port
        self.usb = usb
        self.lanes = [new_lane() for _ in range(SOURCES)]
        self.sysex_open = bytearray(SOURCES)  # 1 while a SysEx slot run is open per source
        self.sysex_cut = bytearray(SOURCES)  # 1 once that SysEx no longer fits
        self.rt = bytearray(RT_SIZE)
        self.rt_head = 0
        self.rt_tail = 0
        self.cur = -1  # lane whose message is being sent, -1 between messages
        self.pos = 0  # next byte within the current slot
        self.left = 0  # bytes of the current message still to send; -1 while in SysEx
        self.next_source = 0  # round-robin start between lanes
        self.running = 0  # last channel status sent (DIN running status), 0 = none
        self.busy = False  # something queued: the loop calls service()
        self.rt_drops = 0
        self.extra_drops = 0  # drops counted beyond the lanes' byte counters
        self.sent = 0  # bytes handed to the port (wraps at 2**30)
        # USB: bytes taken from the lanes but not yet by the host; always at the front.
        self.pending = bytearray(_USB_CHUNK)
        self.pending_views = [memoryview(self.pending)[:k] for k in range(_USB_CHUNK + 1)]
        self.pending_len = 0

    @property
    def drops(self):
        total = self.extra_drops
        for lane in self.lanes:
            total += lane_drops(lane)
        return total

    # ---- filling (router side; the router also inlines `put` on its hot path) -------

    def put(self, source, status, data1, data2):
        lane = self.lanes[source]
        tail = lane[TAIL]
        nxt = (tail + 4) & 0xFF
        if nxt == lane[HEAD]:
            lane_drop(lane)
            return False
        lane[tail] = status
        lane[tail + 1] = data1
        lane[tail + 2] = data2
        lane[TAIL] = nxt
        self.busy = True
        return True

    def put_realtime(self, byte):
        tail = self.rt_tail
        nxt = (tail + 1) & _RT_MASK
        if nxt == self.rt_head:
            self.rt_drops += 1
            return
        self.rt[tail] = byte
        self.rt_tail = nxt
        self.busy = True

    def free_slots(self, source):
        lane = self.lanes[source]
        return ((lane[HEAD] - lane[TAIL] - 4) & 0xFF) >> 2

    def sysex_start(self, source):
        # A slot for F0 and one kept free for the closing F7.
        if self.free_slots(source) < 2:
            self.sysex_cut[source] = 1
            self.sysex_open[source] = 0
            self.extra_drops += 1
            return
        self.sysex_cut[source] = 0
        self.sysex_open[source] = 1
        self.put(source, 0xF0, 0, 0)

    def sysex_data(self, source, byte):
        if self.sysex_cut[source] or not self.sysex_open[source]:
            return
        if self.free_slots(source) < 2:
            self.sysex_cut[source] = 1  # cut here; the F7 still fits
            self.extra_drops += 1
            return
        self.put(source, byte, 0, 0)

    def sysex_end(self, source):
        if self.sysex_open[source]:
            self.sysex_open[source] = 0
            self.put(source, 0xF7, 0, 0)

    def queued(self):
        """Messages and bytes waiting in this output (rough, for drain checks)."""
        total = (self.rt_tail - self.rt_head) & _RT_MASK
        for lane in self.lanes:
            total += ((lane[TAIL] - lane[HEAD]) & 0xFF) >> 2
        return total + self.pending_len + (1 if self.cur >= 0 else 0)

    # ---- draining (pacer side) -------------------------------------------------------

    def _next_byte(self):
        """Next non-realtime byte for the wire, or -1 if none may go now."""
        cur = self.cur
        if cur >= 0:
            lane = self.lanes[cur]
            head = lane[HEAD]
            left = self.left
            if left > 0:
                byte = lane[head + self.pos]
                if left == 1:
                    lane[HEAD] = (head + 4) & 0xFF
                    self.cur = -1
                else:
                    self.left = left - 1
                    self.pos += 1
                return byte
            # Inside a SysEx: one byte a slot, until F7.
            if head == lane[TAIL]:
                return -1  # waiting for the source; other lanes wait too
            byte = lane[head]
            lane[HEAD] = (head + 4) & 0xFF
            if byte == 0xF7:
                self.cur = -1
            return byte
        # Between messages: the next lane with a message, round robin.
        lanes = self.lanes
        s = self.next_source
        for _ in range(SOURCES):
            lane = lanes[s]
            head = lane[HEAD]
            if head != lane[TAIL]:
                break
            s = (s + 1) & 3
        else:
            return -1
        self.next_source = (s + 1) & 3
        status = lane[head]
        if status == 0xF0:
            lane[HEAD] = (head + 4) & 0xFF
            self.cur = s
            self.left = -1
            self.running = 0
            return status
        length = STATUS_DATA_LENGTH[status - 0x80]
        if length == 0:
            lane[HEAD] = (head + 4) & 0xFF
            if status >= 0xF0:
                self.running = 0
            return status
        self.cur = s
        self.left = length
        self.pos = 1
        if status >= 0xF0:
            self.running = 0
        elif status == self.running and not self.usb:
            return self._next_byte()  # running status: the status byte is not sent
        else:
            self.running = status
        return status

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
                    if self.cur < 0:
                        self.busy = False  # drained; put() sets it again
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
            self.busy = False
            return
        wrote = port.write(self.pending_views[end], end)
        self.sent = (self.sent + wrote) & 0x3FFFFFFF
        if wrote < end:
            for k in range(end - wrote):
                pending[k] = pending[wrote + k]
        self.pending_len = end - wrote
