"""What a route changes in a message: keyboard split, transpose, velocity, CC remap; and
the messages a preset sends when it is chosen.

Compiled once, at start-up, into 128-entry tables that the router's rare path indexes (a
route without these fields never reaches them; router.py puts a route with any of them on
the list its `rewrite_flag` gates):

    note_map[note in]      the note sent, NOT_SENT when `keys` leaves it out or `transpose`
                           takes it outside 0..127 (keys and transpose folded)
    velocity_map[v in]     the velocity sent; 0 stays 0 (a note-on with velocity 0 is a
                           note-off)
    cc_table[cc in]        the controller number sent

presetcheck.py validates the fields (with the JSON path and the fix) through the parsers
here, so the box and tools/check.py read a note name the same way.
"""

from switchyard.midi import const

NOT_SENT = const(255)
MAX_TRANSPOSE = const(48)
MAX_SENDS = const(16)  # entries of a preset's "send"
MAX_SEND_CCS = const(16)  # [cc, value] pairs of one entry
_PITCHES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def note_number(value):
    """A note as presets.json writes it: an integer 0..127, or a name with C4 = 60 (C-1 = 0,
    G9 = 127; sharps C#4, flats Db4). None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= 127 else None
    if not isinstance(value, str) or len(value) < 2:
        return None
    pitch = _PITCHES.get(value[0].upper())
    if pitch is None:
        return None
    rest = value[1:]
    if rest[:1] == "#":
        pitch += 1
        rest = rest[1:]
    elif rest[:1] == "b":
        pitch -= 1
        rest = rest[1:]
    if rest not in ("-1", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9"):
        return None
    number = 12 * (int(rest) + 1) + pitch
    return number if 0 <= number <= 127 else None


def note_name(number):
    """The name of a note number, C4 = 60 (sharps)."""
    return "%s%d" % (NOTE_NAMES[number % 12], number // 12 - 1)


def note_map(keys, transpose):
    """keys: (low, high) input notes taken, or None for all; transpose in semitones."""
    low, high = keys if keys is not None else (0, 127)
    table = bytearray(128)
    for note in range(128):
        out = note + transpose
        table[note] = out if low <= note <= high and 0 <= out <= 127 else NOT_SENT
    return table


def velocity_map(velocity):
    """velocity: ("fixed", v, v) or ("range", a, b): v in 1..127 -> a + ((v - 1) * (b - a)
    + 63) // 126, so 1 -> a and 127 -> b."""
    _, low, high = velocity
    table = bytearray(128)
    for v in range(1, 128):
        table[v] = low + ((v - 1) * (high - low) + 63) // 126
    return table


def cc_table(cc_map):
    """cc_map: {cc in: cc out}; every other controller keeps its number."""
    table = bytearray(range(128))
    for cc_in in cc_map:
        table[cc_in] = cc_map[cc_in]
    return table


class Send:
    """One entry of a preset's "send": on `channel` (1..16), to each output of `outputs`:
    bank select (CC0, CC32) if `bank`, then each (cc, value), then the program change."""

    def __init__(self, outputs, channel, bank=None, ccs=(), program=-1):
        self.outputs = outputs
        self.channel = channel
        self.bank = bank
        self.ccs = ccs
        self.program = program

    def messages(self):
        """(status, data1, data2) in the order they are sent."""
        status = 0xB0 | (self.channel - 1)
        out = []
        if self.bank is not None:
            out.append((status, 0, self.bank[0]))
            out.append((status, 32, self.bank[1]))
        for cc, value in self.ccs:
            out.append((status, cc, value))
        if self.program >= 0:
            out.append((0xC0 | (self.channel - 1), self.program, 0))
        return out
