"""Per-output merge queue and pacing.

Each output has one ring of whole messages in arrival order, whatever input they came
from, so merging is first come, first served and finding the next message costs nothing.
A ring is an array of 32-bit words, one message each (status | data1 << 8 | data2 << 16
| data length << 24, built once per message by the router), with head, tail and the drop
count in its last three words, so the router queues a message to an output with one store
and no call.

SysEx is streamed: its F0 takes a word in the ring (a marker naming the source) and its
bytes flow through a per-source SysEx lane. When the pacer reaches the marker it sends
from that lane until F7, so the SysEx holds the output and every message queued after the
marker, from any input, waits behind it.

The pacer hands the port only as many bytes as it takes without queueing deep in
hardware, so realtime bytes (their own small ring) jump every queue: on DIN between two
bytes of a message if need be (MIDI allows it), on USB only between messages. A full ring
drops the whole new message and counts it; a SysEx that outgrows its lane is cut and
closed with F7 (counted). DIN outputs use running status; USB never does.
"""

import array
from struct import pack_into

from switchyard.midi import STATUS_DATA_LENGTH, const

SOURCES = const(4)  # A, B, USB and the box itself
INTERNAL = const(3)  # panic and self-test messages
RING_SLOTS = const(64)  # 63 messages: 60 ms of a full wire
RING_MASK = const(63)
HEAD = const(64)
TAIL = const(65)
DROPS = const(66)
_SYSEX = const(0xF0)
_SYSEX_END = const(0xF7)
_LANE_MASK = const(127)  # SysEx lane: 127 bytes in flight per source
_LANE_HEAD = const(128)
_LANE_TAIL = const(129)
_RT_MASK = const(31)  # 31 realtime bytes may wait (one goes per byte time)
_USB_CHUNK = const(16)
_USB_BACKOFF = const(8)
_PIO_BATCH = const(16)  # bytes per DMA batch (a realtime byte never waits behind one)


def new_ring():
    return array.array("I", bytes(4 * (RING_SLOTS + 3)))


class Output:
    """One output: its message ring, SysEx lanes, realtime ring and the pacer."""

    def __init__(self, name, port, usb):
        self.name = name
        self.port = port
        self.usb = usb
        self.ring = new_ring()
        self.lanes = [None] * SOURCES  # type: list  # SysEx lanes, made by need_lane()
        self.lane_open = bytearray(SOURCES)  # 1 while that source's SysEx runs here
        self.lane_cut = bytearray(SOURCES)  # 1 once that SysEx no longer fits
        self.rt = bytearray(_RT_MASK + 1)
        self.rt_head = 0
        self.rt_tail = 0
        self.msg = bytearray(2)  # data bytes of the message being sent
        self.pos = 0
        self.left = 0  # data bytes of that message still to send
        self.sysex = None  # the lane being sent, between the F0 marker and F7
        self.running = 0  # last channel status sent (DIN running status), 0 = none
        self.busy = False  # something to send: the loop calls service()
        self.bit = 0  # this output's bit in the router's masks (set by the app)
        self.rt_drops = 0
        self.sysex_drops = 0
        # USB: bytes taken from the queue but not yet by the host, always at the front.
        self.pending = bytearray(_USB_CHUNK)
        self.pending_views = [memoryview(self.pending)[:k] for k in range(_USB_CHUNK + 1)]
        self.pending_len = 0
        self.usb_wait = 0  # passes to skip after the host took nothing
        # What the loop calls each pass this output is busy: pump(None) does service().
        self.pump = self.service

    def need_lane(self, source):
        """Make the SysEx lane for a source that routes SysEx here (at start-up only)."""
        if self.lanes[source] is None:
            self.lanes[source] = bytearray(_LANE_MASK + 3)

    @property
    def drops(self):
        return self.ring[DROPS] + self.sysex_drops

    # ---- filling (the router inlines the same stores on its hot path) ----------------

    def put(self, status, data1, data2):
        ring = self.ring
        tail = ring[TAIL]
        nxt = (tail + 1) & RING_MASK
        if nxt == ring[HEAD]:
            ring[DROPS] += 1
            return False
        ring[tail] = (
            status | (data1 << 8) | (data2 << 16) | (STATUS_DATA_LENGTH[status - 0x80] << 24)
        )
        ring[TAIL] = nxt
        self.busy = True
        return True

    def put_realtime(self, byte):
        """Queue a realtime byte; True: service() must run (it always must here)."""
        tail = self.rt_tail
        nxt = (tail + 1) & _RT_MASK
        if nxt == self.rt_head:
            self.rt_drops += 1  # only when the port is dead: 16 realtime bytes waiting
            return True
        self.rt[tail] = byte
        self.rt_tail = nxt
        self.busy = True
        return True

    def sysex_start(self, source):
        # The lane is not reset: earlier SysEx from this source may still be in it, waiting
        # behind another source's SysEx. This one is taken only if its closing F7 fits: an
        # F7 written into a full lane would make it read as empty, losing what it held and
        # holding the output forever on a SysEx that never ends.
        self.lane_cut[source] = 0
        lane = self.lanes[source]
        if not (lane[_LANE_HEAD] - lane[_LANE_TAIL] - 1) & _LANE_MASK:
            self.sysex_drops += 1
            self.lane_open[source] = 0
            return
        ring = self.ring
        tail = ring[TAIL]
        nxt = (tail + 1) & RING_MASK
        if nxt == ring[HEAD]:
            ring[DROPS] += 1
            self.lane_open[source] = 0
            return
        ring[tail] = _SYSEX | (source << 8)
        ring[TAIL] = nxt
        self.lane_open[source] = 1
        self.busy = True

    def sysex_data(self, source, buf, start, end):
        """Queue SysEx data bytes buf[start:end] on this source's lane."""
        if not self.lane_open[source] or self.lane_cut[source]:
            return
        lane = self.lanes[source]
        tail = lane[_LANE_TAIL]
        # room, keeping one byte free for the closing F7
        room = ((lane[_LANE_HEAD] - tail - 1) & _LANE_MASK) - 1
        if end - start > room:
            end = start + room
            self.lane_cut[source] = 1
            self.sysex_drops += 1
        for k in range(start, end):
            lane[tail] = buf[k]
            tail = (tail + 1) & _LANE_MASK
        lane[_LANE_TAIL] = tail

    def sysex_end(self, source):
        if self.lane_open[source]:
            self.lane_open[source] = 0
            lane = self.lanes[source]
            tail = lane[_LANE_TAIL]
            lane[tail] = _SYSEX_END
            lane[_LANE_TAIL] = (tail + 1) & _LANE_MASK

    def queued(self):
        """Messages (and bytes in flight to the port) still waiting here."""
        ring = self.ring
        total = (ring[TAIL] - ring[HEAD]) & RING_MASK
        total += (self.rt_tail - self.rt_head) & _RT_MASK
        return total + self.left + self.pending_len + (0 if self.sysex is None else 1)

    # ---- draining (the pacer) ------------------------------------------------------

    def _next(self):
        """Next non-realtime byte for the wire, or -1 when none may go now."""
        left = self.left
        if left:
            pos = self.pos
            self.pos = pos + 1
            self.left = left - 1
            return self.msg[pos]
        lane = self.sysex
        if lane is not None:
            head = lane[_LANE_HEAD]
            if head == lane[_LANE_TAIL]:
                return -1  # the SysEx source is still sending; everything else waits
            byte = lane[head]
            lane[_LANE_HEAD] = (head + 1) & _LANE_MASK
            if byte == _SYSEX_END:
                self.sysex = None
            return byte
        ring = self.ring
        head = ring[HEAD]
        if head == ring[TAIL]:
            return -1
        word = ring[head]
        ring[HEAD] = (head + 1) & RING_MASK
        status = word & 0xFF
        if status == _SYSEX:
            self.sysex = self.lanes[word >> 8]
            self.running = 0
            return status
        length = STATUS_DATA_LENGTH[status - 0x80]
        if length:
            msg = self.msg
            msg[0] = (word >> 8) & 0x7F
            msg[1] = (word >> 16) & 0x7F
            self.pos = 0
            self.left = length
        if status >= 0xF0:
            self.running = 0
        elif status == self.running and not self.usb:
            return self._next()  # running status: the status byte is not sent again
        else:
            self.running = status
        return status

    def _fill(self, buf, n, limit):
        """Put non-realtime bytes into buf[n:limit] one by one; returns the new n."""
        while n < limit:
            byte = self._next()
            if byte < 0:
                break
            buf[n] = byte
            n += 1
        return n

    def service(self, _=None):
        """Hand the port what it takes now without blocking; the number of bytes."""
        port = self.port
        if self.usb:
            return self._service_usb(port)
        room = port.room()
        if room <= 0:
            return 0
        buf = port.buf
        rt = self.rt
        n = 0
        while n < room:
            head = self.rt_head
            if head != self.rt_tail:
                buf[n] = rt[head]
                self.rt_head = (head + 1) & _RT_MASK
            else:
                byte = self._next()
                if byte < 0:
                    if self.sysex is None:
                        self.busy = False  # drained; the router sets it again
                    break
                buf[n] = byte
            n += 1
        if n:
            port.send(n)
        return n

    def _service_usb(self, port):
        # Whole messages: realtime only between messages. A short write keeps the rest at
        # the front of `pending`, and nothing else goes until the host has taken it; a host
        # that took nothing is asked again only after _USB_BACKOFF passes, so a full or
        # absent computer does not eat the loop the DIN outputs need.
        if self.usb_wait:
            self.usb_wait -= 1
            return 0
        pending = self.pending
        end = self.pending_len
        while end < _USB_CHUNK:
            if not self.left and self.sysex is None:
                if end > _USB_CHUNK - 3:
                    break  # the next message might not fit whole
                head = self.rt_head
                if head != self.rt_tail:
                    pending[end] = self.rt[head]
                    self.rt_head = (head + 1) & _RT_MASK
                    end += 1
                    continue
            byte = self._next()
            if byte < 0:
                break
            pending[end] = byte
            end += 1
        if end == 0:
            if self.sysex is None:
                self.busy = False
            return 0
        wrote = port.write(self.pending_views[end], end)
        if wrote < end:
            for k in range(end - wrote):
                pending[k] = pending[wrote + k]
            if not wrote:
                self.usb_wait = _USB_BACKOFF  # the host took nothing: let it be a while
        self.pending_len = end - wrote
        return wrote


class PioOutput(Output):
    """A DIN output on the switchyard.piotx program (ports.PioOut).

    Realtime bytes skip the queue inside the PIO: one `set y` executed on the state
    machine, one outstanding at a time (the program pushes Y back when the slot is free).
    Everything else goes in DMA batches of up to _PIO_BATCH bytes from two buffers in
    turn: a batch is queued behind the one DMA is moving (background_write takes one
    pending buffer without blocking), so the wire does not run dry while the loop is busy
    elsewhere: the 4-word TX FIFO alone lasts only ~1.3 ms, less than a pass that writes
    to four outputs under load. A realtime byte never waits behind either, and under load
    each pass moves several bytes with one call. This runs for every busy output on every
    pass, so it talks to the state machine directly rather than through port methods.
    """

    def __init__(self, name, port):
        Output.__init__(self, name, port, False)
        self.sm = port.sm
        self.acks = port.acks
        self.rt_exec = port.rt_exec
        self.rt_waiting = False  # a realtime byte is in Y, not yet sent
        # The pacer runs as a generator resumed once a pass: the state machine, the ring
        # and the two DMA buffers stay in its locals, so a pass pays one resume, not a
        # method call and a dozen attribute reads (about a third of a write's cost).
        pump = self._pump((port.buf, port.buf2), (port.views, port.views2))
        next(pump)
        self.pump = pump.send

    def service(self, _=None):
        return self.pump(None)

    def _pump(self, bufs, viewss):
        """service(), one pass per resume; yields the bytes handed over (realtime too)."""
        sm = self.sm
        ring = self.ring
        which = 0  # the buffer the next batch goes in: DMA may still read the other
        n = 0
        while True:
            yield n
            rt = 0
            if self.rt_head != self.rt_tail:
                rt = self._realtime(sm)
            if sm.pending:  # (pending_write since CircuitPython 9.2; 9.0 and 9.1 lack it)
                n = rt  # a batch already waits behind the one DMA is moving
                continue
            buf = bufs[which]
            n = 0
            lane = self.sysex
            if lane is None:
                head = ring[HEAD]
                tail = ring[TAIL]
                if self.left:
                    # The rest of a message _fill() began behind a SysEx: all of it, then
                    # a batch.
                    pos = self.pos
                    left = self.left
                    msg = self.msg
                    buf[0] = msg[pos]
                    if left == 2:
                        buf[1] = msg[pos + 1]
                    n = left
                    self.left = 0
                elif head == tail:
                    if self.rt_head == self.rt_tail:
                        self.busy = False  # drained; the router sets it again
                    n = rt
                    continue
                # Whole messages straight from the ring: the common case under load.
                running = self.running
                while head != tail and n <= _PIO_BATCH - 3:
                    word = ring[head]
                    status = word & 0xFF
                    # One C call stores the message's bytes; the word's top byte (its data
                    # length) lands past the message, in the buffer's slack or under the
                    # next.
                    if status == running:  # running is never a system status
                        pack_into("<I", buf, n, word >> 8)  # running status: data bytes only
                        n += word >> 24
                    elif status == _SYSEX:
                        break  # SysEx: _stream() sends it from its lane
                    else:
                        running = status if status < 0xF0 else 0
                        pack_into("<I", buf, n, word)
                        n += (word >> 24) + 1
                    head = (head + 1) & RING_MASK
                ring[HEAD] = head
                self.running = running
                if n == 0:
                    n = self._fill(buf, 0, _PIO_BATCH)  # a SysEx marker first in the ring
            else:
                n = self._stream(lane, buf)
            if n:
                sm.background_write(viewss[which][n])  # `once`, positional
                # The next batch goes in the other buffer: DMA reads this one until it is
                # done, and by the time `pending` is 0 again it has finished with the other.
                which ^= 1
            n += rt

    def put_realtime(self, byte):
        """Straight to the state machine when no realtime byte waits here and Y is free
        (the usual case: a clock comes every 20 ms), so the byte leaves at the next byte
        boundary without a trip through the loop. Returns True only when it was queued
        instead, for service() to send."""
        if self.rt_head == self.rt_tail:
            sm = self.sm
            free = True
            if self.rt_waiting:
                done = sm.in_waiting
                if done:
                    sm.readinto(self.acks, end=done)
                else:
                    free = False
            if free:
                sm.run(self.rt_exec[byte & 7])
                self.rt_waiting = True
                return False
        return Output.put_realtime(self, byte)

    def _realtime(self, sm):
        """One realtime byte at a time through Y: the next once the program gave Y back.

        Called only while a realtime byte waits here; 1 if it went. The acknowledgement of
        the previous one is read only then: with one byte outstanding it is the only word
        in the RX FIFO (pushed with noblock), so a lone clock costs one call, not two."""
        if self.rt_waiting:
            done = sm.in_waiting
            if not done:
                return 0
            sm.readinto(self.acks, end=done)
        head = self.rt_head
        sm.run(self.rt_exec[self.rt[head] & 7])
        self.rt_head = (head + 1) & _RT_MASK
        self.rt_waiting = True
        return 1

    def _stream(self, lane, buf):
        """A SysEx from its lane into buf, up to its F7, as much as has come of it."""
        n = 0
        head = lane[_LANE_HEAD]
        tail = lane[_LANE_TAIL]
        while head != tail and n < _PIO_BATCH:
            byte = lane[head]
            buf[n] = byte
            n += 1
            head = (head + 1) & _LANE_MASK
            if byte == _SYSEX_END:
                self.sysex = None
                break
        lane[_LANE_HEAD] = head
        return n
