"""The routes that change a message, not only where it goes: to_channel and follow (another
channel), keys, transpose, velocity and cc_map (switchyard.transforms' tables).

The router's hot path reaches them only through its rewrite flag, so a plain route never
pays for them. Router inherits these methods; they live here so that routing (router.py)
and changing (this file) each read on their own. A route that moves notes to another
channel or note number records, per input channel and note, what it sent (a _NoteTrack),
and its note-off is sent as that, even after the preset, the split or the transpose
changed while the key was down; a sustain or sostenuto release likewise.
"""

from switchyard import midi, transforms
from switchyard.merge import WORD_BITS as _WORD_BITS
from switchyard.midi import const
from switchyard.presets import INPUTS, MAX_NOTE_REWRITES

try:
    from typing import Any  # noqa: F401 (type comments)
except ImportError:  # CircuitPython
    pass

_NOTE_SLOTS = const(2048)  # 16 channels x 128 notes


class ConfigError(Exception):
    pass


_FOLLOW = const(-1)  # _Rewrite.to_channel: the follow route's channel
_KEEP = const(-2)  # _Rewrite.to_channel: the message's own channel


class _Rewrite:
    """A route that changes the channel (to_channel, follow) or what goes (keys, transpose,
    velocity, cc_map: switchyard.transforms' tables, None when the route has not that
    field). Reached only through the rewrite flag, so plain routes never pay for it."""

    def __init__(self, route, outputs_mask, follow_slot, track, sustain_slot):
        self.types = route.types
        self.channels = route.channels
        self.outputs = outputs_mask
        if route.to_channel:
            self.to_channel = route.to_channel - 1
        else:
            self.to_channel = _FOLLOW if route.follow_input else _KEEP
        self.follow_slot = follow_slot
        self.track = track  # _NoteTrack of its moved notes, or None
        self.sustain_slot = sustain_slot  # index into Router.sustain_rewrite, -1 if no CCs
        self.note_map = None  # type: Any
        if route.keys is not None or route.transpose:
            self.note_map = transforms.note_map(route.keys, route.transpose)
        self.velocity_map = None  # type: Any
        if route.velocity is not None:
            self.velocity_map = transforms.velocity_map(route.velocity)
        self.cc_map = None  # type: Any
        if route.cc_map is not None:
            self.cc_map = transforms.cc_table(route.cc_map)


class _NoteTrack:
    """The notes one route moved to another channel or note number, by input channel and
    note (a slot): what its note-offs must be sent as, whatever the preset is by then."""

    def __init__(self, source, outputs_mask, channel, follows):
        self.source = source
        self.outputs = outputs_mask
        self.channel = channel  # the channel sent on, or _KEEP (the input's)
        self.held = bytearray(_NOTE_SLOTS)  # note sent + 1; 0: none held
        self.channels = bytearray(_NOTE_SLOTS) if follows else None  # channel sent (follow)


class Rewrites:
    """Router's rare path (Router inherits it; router.Router.__init__ sets these)."""

    note_rewrite = None  # type: Any
    sustain_rewrite = None  # type: Any
    note_dest = None  # type: Any
    follow_channel = None  # type: Any
    note_prev = 0
    release_mask = 0
    queue = None  # type: Any
    _matches = None  # type: Any

    def _compile_rewrite(self, cp, i, route, mask, follow_keys):
        """A route that changes channel messages (to_channel, follow, keys, transpose,
        velocity, cc_map): on the rare-path list, with tables for its moved notes and
        pedals; its system messages go plain."""
        follow_slot = -1
        if route.follow_input:
            key = (INPUTS.index(route.follow_input), route.follow_channels)
            if key not in follow_keys:
                follow_keys.append(key)
            follow_slot = follow_keys.index(key)
        track = None
        if route.moves_notes():
            if len(self.note_rewrite) >= MAX_NOTE_REWRITES:
                raise ConfigError(
                    "more than %d routes (all presets) move notes to another channel or note"
                    % MAX_NOTE_REWRITES
                )
            channel = route.to_channel - 1 if route.to_channel else _KEEP
            track = _NoteTrack(i, mask, channel, route.follow_input is not None)
            self.note_rewrite.append(track)
        sustain_slot = -1
        if route.types & (1 << midi.T_CC):
            sustain_slot = len(self.sustain_rewrite)
        rw = _Rewrite(route, mask, follow_slot, track, sustain_slot)
        if sustain_slot >= 0:  # its pedals' releases go with the same CC map
            self.sustain_rewrite.append((i, mask, bytearray(32), rw.cc_map))
        cp.rewrites[i].append(rw)
        plain = cp.plain[i]
        for status in range(0xF0, 0x100):
            if self._matches(route.types, route.channels, status):
                plain[status - 0x80] |= mask  # no channel to change

    def _release_notes(self, source, status, note, velocity):
        """A note-off goes as each route moved its note-on: to its outputs, on the channel
        and as the note number that note-on was sent with, whatever the preset is now."""
        in_channel = status & 0x0F
        slot = (in_channel << 7) | note
        kind = status & 0xF0
        for track in self.note_rewrite:
            if track.source != source:
                continue
            sent = track.held[slot]
            if not sent:
                continue
            track.held[slot] = 0
            if track.channels is not None:
                channel = track.channels[slot]
            elif track.channel == _KEEP:
                channel = in_channel
            else:
                channel = track.channel
            self.release_mask = track.outputs
            self.queue(track.outputs, kind | channel | ((sent - 1) << 8) | (velocity << 16)
                       | _WORD_BITS[source][kind - 0x80], source)

    def _release_pedals(self, source, slot, cc, value):
        """A sustain or sostenuto release goes wherever its channel-moved press went
        (entries: (input, outputs, channel + 1 per pedal slot, cc_map table or None)),
        whatever the preset is now."""
        for entry in self.sustain_rewrite:
            if entry[0] != source:
                continue
            table = entry[2]
            sent = table[slot]
            if sent:
                table[slot] = 0
                status = 0xB0 | (sent - 1)
                cc_out = cc if entry[3] is None else entry[3][cc]
                self.release_mask = entry[1]
                self.queue(entry[1], status | (cc_out << 8) | (value << 16)
                           | _WORD_BITS[source][0x30], source)

    def _rewrite(self, rewrites, source, status, data1, data2):
        """The routes that change this message (another channel, note, velocity or CC
        number): each one's copy, into its outputs' rings."""
        kind = status & 0xF0
        note_off = kind == 0x80 or (kind == 0x90 and not data2)
        cc = kind == 0xB0
        if cc:
            wheel = data1 == midi.CC_MODWHEEL or data1 == midi.CC_MODWHEEL_LSB
            bit = (1 << midi.T_MODWHEEL) if wheel else (1 << midi.T_CC)
        in_channel = status & 0x0F
        for rw in rewrites:
            if cc and not rw.types & bit:
                continue
            channel = rw.to_channel
            if channel == _FOLLOW:
                channel = self.follow_channel[rw.follow_slot]
            elif channel == _KEEP:
                channel = in_channel
            out1 = data1
            out2 = data2
            if kind < 0xB0 and rw.note_map is not None:  # notes and poly pressure
                out1 = rw.note_map[data1]
                if out1 == transforms.NOT_SENT:
                    continue  # outside its keys, or transposed off the keyboard
            if kind < 0xA0:
                if note_off:
                    continue  # sent as its note-on went: _release_notes or note_dest
                slot = (in_channel << 7) | data1
                track = rw.track
                if track is not None:
                    track.held[slot] = out1 + 1
                    if track.channels is not None:
                        track.channels[slot] = channel
                else:  # same channel and note: the plain note tracking sends its note-off
                    self.note_dest[source][slot] |= rw.outputs
                if rw.velocity_map is not None:
                    out2 = rw.velocity_map[data2]
            elif cc:
                if rw.sustain_slot >= 0 and data1 | 2 == 66:
                    if data2 < 64:
                        continue  # sent by _release_pedals, to where the press went
                    pedal = (in_channel << 1) | ((data1 >> 1) & 1)
                    self.sustain_rewrite[rw.sustain_slot][2][pedal] = channel + 1
                if rw.cc_map is not None:
                    out1 = rw.cc_map[data1]
            self.note_prev = 0x7F  # a moved note-on given up keeps its note-off (_full)
            word = kind | channel | (out1 << 8) | (out2 << 16) | _WORD_BITS[source][kind - 0x80]
            self.queue(rw.outputs, word, source)
