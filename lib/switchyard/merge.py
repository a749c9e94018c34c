"""Per-output merge queue, pacing, and what an output gives up when it is full.

Each output has one ring of whole messages in arrival order, whatever input they came
from, so merging is first come, first served and finding the next message costs nothing.
A ring is an array of 32-bit words, one message each (status | data1 << 8 | data2 << 16
| source << 24 | data length << 26, built once per message by the router), with head,
tail and the counters in its last words, so the router queues a message to an output
with one store and no call while the ring holds fewer than RING_LIMIT messages
(router.Router.queue(), inlined on its hot path).

SysEx is streamed: its F0 takes a word in the ring (a marker naming the source) and its
bytes flow through a SysEx lane per source. When the pacer reaches the marker it sends
from that lane until F7, so the SysEx holds the output and every message queued after the
marker, from any input, waits behind it.

When an output is full (ARCHITECTURE.md "When an output is full"), admit() chooses:
- a SysEx reaches the output whole or not at all: one whose lane would overflow before
  it starts here is given up whole (its marker skipped, its bytes taken back); one that
  has started is never cut by the box: realtime bytes wait while its lane is nearly full;
- a note-off (or sustain / sostenuto release) whose note-on (press) went to this output,
  and the channel mode messages (CC120..127), always go, into the ring's reserve;
- a pitch bend, pressure or continuous CC replaces the waiting value of the same input,
  channel and controller (counted as coalesced), or goes into the reserve;
- anything else (note-ons, program changes, bank select, switches, system common) is
  given up and counted; a note-on given up takes its note-off with it (router.py).
Clock and the other realtime bytes have their own ring and are never given up.

The pacer hands the port only as many bytes as it takes without queueing deep in
hardware, so realtime bytes (their own small ring) jump every queue: on DIN between two
bytes of a message if need be (MIDI allows it), on USB only between messages. DIN outputs
use running status; USB never does.
"""

import array
from struct import pack_into

try:
    from typing import Any  # noqa: F401 (type comments)
except ImportError:  # CircuitPython
    pass

from switchyard.midi import CC_IN_ORDER, CC_MODE, CC_POLICY, STATUS_DATA_LENGTH, const

SOURCES = const(4)  # A, B, USB and the box itself
INTERNAL = const(3)  # panic and self-test messages
RING_SLOTS = const(256)
RING_MASK = const(255)
# Messages an output queues before the policy above chooses what goes: 60 ms of a full
# wire; the other 191 slots are the reserve for what must not be lost.
RING_LIMIT = const(64)
HEAD = const(256)
TAIL = const(257)
DROPS = const(258)  # messages given up here (SysEx included, each counted once)
COALESCED = const(259)  # values replaced by a newer one of the same controller
BIT = const(260)  # this output's bit in the router's masks
LOST = const(261)  # must-keep messages that met a ring full to the last slot
RING_WORDS = const(262)
SOURCE_SHIFT = const(24)
LENGTH_SHIFT = const(26)  # word >> LENGTH_SHIFT is the data length: nothing lies above it
_SYSEX = const(0xF0)
_SYSEX_END = const(0xF7)
_CANCELLED = const(0x10000)  # in a SysEx marker: given up here, the pacer skips it
# SysEx lanes share this many bytes (of the ~60 KB of heap the box has left after start-up
# without them); each lane is a power of two from _LANE_MIN to _LANE_MAX bytes.
LANE_BUDGET = const(16384)
_LANE_MIN = const(256)
_LANE_MAX = const(8192)
# A SysEx still arriving starts on an output only with this much of its lane free: room for
# what may jump it meanwhile (64 realtime bytes from other inputs).
_START_FREE = const(128)
# The most app.py reads from an input at once. Below this much free in the lane of the
# SysEx being sent, realtime bytes wait behind its bytes, so the lane cannot overflow before
# the output drains it; a USB input is not read while a started lane has less than this.
READ_CHUNK = const(64)
# A SysEx marker may take the reserve too (whether it is carried is its lane's matter) but
# not its last 64 slots, which stay for releases and the latest values.
_SYSEX_SLOTS = const(191)
_FLOW_CONTROLLED = const(2)  # USB: the app stops reading it while its lane is tight
_RT_MASK = const(63)  # 63 realtime bytes may wait (one goes per byte time)
_USB_CHUNK = const(16)
_USB_BACKOFF = const(8)
_PIO_BATCH = const(16)  # bytes per DMA batch (a realtime byte never waits behind one)
_KEY_CHANNEL = const(0x30000FF)  # source and status: pitch bend, channel pressure
_KEY_CONTROLLER = const(0x300FFFF)  # and the controller (CC) or note (poly pressure)

# The word bits the router ORs into a message besides its status and data bytes, by source
# and status - 0x80: the source and the data length.
WORD_BITS = tuple(
    tuple((source << SOURCE_SHIFT) | (length << LENGTH_SHIFT) for length in STATUS_DATA_LENGTH)
    for source in range(SOURCES)
)


def new_ring():
    return array.array("I", bytes(4 * RING_WORDS))


def lane_size(count):
    """Bytes of each SysEx lane when `count` lanes share LANE_BUDGET."""
    size = _LANE_MAX
    while size > _LANE_MIN and size * count > LANE_BUDGET:
        size >>= 1
    return size


def admit(ring, word, must):
    """The ring holds RING_LIMIT messages or more: keep `word` or give it up (see the module
    doc). `must`: nonzero when it releases a note or pedal that went to this output. True
    if it was queued (or replaced a waiting value)."""
    status = word & 0xFF
    kind = status & 0xF0
    head = ring[HEAD]
    tail = ring[TAIL]
    key = 0
    if kind == 0xB0:
        policy = CC_POLICY[(word >> 8) & 0x7F]
        if policy == CC_MODE:
            must = 1
        elif policy != CC_IN_ORDER:
            key = _KEY_CONTROLLER
    elif kind == 0xA0:
        key = _KEY_CONTROLLER
    elif kind == 0xD0 or kind == 0xE0:
        key = _KEY_CHANNEL
    if key:
        # The latest value: over the waiting one of the same input, channel and controller.
        match = word & key
        j = tail
        while j != head:
            j = (j - 1) & RING_MASK
            if ring[j] & key == match:
                ring[j] = word
                ring[COALESCED] += 1
                return True
        must = 1  # none waits: this one is the latest value and must arrive
    if must:
        if ((tail - head) & RING_MASK) < RING_MASK:
            ring[tail] = word
            ring[TAIL] = (tail + 1) & RING_MASK
            return True
        if kind == 0x80 or kind == 0x90:
            # Full to the last slot: a note-off whose note-on still waits takes it back.
            on = (word & 0x300FF0F) | 0x90
            j = tail
            while j != head:
                j = (j - 1) & RING_MASK
                w = ring[j]
                if w & 0x300FFFF == on and w & 0x7F0000:
                    ring[j] = _SYSEX | _CANCELLED
                    ring[DROPS] += 2
                    return False
        ring[LOST] += 1
    ring[DROPS] += 1
    return False


class Output:
    """One output: its message ring, SysEx lanes, realtime ring and the pacer."""

    def __init__(self, name, port, usb):
        self.name = name
        self.port = port
        self.usb = usb
        self.ring = new_ring()
        # SysEx lanes, one per source that routes SysEx here (made by make_lane()), each a
        # ring of bytes with its head, tail and size - 1 in these arrays, by source.
        self.lanes = [None] * SOURCES  # type: list
        self.lane_head = array.array("H", bytes(2 * SOURCES))
        self.lane_tail = array.array("H", bytes(2 * SOURCES))
        self.lane_mask = array.array("H", bytes(2 * SOURCES))
        self.lane_start = array.array("H", bytes(2 * SOURCES))  # tail at the open SysEx's F0
        self.marker = array.array("H", bytes(2 * SOURCES))  # ring slot of its marker
        self.lane_open = bytearray(SOURCES)  # 1 while that source's SysEx comes in for here
        self.lane_cut = bytearray(SOURCES)  # 1 once a started SysEx found no room (see below)
        self.rt = bytearray(_RT_MASK + 1)
        self.rt_head = 0
        self.rt_tail = 0
        self.msg = bytearray(2)  # data bytes of the message being sent
        self.pos = 0
        self.left = 0  # data bytes of that message still to send
        self.sysex = None  # the lane being sent, between the F0 marker and F7
        self.sysex_src = 0  # and its source
        self.running = 0  # last channel status sent (DIN running status), 0 = none
        self.busy = False  # something to send: the loop calls service()
        self.bit = 0  # this output's bit in the router's masks (set by the router)
        self.rt_drops = 0
        self.sysex_drops = 0
        # USB: bytes taken from the queue but not yet by the host, always at the front.
        self.pending = bytearray(_USB_CHUNK)
        self.pending_views = [memoryview(self.pending)[:k] for k in range(_USB_CHUNK + 1)]
        self.pending_len = 0
        self.usb_wait = 0  # passes to skip after the host took nothing
        # What the loop calls each pass this output is busy: pump(None) does service().
        self.pump = self.service
        # The monitor (switchyard.monitor) while a host has it open, else None: the one
        # flag the pacers look at after handing the port bytes.
        self.mon = None
        self.mon_tag = 0
        self.mon_bit = 0  # 1 << the output's index: its bit in the monitor's realtime records
        # A DIN write's record waits here until the monitor's next batch (the pacer notes
        # it, Monitor.after_pass makes it): off the path of the other outputs' writes.
        self.mon_buf = None  # type: Any
        self.mon_n = 0

    def set_bit(self, bit):
        self.bit = bit
        self.ring[BIT] = bit

    def make_lane(self, source, size):
        """Make the SysEx lane for a source that routes SysEx here (at start-up only); its
        size. A heap with no block that big (a Pico's, in pieces after start-up) gets a
        lane half as big, down to _LANE_MIN: a longer SysEx still streams through it,
        only sooner held up by a slow output (merge rules above)."""
        if self.lanes[source] is None:
            while True:
                try:
                    self.lanes[source] = bytearray(size)
                    break
                except MemoryError:
                    if size <= _LANE_MIN:
                        raise
                    size >>= 1
            self.lane_mask[source] = size - 1
        return self.lane_mask[source] + 1

    # Methods, not properties: a property in a class makes every attribute store on its
    # instances look the class up first (MicroPython's special accessors), ~2,000 fuel a
    # store on the pacers' path.
    def drops(self):
        return self.ring[DROPS]

    def coalesced(self):
        return self.ring[COALESCED]

    def lost(self):
        return self.ring[LOST]

    # ---- filling (messages: Router.queue(); realtime and SysEx here) ------------------

    def put_realtime(self, byte):
        """Queue a realtime byte; True: service() must run (it always must here)."""
        tail = self.rt_tail
        nxt = (tail + 1) & _RT_MASK
        if nxt == self.rt_head:
            self.rt_drops += 1  # only when the port is dead: 63 realtime bytes waiting
            return True
        self.rt[tail] = byte
        self.rt_tail = nxt
        self.busy = True
        return True

    def hold(self):
        """CLK's next clock comes here soon: a PIO output starts no byte until it has
        (PioOutput.hold); the others have no wire of their own to keep free."""

    def release(self):
        """The clock did not come (or went another way): bytes may start again."""

    def lane_free(self, source):
        """Bytes that source's lane still takes here."""
        return (self.lane_head[source] - self.lane_tail[source] - 1) & self.lane_mask[source]

    def started(self, source):
        """Has the pacer begun that source's open SysEx here (taken its marker)?"""
        ring = self.ring
        head = ring[HEAD]
        return ((self.marker[source] - head) & RING_MASK) >= ((ring[TAIL] - head) & RING_MASK)

    def _rt_held(self):
        """Realtime waits: the lane of the SysEx being sent is nearly full, and a byte that
        jumped it now could make it overflow (its source does not wait)."""
        return self.lane_free(self.sysex_src) < READ_CHUNK

    def sysex_start(self, source):
        # The lane is not reset: earlier SysEx from this source may still be in it, waiting
        # behind another source's SysEx. This one is taken only if its closing F7 fits: an
        # F7 written into a full lane would make it read as empty, losing what it held and
        # holding the output forever on a SysEx that never ends.
        self.lane_cut[source] = 0
        self.lane_open[source] = 0
        ring = self.ring
        tail = ring[TAIL]
        if ((tail - ring[HEAD]) & RING_MASK) >= _SYSEX_SLOTS or not self.lane_free(source):
            self.sysex_drops += 1  # given up whole, from its F0
            ring[DROPS] += 1
            return
        self.lane_start[source] = self.lane_tail[source]
        self.marker[source] = tail
        ring[tail] = _SYSEX | (source << 8)
        ring[TAIL] = (tail + 1) & RING_MASK
        self.lane_open[source] = 1
        self.busy = True

    def _give_up_sysex(self, source):
        """The open SysEx of that source cannot be carried whole here: its bytes are taken
        back and its marker (if still queued) skipped; counted once."""
        self.lane_tail[source] = self.lane_start[source]
        self.lane_open[source] = 0
        self.sysex_drops += 1
        self.ring[DROPS] += 1

    def sysex_data(self, source, buf, start, end):
        """Queue SysEx data bytes buf[start:end] on this source's lane."""
        if not self.lane_open[source] or self.lane_cut[source]:
            return
        lane = self.lanes[source]
        mask = self.lane_mask[source]
        tail = self.lane_tail[source]
        # room, keeping one byte free for the closing F7
        room = ((self.lane_head[source] - tail - 1) & mask) - 1
        if end - start > room:
            if not self.started(source):
                self.ring[self.marker[source]] |= _CANCELLED
                self._give_up_sysex(source)
                return
            # Started, and still no room: only a port that stopped taking bytes (a USB host
            # gone) gets here, as realtime waits and USB input is read only with room. The
            # rest is cut (the F7 still closes it), counted as a SysEx given up and lost.
            end = start + room
            self.lane_cut[source] = 1
            self.sysex_drops += 1
            self.ring[LOST] += 1
        for k in range(start, end):
            lane[tail] = buf[k]
            tail = (tail + 1) & mask
        self.lane_tail[source] = tail

    def sysex_end(self, source):
        if self.lane_open[source]:
            self.lane_open[source] = 0
            tail = self.lane_tail[source]
            self.lanes[source][tail] = _SYSEX_END
            self.lane_tail[source] = (tail + 1) & self.lane_mask[source]

    def queued(self):
        """Messages (and bytes in flight to the port) still waiting here."""
        ring = self.ring
        total = (ring[TAIL] - ring[HEAD]) & RING_MASK
        total += (self.rt_tail - self.rt_head) & _RT_MASK
        return total + self.left + self.pending_len + (0 if self.sysex is None else 1)

    # ---- draining (the pacer) ------------------------------------------------------

    def _take_marker(self, word, slot):
        """A SysEx marker reached the front of the ring (at `slot`): True if that SysEx
        starts here now. A given-up one is skipped; one still arriving starts only with
        _START_FREE of its lane free, or is given up whole."""
        if word & _CANCELLED:
            return False
        src = word >> 8
        if self.lane_open[src] and self.marker[src] == slot and src != _FLOW_CONTROLLED:
            if self.lane_free(src) < _START_FREE:
                self._give_up_sysex(src)
                return False
        self.sysex = self.lanes[src]
        self.sysex_src = src
        self.running = 0
        return True

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
            src = self.sysex_src
            head = self.lane_head[src]
            if head == self.lane_tail[src]:
                return -1  # the SysEx source is still sending; everything else waits
            byte = lane[head]
            self.lane_head[src] = (head + 1) & self.lane_mask[src]
            if byte == _SYSEX_END:
                self.sysex = None
            return byte
        ring = self.ring
        while True:
            head = ring[HEAD]
            if head == ring[TAIL]:
                return -1
            word = ring[head]
            ring[HEAD] = (head + 1) & RING_MASK
            status = word & 0xFF
            if status != _SYSEX:
                break
            if self._take_marker(word, head):
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
            if head != self.rt_tail and (self.sysex is None or not self._rt_held()):
                buf[n] = rt[head]
                self.rt_head = (head + 1) & _RT_MASK
            else:
                byte = self._next()
                if byte < 0:
                    if self.sysex is None and self.rt_head == self.rt_tail:
                        self.busy = False  # drained; the router sets it again
                    break
                buf[n] = byte
            n += 1
        if n:
            port.send(n)
            mon = self.mon
            if mon is not None:  # the monitor's note (monitor.Monitor.flush): no call
                if self.mon_n:
                    mon.flush(self)
                self.mon_buf = buf
                self.mon_n = n
                mon.waiting = True
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
        if wrote and self.mon is not None:
            self.mon.record(self.mon_tag, pending, wrote)
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
        self.hold_exec = port.hold_exec
        self.release_exec = port.release_exec
        self.holding = False  # Y = piotx.HOLD: CLK's clock is about to come
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
        # CircuitPython 10 names it pending_write (9.2 has both); `pending` is its
        # deprecated alias, kept for a CircuitPython that lacks the new name.
        new_name = hasattr(sm, "pending_write")
        which = 0  # the buffer the next batch goes in: DMA may still read the other
        n = 0
        while True:
            yield n
            rt = 0
            if self.rt_head != self.rt_tail:
                rt = self._realtime(sm)
            if sm.pending_write if new_name else sm.pending:
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
                    # One C call stores the message's bytes; the word's top byte (source
                    # and data length) lands past the message, in the buffer's slack or
                    # under the next.
                    if status == running:  # running is never a system status
                        pack_into("<I", buf, n, word >> 8)  # running status: data bytes only
                        n += word >> LENGTH_SHIFT
                    elif status == _SYSEX:
                        break  # SysEx: _stream() sends it from its lane
                    else:
                        running = status if status < 0xF0 else 0
                        pack_into("<I", buf, n, word)
                        n += (word >> LENGTH_SHIFT) + 1
                    head = (head + 1) & RING_MASK
                ring[HEAD] = head
                self.running = running
                if n == 0:
                    n = self._fill(buf, 0, _PIO_BATCH)  # a SysEx marker first in the ring
            else:
                n = self._stream(lane, self.sysex_src, buf)
            if n:
                sm.background_write(viewss[which][n])  # `once`, positional
                mon = self.mon
                if mon is not None:  # the monitor's note (monitor.Monitor.flush): no call
                    if self.mon_n:
                        mon.flush(self)
                    self.mon_buf = buf
                    self.mon_n = n
                    mon.waiting = True
                # The next batch goes in the other buffer: DMA reads this one until it is
                # done, and by the time `pending` is 0 again it has finished with the other.
                which ^= 1
            n += rt

    def put_realtime(self, byte):
        """Straight to the state machine when no realtime byte waits here and Y is free
        (the usual case: a clock comes every 20 ms), so the byte leaves at the next byte
        boundary without a trip through the loop. Returns True only when it was queued
        instead, for service() to send."""
        if self.rt_head == self.rt_tail and (self.sysex is None or not self._rt_held()):
            sm = self.sm
            free = True
            if self.rt_waiting:
                done = sm.in_waiting
                if done:
                    sm.readinto(self.acks, end=done)
                else:
                    free = False
            if free:
                sm.run(self.rt_exec[byte & 7])  # ends a hold too
                self.rt_waiting = True
                self.holding = False
                return False  # the router tells the monitor, once for all outputs
        return Output.put_realtime(self, byte)

    def hold(self):
        """Start no byte until CLK's clock has come (switchyard.piotx's hold): called a
        little more than a byte time before it is due, so the byte on the wire ends and
        the clock finds the wire free, rather than waiting up to 320 us behind a byte.
        Not while a realtime byte or a SysEx waits here: those go on as they would."""
        if self.holding or self.rt_head != self.rt_tail or self.sysex is not None:
            return
        sm = self.sm
        if self.rt_waiting and not sm.in_waiting:
            return  # Y still holds the last realtime byte
        # (its acknowledgement stays for put_realtime to read: a hold pushes nothing)
        sm.run(self.hold_exec)
        self.holding = True

    def release(self):
        if self.holding:
            self.holding = False
            self.sm.run(self.release_exec)

    def _realtime(self, sm):
        """One realtime byte at a time through Y: the next once the program gave Y back.

        Called only while a realtime byte waits here; 1 if it went. The acknowledgement of
        the previous one is read only then: with one byte outstanding it is the only word
        in the RX FIFO (pushed with noblock), so a lone clock costs one call, not two."""
        if self.sysex is not None and self._rt_held():
            return 0
        if self.rt_waiting:
            done = sm.in_waiting
            if not done:
                return 0
            sm.readinto(self.acks, end=done)
        head = self.rt_head
        sm.run(self.rt_exec[self.rt[head] & 7])  # ends a hold too
        self.rt_head = (head + 1) & _RT_MASK
        self.rt_waiting = True
        self.holding = False
        if self.mon is not None:
            self.mon.realtime(self.mon_bit, self.rt[head])
        return 1

    def _stream(self, lane, src, buf):
        """A SysEx from its lane into buf, up to its F7, as much as has come of it."""
        n = 0
        head = self.lane_head[src]
        tail = self.lane_tail[src]
        mask = self.lane_mask[src]
        while head != tail and n < _PIO_BATCH:
            byte = lane[head]
            buf[n] = byte
            n += 1
            head = (head + 1) & mask
            if byte == _SYSEX_END:
                self.sysex = None
                break
        self.lane_head[src] = head
        return n
