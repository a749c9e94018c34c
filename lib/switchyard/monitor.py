"""The monitor: what the box sees, streamed to a computer over usb_cdc.data.

Only while a host has the channel open (usb_cdc.data.connected, the host asserting DTR):
the bytes each input read and each output sent, with their port and the time, and once a
second the counters. The record format is docs/MONITOR.md; tools/monitor.py decodes it.

Cost. Closed: nothing on the MIDI path. The loop's feeds are the parsers' own and every
output's `mon` is None; the app looks at `connected` once a second. Open: each input's
feed is swapped for a tap (InputTap) that records the bytes read, then parses them; each
output's `mon` points here and its pacer records what it handed the port. Records go into
one preallocated buffer; housekeeping (every 4 ms) hands the host whole 16-byte steps of
it (views made once; 0x00 pads a step). When the host reads too slowly the buffer fills
and the monitor gives up its own records (counted, then a gap record says how many):
MIDI never waits for it.
"""

from struct import pack_into

from switchyard.midi import const

SIZE = const(1024)  # staging buffer: ~14 ms of the studio at full load
_STEP = const(16)  # a write is a multiple of this (one view per multiple, made once)
_HEADER = const(4)  # tag, payload length, time (ticks_ms, low 16 bits, little-endian)
_COPY = const(64)  # a record's bytes are copied as 64 (merge.READ_CHUNK, the largest write)
_RECORD = "<BBH64s"  # tag, length, time, bytes: _HEADER + _COPY, written by one pack_into
_KEEP = "<64s"  # an input's bytes kept until the pass's writes are done (InputTap)
_PAD = "<16s"  # _STEP zero bytes (Monitor.pump)
_LAST = const(SIZE - _HEADER)  # a record of n bytes fits while fill <= _LAST - n
TAG_PAD = const(0x00)  # one byte, skipped
TAG_IN = const(0x40)  # + input index (A, B, USB): bytes the input read
TAG_OUT = const(0x50)  # + output index (1..6, USB): bytes handed to the output
TAG_STATS = const(0x60)  # counters, once a second
TAG_GAP = const(0x61)  # records the monitor gave up (host too slow) since the last gap
TAG_HELLO = const(0x62)  # first record after the host opens the channel
TAG_RT = const(0x63)  # a realtime byte put straight into PIO transmitters: byte, output mask
MAGIC = b"SWM1"
UNKNOWN = const(0xFFFFFFFF)  # a counter the box cannot read (RX overflow on busio.UART)


class InputTap:
    """An input's feed while the monitor is open: parse the bytes, then keep a copy of
    them after those kept before; their record is made later (Monitor.after_pass, in a
    pass that reads nothing), so the MIDI the bytes carry does not wait for it, and the
    bytes of a message read a byte a pass make one record. A lone byte (light traffic,
    where a message's delay is felt) is kept with one store, more with one `pack_into`;
    bytes that would not fit behind those kept make their record first."""

    def __init__(self, monitor, tag, feed):
        self.monitor = monitor
        self.tag = tag
        self.inner = feed
        self.keep = bytearray(2 * _COPY)
        self.n = 0  # bytes kept whose record is not made yet

    def feed(self, buf, n):
        self.inner(buf, n)  # parsed and routed first
        k = self.n
        if k > _COPY - n:  # no room for them after the bytes kept: their record now
            self.monitor.input_record(self)
            k = 0
        if n == 1:
            self.keep[k] = buf[0]
        else:
            pack_into(_KEEP, self.keep, k, buf)  # one C copy, no allocation
        self.n = k + n


class Monitor:
    """One usb_cdc.Serial and the buffer the records wait in. See the module doc."""

    def __init__(self, serial, ticks_ms):
        self.serial = serial
        self.ticks_ms = ticks_ms
        # _COPY bytes past SIZE: a record's pack_into copies _COPY bytes whatever its length
        self.buf = bytearray(SIZE + _COPY)
        view = memoryview(self.buf)
        self.views = tuple(view[: k * _STEP] for k in range(SIZE // _STEP + 1))
        self.fill = 0
        self.on = False
        self.gap = 0  # records given up since the last gap record
        self.rt_mask = 0  # outputs a realtime byte went to straight, not yet recorded
        self.waiting = False  # a DIN output's write's record waits (its pacer's note)
        self.rt_byte = 0
        self.given_up = 0  # records given up since the channel opened
        # Counted for the simulator's cost model and the stats record (wrap at 2**30).
        self.records = 0  # made in batches (after_pass)
        self.singles = 0  # made one by one (record, rt_record)
        self.pumps = 0
        self.opens = 0
        self.router = None  # tells realtime() of its realtime fan-outs while open (attach)

    # ---- records (called from the taps while open) -------------------------------------

    def record(self, tag, data, n):
        """A record of data[0:n] (n <= _COPY) with its tag, now, or given up (counted)
        when it does not fit."""
        fill = self.fill
        if self.gap or fill > _LAST - n:
            if not self.room(n):
                return
            fill = self.fill
        pack_into(_RECORD, self.buf, fill, tag, n, self.ticks_ms() & 0xFFFF, data)
        self.fill = fill + _HEADER + n
        self.singles += 1  # wrapped once a second, by stats()

    def room(self, n):
        """A record of n bytes found a gap still unsaid or no room: the gap record first
        when it fits; True when the record fits after it, else it is given up (counted)."""
        if (self.gap and not self._gap_record()) or self.fill > _LAST - n:
            self.gap += 1
            return False
        return True

    def flush(self, out):
        """The record a DIN output's write left waiting, made now: its buffer is about to
        be written again.

        A DIN output's pacer notes each write itself (merge.py: its `mon_buf` and
        `mon_n`, and `waiting` here), with no call, so the outputs written after it do not
        wait for a record; after_pass (or the next hand-over) makes it. The buffer is the
        output's own: a DMA batch buffer is next written two batches on, and an output
        written twice before after_pass flushes its first write's record first."""
        n = out.mon_n
        out.mon_n = 0
        self.record(out.mon_tag, out.mon_buf, n)

    def after_pass(self):
        """The batch: the records of what the inputs read, of what the outputs were
        handed and of the realtime bytes put in transmitters since the last batch, all in
        one go (the buffer's fill in a local, a pack_into a record, one time for all: the
        clock is read here, not at each read and write). The app's loop makes it in the
        first pass that reads nothing once an output was handed something, or 3 ms after
        the first byte it waits for (app._MONITOR_BATCH_MS; under a load that leaves no
        pass reading nothing, every 3 ms); the hand-over makes it before it hands over
        what passes that read nothing sent. The taps' loop and the DIN outputs' loop are
        written out alike on purpose: a call a record would cost more than the record's
        own pack_into."""
        full = self.gap and not self._gap_record()  # a gap unsaid: nothing goes after it
        t = self.ticks_ms() & 0xFFFF
        fill = self.fill
        buf = self.buf
        made = 0
        lost = 0
        for tap in self.taps:
            n = tap.n
            if n:
                tap.n = 0
                if full or fill > _LAST - n:
                    full = True
                    lost += 1
                else:
                    pack_into(_RECORD, buf, fill, tap.tag, n, t, tap.keep)
                    fill += _HEADER + n
                    made += 1
        if self.waiting:
            self.waiting = False
            for out in self.noting:
                n = out.mon_n
                if n:
                    out.mon_n = 0
                    if full or fill > _LAST - n:
                        full = True
                        lost += 1
                    else:
                        pack_into(_RECORD, buf, fill, out.mon_tag, n, t, out.mon_buf)
                        fill += _HEADER + n
                        made += 1
        mask = self.rt_mask
        if mask:
            self.rt_mask = 0
            if full or fill > _LAST - 2:
                lost += 1
            else:
                pack_into("<BBHBB", buf, fill, TAG_RT, 2, t, self.rt_byte, mask)
                fill += _HEADER + 2
                made += 1
        self.fill = fill
        self.records += made
        self.gap += lost

    def input_record(self, tap):
        n = tap.n
        tap.n = 0
        self.record(tap.tag, tap.keep, n)

    def realtime(self, bits, byte):
        """A realtime byte put straight into PIO transmitters (their bits, 1 << index in
        OUTPUT_NAMES): the router says so once for all the outputs of a fan-out, and a
        pacer that sends one it had queued says so for itself. One record says so for all
        of them (rt_record, in the next batch), not one a port; a repeat on an output, or
        another byte, makes the record first."""
        mask = self.rt_mask
        if mask and (mask & bits or byte != self.rt_byte):
            self.rt_record()
            mask = 0
        if not mask:
            self.rt_byte = byte
        self.rt_mask = mask | bits

    def rt_record(self):
        mask = self.rt_mask
        self.rt_mask = 0
        fill = self.fill
        if self.gap or fill > _LAST - 2:
            if not self.room(2):
                return
            fill = self.fill
        pack_into("<BBHBB", self.buf, fill, TAG_RT, 2, self.ticks_ms() & 0xFFFF, self.rt_byte,
                  mask)
        self.fill = fill + _HEADER + 2
        self.singles += 1

    def _start(self, tag, length):
        """Room for a record of `length` payload bytes: its header written, the offset of
        its payload; -1 when it does not fit."""
        fill = self.fill
        if fill + _HEADER + length > SIZE:
            return -1
        buf = self.buf
        t = self.ticks_ms()
        buf[fill] = tag
        buf[fill + 1] = length
        buf[fill + 2] = t & 0xFF
        buf[fill + 3] = (t >> 8) & 0xFF
        self.fill = fill + _HEADER + length
        return fill + _HEADER

    def _gap_record(self):
        """Say how many records were given up; True once said (then records go again)."""
        at = self._start(TAG_GAP, 4)
        if at < 0:
            return False
        pack_into("<I", self.buf, at, self.gap)
        self.given_up = (self.given_up + self.gap) & 0x3FFFFFFF
        self.gap = 0
        return True

    def stats(self, preset, parse_errors, outputs):
        """The counters record: time, preset, parse errors, RX overflow (unknown on the box),
        records given up, then per output in OUTPUT_NAMES order: given up, of them SysEx,
        coalesced."""
        if self.gap and not self._gap_record():
            self.gap += 1
            return
        count = len(outputs)
        at = self._start(TAG_STATS, 18 + 12 * count)
        if at < 0:
            self.gap += 1
            return
        buf = self.buf
        self.records &= 0x3FFFFFFF
        self.singles &= 0x3FFFFFFF
        pack_into("<I", buf, at, self.ticks_ms())
        buf[at + 4] = preset
        pack_into("<I", buf, at + 5, parse_errors)
        pack_into("<I", buf, at + 9, UNKNOWN)
        pack_into("<I", buf, at + 13, self.given_up)
        buf[at + 17] = count
        at += 18
        for out in outputs:
            pack_into("<I", buf, at, out.drops() + out.rt_drops)
            pack_into("<I", buf, at + 4, out.sysex_drops)
            pack_into("<I", buf, at + 8, out.coalesced())
            at += 12

    # ---- the channel ----------------------------------------------------------------

    def hello(self):
        at = self._start(TAG_HELLO, 8)
        buf = self.buf
        for k in range(4):
            buf[at + k] = MAGIC[k]
        pack_into("<I", buf, at + 4, self.ticks_ms())

    def pump(self):
        """Hand the host what it takes now, in whole steps; never blocks (write_timeout 0).
        False once the host has closed the channel."""
        serial = self.serial
        if not serial.connected:
            return False
        if self.waiting or self.rt_mask:
            # what passes that read nothing sent (the app's loop makes the batch after
            # passes that read, and with it the taps' records)
            self.after_pass()
        fill = self.fill
        if not fill:
            return True
        buf = self.buf
        if fill & (_STEP - 1):
            # pad bytes (TAG_PAD, 0x00) to the step's end: one pack_into of an empty bytes,
            # which "16s" fills with zeros (the buffer has _COPY bytes past SIZE)
            pack_into(_PAD, buf, fill, b"")
            fill = (fill + _STEP - 1) & ~(_STEP - 1)
        self.pumps = (self.pumps + 1) & 0x3FFFFFFF
        wrote = serial.write(self.views[fill // _STEP])
        if not wrote:
            wrote = 0
        if wrote >= fill:
            self.fill = 0
            return True
        # A short write: the rest goes first next time (it ends on a record boundary).
        left = fill - wrote
        for k in range(left):
            buf[k] = buf[wrote + k]
        self.fill = left
        return True

    def reset(self):
        """The channel opened or closed: an empty buffer, no debt of given-up records."""
        self.fill = 0
        self.gap = 0
        self.given_up = 0
        self.rt_mask = 0
        self.waiting = False

    # ---- wiring (app.App.attach_monitor) --------------------------------------------

    def attach(self, uart_feeds, other_feeds, uart_sources, other_sources, outputs,
               router=None):
        """Make the taps once: the app's feed lists (changed in place when the channel
        opens or closes), the input index of each feed, the outputs (with their index in
        OUTPUT_NAMES: (output, index) pairs) and the router, whose realtime fan-outs say
        which outputs took a byte straight (its `mon`, set while open)."""
        self.router = router
        self.uart_feeds = uart_feeds
        self.other_feeds = other_feeds
        self.plain = (tuple(uart_feeds), tuple(other_feeds))
        uart_taps = [InputTap(self, TAG_IN + source, feed)
                     for (_, feed), source in zip(uart_feeds, uart_sources)]
        other_taps = [InputTap(self, TAG_IN + source, feed)
                      for (_, feed, _), source in zip(other_feeds, other_sources)]
        self.taps = tuple(uart_taps + other_taps)
        self.tapped = (
            tuple((uart, tap.feed) for (uart, _), tap in zip(uart_feeds, uart_taps)),
            tuple((port, tap.feed, parser)
                  for (port, _, parser), tap in zip(other_feeds, other_taps)),
        )
        self.outputs = tuple(out for out, _ in outputs)
        self.noting = tuple(out for out in self.outputs if not out.usb)  # USB: record()
        for out, index in outputs:
            out.mon_tag = TAG_OUT + index
            out.mon_bit = 1 << index

    def open(self):
        """The host opened the channel: a hello, then every input and output recorded."""
        self.reset()
        self.opens = (self.opens + 1) & 0x3FFFFFFF
        self.serial.reset_output_buffer()
        self.hello()
        self._swap(self.tapped)
        for out in self.outputs:
            out.mon = self
        if self.router is not None:
            self.router.mon = self
        self.on = True

    def close(self):
        """The host closed it: the loop's own feeds and no output taps again."""
        self.on = False
        self._swap(self.plain)
        for out in self.outputs:
            out.mon = None
            out.mon_n = 0
        if self.router is not None:
            self.router.mon = None
        for tap in self.taps:
            tap.n = 0
        self.reset()

    def _swap(self, feeds):
        uart_feeds, other_feeds = feeds
        for k in range(len(uart_feeds)):
            self.uart_feeds[k] = uart_feeds[k]
        for k in range(len(other_feeds)):
            self.other_feeds[k] = other_feeds[k]
