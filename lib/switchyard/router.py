"""Routing: presets compiled into tables the hot path only indexes.

For each preset and input, `plain[status - 0x80]` is the bit mask of outputs that get the
message unchanged (CC1/CC33 use `modwheel[channel]` instead, since they are a type of their
own). Routes that rewrite the channel (`to_channel`, `follow`) are rare and live in a short
list checked only for the statuses flagged in `rewrite_flag`.

Note tracking: every note-on records where it went (outputs and channel), in tables that
belong to the input, not to the preset, so a note-off follows its note-on even after a
preset change. Sustain (CC64) and sostenuto (CC66) are tracked the same way per channel.
The same tables tell an output that is full which releases it must never give up
(merge.admit), and a note-on it gives up takes its note-off with it.

The box's own clock (switchyard/clockgen.py) is one more source, CLK, after the inputs:
it calls realtime() as a parser does, and a preset's `plain[CLK]` says where it goes.
Divided clocks (switchyard/clockdiv.py) are reached through `divide_on[source]` only.
"""

from switchyard import clockdiv, midi

try:
    from typing import Any  # noqa: F401 (type comments)
except ImportError:  # CircuitPython
    pass
from switchyard import merge
from switchyard.midi import const
from switchyard.presets import CLOCK_INPUT, INPUTS, OUTPUTS
from switchyard.rewrite import ConfigError, Rewrites  # noqa: F401 (ConfigError: app.py)

INPUT_NAMES = INPUTS  # presets.py holds the one table of port names
OUTPUT_NAMES = OUTPUTS
CLK = len(INPUTS)  # the source number of the box's own clock (realtime only)
_CLOCK_BIT = const(1)  # 1 << midi.T_CLOCK
_NOTE_SLOTS = const(2048)  # 16 channels x 128 notes
_CLOCKS_PER_BAR = const(96)  # 24 ppqn, 4/4
_BEAT_LED_CLOCKS = const(2)  # CLK stays lit for 2 of a beat's 24 clocks
_NO_NOTES = bytes(128)  # one channel of a held-note table, cleared
# a message's source and data length, placed as merge.py's ring words carry them
_WORD_BITS = merge.WORD_BITS
# The ring layout of merge.py, as constants of this module: MicroPython inlines a const()
# only in the module that defines it, and these are used for every message and output.
_HEAD = const(256)
_TAIL = const(257)
_BIT = const(260)
_RING_MASK = const(255)
_RING_LIMIT = const(64)
if (_HEAD, _TAIL, _BIT, _RING_MASK, _RING_LIMIT) != (
    merge.HEAD, merge.TAIL, merge.BIT, merge.RING_MASK, merge.RING_LIMIT
):
    raise ImportError("router.py's ring constants differ from merge.py's")


class _CompiledPreset:
    def __init__(self, name):
        self.name = name
        # the inputs' tables, then CLK's: a table of its own only in a preset routing CLK
        self.plain = [bytearray(128) for _ in INPUT_NAMES] + [_NO_ROUTES]
        self.modwheel = [bytearray(16) for _ in INPUT_NAMES]
        self.rewrite_flag = [bytearray(128) for _ in INPUT_NAMES]
        self.rewrites = [[] for _ in INPUT_NAMES]  # type: list
        self.rewrite_sets = [[] for _ in INPUT_NAMES]  # type: list
        self.send = []  # type: list  # (outputs mask, ((status, data1, data2), ...))
        # clockdiv: per source, is any of its routes divided, and which (slot, mask, n, resets)
        self.divide_on = bytearray(len(INPUT_NAMES) + 1)
        self.dividers = [[] for _ in range(len(INPUT_NAMES) + 1)]  # type: list
        self.divide_count = bytearray(0)  # one count per divided route


_NO_ROUTES = bytes(128)  # CLK's table in a preset that does not route CLK


class Router(Rewrites):
    """Receives whole messages from the parsers and fills the output queues."""

    def __init__(self, outputs, config):
        self.outputs = outputs  # list of merge.Output, index = OUTPUT_NAMES position
        for k in range(len(outputs)):
            outputs[k].set_bit(1 << k)  # its bit in every mask below
        # Output sets as tuples (and each source's lanes), so routing never builds a list.
        # Only the masks the presets can produce (and their unions, for note-offs) are
        # built: all 128 for 3 sources would take 15 KB of heap.
        self.dests = [None] * (1 << len(outputs))  # type: list
        self.rings = [None] * (1 << len(outputs))  # type: list
        self.touched = 0  # outputs given messages since the loop last looked
        self.mon = None  # switchyard.monitor.Monitor while a host has it open
        self.note_dest = [bytearray(_NOTE_SLOTS) for _ in INPUT_NAMES]
        self.sustain_dest = [bytearray(32) for _ in INPUT_NAMES]  # channel * 2 + pedal
        self.note_rewrite = []  # type: list  # rewrite._NoteTrack of each route moving notes
        self.sustain_rewrite = []  # type: list  # (input, outputs, bytearray(32), cc table)
        self.follow_channel = bytearray(0)  # per follow slot: latest channel (0..15)
        self.follow_input = bytearray(0)
        self.follow_mask = []  # type: list
        self.sysex_mask = bytearray(len(INPUT_NAMES))  # outputs of the SysEx in progress
        self.presets = []  # type: list
        self.preset_index = 0
        self.pending_preset = -1
        self.control_input = -1  # -1 none, 3 any
        self.control_status = 0  # 0xC0 | channel, 0 when off
        self.switch_on_bar = False
        self.clock_source = -1
        self.clock_position = 0  # clocks since Start / song position
        self.playing = False
        self.beat_led = None  # type: Any  # the CLK LED: lit on each beat, as its clock comes
        self.preset_changes = 0
        self.panic_next = 16  # channel the panic sends next; 16 = no panic running
        self.sending = ()  # type: Any  # the chosen preset's sends (_CompiledPreset.send)
        self.send_next = 0  # the entry send_step() queues next
        # For an output that is full (_full): where the note or pedal that this release
        # ends went, and what a note-on's slot held before it.
        self.release_mask = 0
        self.note_prev = 0
        self._compile(config)
        self._make_lanes()  # also sets lane_bytes and short_lanes
        self._build_sets()
        self._select(0)

    # ---- compile (start-up only) -----------------------------------------------------

    def _compile(self, config):
        """The presets into the tables message() indexes, one step at a time."""
        follow_keys = []  # type: list  # (input, channel mask) of each follow route, in order
        for p in config.presets:
            cp = _CompiledPreset(p.name)
            for route in p.routes:
                if route.source == CLOCK_INPUT:
                    i = CLK
                    if cp.plain[CLK] is _NO_ROUTES:
                        cp.plain[CLK] = bytearray(128)
                else:
                    i = INPUT_NAMES.index(route.source)
                mask = 0
                for name in route.outputs:
                    mask |= 1 << OUTPUT_NAMES.index(name)
                types = route.types
                if route.clock_divide > 1 and types & _CLOCK_BIT:
                    clockdiv.add(cp, i, route, mask)
                    route.types = types & ~_CLOCK_BIT  # its clocks go by its divider only
                if route.to_channel or route.follow_input or route.transforms():
                    self._compile_rewrite(cp, i, route, mask, follow_keys)
                else:
                    self._compile_plain(cp, i, route, mask)
                route.types = types
            self._compile_rewrite_sets(cp)
            for entry in p.send:
                mask = 0
                for name in entry.outputs:
                    mask |= 1 << OUTPUT_NAMES.index(name)
                cp.send.append((mask, tuple(entry.messages())))
            self.presets.append(cp)
        self._compile_follow(follow_keys)
        self._compile_control(config)

    def _compile_plain(self, cp, i, route, mask):
        """A route that passes messages unchanged: its outputs in the status tables."""
        plain = cp.plain[i]
        for status in range(0x80, 0x100):
            if self._matches(route.types, route.channels, status, False):
                plain[status - 0x80] |= mask
        if route.types & (1 << midi.T_MODWHEEL):
            wheel = cp.modwheel[i]
            for ch in range(16):
                if route.channels & (1 << ch):
                    wheel[ch] |= mask

    def _compile_rewrite_sets(self, cp):
        """For each channel status, the tuple of rewrites that may take it; the flag table
        holds its index + 1 (0: none), so the hot path tests one byte."""
        for i in range(len(INPUT_NAMES)):
            sets = cp.rewrite_sets[i]
            for status in range(0x80, 0xF0):
                rws = tuple(
                    rw for rw in cp.rewrites[i]
                    if self._matches(rw.types, rw.channels, status)
                )
                if not rws:
                    continue
                if rws not in sets:
                    sets.append(rws)
                cp.rewrite_flag[i][status - 0x80] = sets.index(rws) + 1

    def _compile_follow(self, follow_keys):
        """Per follow route: its input, channels and current channel (the lowest of its
        channels until a note-on is seen); per input and channel, whether a note-on there
        moves one."""
        self.follow_channel = bytearray(len(follow_keys))
        self.follow_input = bytearray(k[0] for k in follow_keys)
        self.follow_mask = [k[1] for k in follow_keys]
        self.follow_hit = [bytearray(16) for _ in INPUT_NAMES]
        for slot in range(len(follow_keys)):
            chans = self.follow_mask[slot]
            for ch in range(16):
                if chans & (1 << ch):
                    self.follow_hit[follow_keys[slot][0]][ch] = 1
            ch = 0
            while ch < 15 and not chans & (1 << ch):
                ch += 1
            self.follow_channel[slot] = ch

    def _compile_control(self, config):
        """The control channel's Program Change, and when a preset change takes effect."""
        if config.control_channel and config.control_input:
            self.control_status = 0xC0 | (config.control_channel - 1)
            name = config.control_input
            self.control_input = 3 if name == "any" else INPUT_NAMES.index(name)
        self.switch_on_bar = config.switch == "bar"

    def _make_lanes(self):
        """A SysEx lane for each output and input that some preset routes SysEx between,
        all of one size: LANE_BUDGET shared among them."""
        needed = []
        for p in self.presets:
            for i in range(len(INPUT_NAMES)):
                mask = p.plain[i][0x70]  # F0: where this input's SysEx goes
                for k in range(len(self.outputs)):
                    if mask & (1 << k) and (k, i) not in needed:
                        needed.append((k, i))
        size = merge.lane_size(len(needed))
        self.lane_bytes = size  # each lane's size, or less where the heap had no room
        self.short_lanes = 0
        for k, i in needed:
            if self.outputs[k].make_lane(i, size) < size:
                self.short_lanes += 1

    def _build_sets(self):
        full = (1 << len(self.outputs)) - 1
        seen = bytearray(full + 1)
        masks = []

        def add(m):
            if not seen[m]:
                seen[m] = 1
                masks.append(m)

        add(0)
        add(full)
        for p in self.presets:
            for table in p.plain + p.modwheel:
                for m in table:
                    add(m)
            for rewrites in p.rewrites:
                for rw in rewrites:
                    add(rw.outputs)
            for routes in p.dividers:
                for divided in routes:
                    add(divided[1])
        for track in self.note_rewrite:
            add(track.outputs)
        # Close under union: a note-off goes where its note-on went plus where it routes now.
        k = 0
        while k < len(masks) and len(masks) <= full:
            for j in range(k):
                add(masks[k] | masks[j])
            k += 1
        for k in range(len(self.outputs)):
            add(1 << k)  # one output: the self-test's own messages (not in the closure)
        for p in self.presets:
            for mask, _ in p.send:
                add(mask)
        outputs = self.outputs
        count = len(outputs)
        for m in masks:
            self.dests[m] = tuple(outputs[k] for k in range(count) if m & (1 << k))
            self.rings[m] = tuple(outputs[k].ring for k in range(count) if m & (1 << k))

    @staticmethod
    def _matches(types, channels, status, modwheel=True):
        """Does a route of `types` on `channels` take this status? CC statuses carry both
        "cc" and "modwheel" (CC1/CC33), decided on the data byte: with modwheel=False a
        CC status matches only for "cc" (the plain table; modwheel has its own)."""
        t = midi.STATUS_TYPE[status - 0x80]
        if t == midi.T_NONE:
            return False
        if status < 0xF0:
            if not channels & (1 << (status & 0x0F)):
                return False
        elif channels != 0xFFFF:
            return False  # a route limited to channels carries channel messages only
        if t == midi.T_CC and modwheel:
            return bool(types & ((1 << midi.T_CC) | (1 << midi.T_MODWHEEL)))
        return bool(types & (1 << t))

    # ---- preset selection ------------------------------------------------------------

    def _select(self, index):
        p = self.presets[index]
        self.preset_index = index
        self.plain = p.plain
        self.modwheel = p.modwheel
        self.rewrite_flag = p.rewrite_flag
        self.rewrite_sets = p.rewrite_sets
        self.divide_on = p.divide_on
        self.dividers = p.dividers
        self.divide_count = p.divide_count
        clockdiv.clear(p.divide_count)  # counted from the first clock of the preset

    def request_preset(self, index):
        """Select preset `index` (0-based) now, or at the next bar when switch is "bar"."""
        if index < 0 or index >= len(self.presets):
            return False
        if self.switch_on_bar and self.playing:
            self.pending_preset = index
        else:
            self.pending_preset = -1
            self._apply(index)
        return True

    def _apply(self, index):
        if index != self.preset_index:
            self._select(index)
            self.preset_changes += 1
        # Chosen (again, too): its sends go, an entry at a time from the housekeeping, so a
        # clock byte that chose it at a bar line is not held up by them.
        self.sending = self.presets[index].send
        self.send_next = 0

    def send_step(self):
        """Queue the next entry of the chosen preset's sends (never given up when full)."""
        k = self.send_next
        if k >= len(self.sending):
            return
        self.send_next = k + 1
        mask, messages = self.sending[k]
        for status, data1, data2 in messages:
            self.own(mask, status, data1, data2)

    # ---- parser sink: the hot path ----------------------------------------------------

    def message(self, source, status, data1, data2):
        """A whole message (not SysEx, not realtime) from an input's parser: the outputs it
        goes to (the preset's tables; note and pedal tracking, follow and the control
        channel in their helpers), then into each output's ring, then the routes that move
        it to another channel."""
        idx = status - 0x80
        kind = status & 0xF0
        if kind == 0xB0:
            if data1 == 1 or data1 == 33:
                mask = self.modwheel[source][status & 0x0F]
            else:
                mask = self.plain[source][idx]
                if data1 | 2 == 66:  # sustain (64) or sostenuto (66)
                    mask = self._pedal(source, status & 0x0F, data1, data2, mask)
        elif kind == 0x90 and data2:
            mask = self._note_on(source, status, data1, self.plain[source][idx])
        elif kind < 0xA0:
            mask = self._note_off(source, status, data1, data2, idx)
        elif status == self.control_status and self._control(source, data1):
            return  # a preset chosen: not routed
        elif status == 0xF2:
            mask = self.plain[source][idx]
            self._song_position(source, data1, data2)
            if self.divide_on[source]:
                clockdiv.restart(self.dividers[source], self.divide_count,
                                 clockdiv.ON_SONG_POSITION)
        else:
            mask = self.plain[source][idx]
        if mask:
            self.touched |= mask
            word = status | (data1 << 8) | (data2 << 16) | _WORD_BITS[source][idx]
            # queue(mask, word, source), inlined: this runs for every message and output
            for ring in self.rings[mask]:
                tail = ring[_TAIL]
                if ((tail - ring[_HEAD]) & _RING_MASK) >= _RING_LIMIT:
                    self._full(ring, word, source)
                    continue
                ring[tail] = word
                ring[_TAIL] = (tail + 1) & _RING_MASK
        which = self.rewrite_flag[source][idx]
        if which:
            self._rewrite(self.rewrite_sets[source][which - 1], source, status, data1, data2)

    def _note_on(self, source, status, note, mask):
        """Where this note-on goes is where its note-off will follow; it may move a
        follow route's channel."""
        channel = status & 0x0F
        dest = self.note_dest[source]
        slot = (channel << 7) | note
        prev = dest[slot]
        self.note_prev = prev  # for _full: an earlier note-on of this note went there
        dest[slot] = prev | mask
        if self.follow_hit[source][channel]:
            self._follow(source, channel)
        return mask

    def _control(self, source, program):
        """A Program Change on the control channel: from the control input, it chooses
        preset program + 1 and is consumed (True)."""
        if self.control_input == 3 or self.control_input == source:
            self.request_preset(program)
            return True
        return False

    def _song_position(self, source, lsb, msb):
        """Song Position Pointer from the clock source: the bar count restarts there."""
        if self.clock_source < 0:
            self.clock_source = source
        if source == self.clock_source:
            self.clock_position = ((msb << 7) | lsb) * 6

    def _note_off(self, source, status, note, velocity, idx):
        slot = ((status & 0x0F) << 7) | note
        dest = self.note_dest[source]
        # Note-off: wherever its note-on went, plus where note-offs route now.
        went = dest[slot]
        self.release_mask = went  # an output that got the note-on must get this
        mask = went | self.plain[source][idx]
        dest[slot] = 0
        if self.note_rewrite:
            self._release_notes(source, status, note, velocity)
        return mask

    def _pedal(self, source, channel, cc, value, mask):
        """Sustain or sostenuto: a release goes wherever its press went, too."""
        held = self.sustain_dest[source]
        slot = (channel << 1) | ((cc >> 1) & 1)
        if value >= 64:
            held[slot] |= mask
            return mask
        went = held[slot]
        self.release_mask = went
        mask |= went
        held[slot] = 0
        if self.sustain_rewrite:
            self._release_pedals(source, slot, cc, value)
        return mask

    def _full(self, ring, word, source):
        """The output behind `ring` holds RING_LIMIT messages: merge.admit() chooses. A
        release of what went there is never given up; a note-on given up takes its
        note-off with it (unless an earlier note-on of that note went there)."""
        kind = word & 0xF0
        data2 = (word >> 16) & 0x7F
        bit = ring[_BIT]
        must = 0
        if (kind == 0x80 or (kind == 0x90 and not data2)
                or (kind == 0xB0 and ((word >> 8) & 0x7F) | 2 == 66 and data2 < 64)):
            must = self.release_mask & bit  # a note-off or pedal release
        if merge.admit(ring, word, must):
            return
        if kind == 0x90 and data2 and not self.note_prev & bit:
            slot = ((word & 0x0F) << 7) | ((word >> 8) & 0x7F)
            self.note_dest[source][slot] &= ~bit

    def queue(self, mask, word, source):
        """Queue a message word on every output of `mask`: the one way a message enters an
        output's ring (message() inlines the loop; tests/test_merge.py holds the two equal).
        An output holding RING_LIMIT messages lets _full() choose."""
        self.touched |= mask
        for ring in self.rings[mask]:
            tail = ring[_TAIL]
            if ((tail - ring[_HEAD]) & _RING_MASK) >= _RING_LIMIT:
                self._full(ring, word, source)
                continue
            ring[tail] = word
            ring[_TAIL] = (tail + 1) & _RING_MASK

    def own(self, mask, status, data1, data2):
        """Queue a message of the box's own (panic, self-test) on the outputs of `mask`:
        never given up by a full output."""
        self.release_mask = mask
        self.note_prev = 0x7F  # not tracked: a full output never takes a note-off back
        self.queue(mask, status | (data1 << 8) | (data2 << 16)
                   | _WORD_BITS[merge.INTERNAL][status - 0x80], merge.INTERNAL)

    def _follow(self, source, channel):
        inputs = self.follow_input
        for slot in range(len(inputs)):
            if inputs[slot] == source and self.follow_mask[slot] & (1 << channel):
                self.follow_channel[slot] = channel

    def realtime(self, source, byte):
        if byte == 0xF8:
            if self.clock_source < 0:
                self.clock_source = source
            if source == self.clock_source:
                position = self.clock_position
                if position % _CLOCKS_PER_BAR == 0 and self.pending_preset >= 0:
                    self._apply(self.pending_preset)
                    self.pending_preset = -1
                led = self.beat_led
                if led is not None:
                    beat = position % 24
                    if beat == 0:
                        led.value = True
                    elif beat == _BEAT_LED_CLOCKS:
                        led.value = False
                self.clock_position = position + 1
        elif byte == 0xFA or byte == 0xFB:
            self.clock_source = source
            self.playing = True
            if byte == 0xFA:
                self.clock_position = 0
        elif byte == 0xFC:
            if source == self.clock_source:
                self.playing = False
                if self.pending_preset >= 0:
                    self._apply(self.pending_preset)
                    self.pending_preset = -1
        mask = self.plain[source][byte - 0x80]
        if self.divide_on[source]:
            mask = self._divided(source, byte, mask)
        if mask:
            queued = 0
            for out in self.dests[mask]:
                if out.put_realtime(byte):
                    queued |= out.bit  # queued: the loop must service it
            self.touched |= queued
            if self.mon is not None and mask != queued:
                self.mon.realtime(mask & ~queued, byte)  # put straight into transmitters

    def clock_hold(self, source):
        """Keep the wire free on the outputs the next clock from `source` goes to
        (switchyard.clockgen, a byte time before it is due); returns their mask."""
        mask = self.plain[source][0x78]
        if self.divide_on[source]:
            mask |= clockdiv.due(self.dividers[source], self.divide_count)
        if mask:
            for out in self.dests[mask]:
                out.hold()
        return mask

    def clock_release(self, mask):
        """After the clock (or instead of it): the outputs it did not reach start bytes
        again; those it reached were released by it."""
        for out in self.dests[mask]:
            out.release()

    def _divided(self, source, byte, mask):
        """A realtime byte from a source with divided routes (switchyard.clockdiv)."""
        if byte == 0xF8:
            return clockdiv.tick(self.dividers[source], self.divide_count, mask)
        if byte == 0xFA:
            clockdiv.restart(self.dividers[source], self.divide_count, clockdiv.ON_START)
        return mask

    def sysex_start(self, source):
        mask = self.plain[source][0x70]
        self.sysex_mask[source] = mask
        if mask:
            self.touched |= mask
            for out in self.dests[mask]:
                out.sysex_start(source)

    def sysex_data(self, source, buf, start, end):
        mask = self.sysex_mask[source]
        if mask:
            self.touched |= mask
            for out in self.dests[mask]:
                out.sysex_data(source, buf, start, end)

    def sysex_end(self, source, complete):
        mask = self.sysex_mask[source]
        self.sysex_mask[source] = 0
        if mask:
            self.touched |= mask
            for out in self.dests[mask]:
                out.sysex_end(source)

    def sysex_tight(self, source):
        """Has this input's SysEx, already started on some output, less than one read
        (64 bytes) of room left in that output's lane? Then the app does not read the
        input this pass: only USB is asked, whose host waits with the rest, so a started
        SysEx never overflows."""
        mask = self.sysex_mask[source]
        if mask:
            for out in self.dests[mask]:
                if (out.lane_open[source] and out.lane_free(source) <= merge.READ_CHUNK
                        and out.started(source)):
                    return True
        return False

    # ---- the box's own messages ------------------------------------------------------

    def panic(self):
        """All Notes Off and Sustain off on every channel of every output.

        Spread over 16 calls of panic_step() (one channel each, from the loop's
        housekeeping): all at once would be 224 messages in one pass, long enough to hold
        up a clock byte. Each step also forgets the held notes and pedals of its channel.
        """
        self.panic_next = 0

    def panic_step(self):
        """Queue CC123 and CC64=0 on the next channel to every output."""
        ch = self.panic_next
        if ch >= 16:
            return
        self.panic_next = ch + 1
        full = (1 << len(self.outputs)) - 1
        self.own(full, 0xB0 | ch, midi.CC_ALL_NOTES_OFF, 0)
        self.own(full, 0xB0 | ch, midi.CC_SUSTAIN, 0)
        first = ch << 7
        for table in self.note_dest:
            table[first:first + 128] = _NO_NOTES
        for track in self.note_rewrite:
            track.held[first:first + 128] = _NO_NOTES
        for held in self.sustain_dest:
            held[2 * ch] = held[2 * ch + 1] = 0
        for entry in self.sustain_rewrite:
            entry[2][2 * ch] = entry[2][2 * ch + 1] = 0
