"""The MIDI 1.0 facts in one table: status byte -> message type, data length, channel.

The stream parser, the router's filters and the presets validator all read these tables
instead of repeating numbers. Indexes are `status - 0x80` (0..127).
"""

try:
    from micropython import const
except ImportError:  # CPython (simulator, tools)

    def const(expr):  # type: ignore[misc]
        return expr


# Route filter types, in the order presets.json names them. A type's bit in a route's
# type mask is 1 << index.
TYPE_NAMES = (
    "clock",
    "transport",
    "notes",
    "poly_aftertouch",
    "cc",
    "modwheel",
    "program",
    "aftertouch",
    "pitchbend",
    "sysex",
    "common",
    "active_sensing",
    "reset",
)
T_CLOCK = const(0)
T_TRANSPORT = const(1)
T_NOTES = const(2)
T_POLY_AT = const(3)
T_CC = const(4)
T_MODWHEEL = const(5)
T_PROGRAM = const(6)
T_AFTERTOUCH = const(7)
T_PITCHBEND = const(8)
T_SYSEX = const(9)
T_COMMON = const(10)
T_ACTIVE_SENSING = const(11)
T_RESET = const(12)
T_NONE = const(255)  # undefined status (F4 F5 F9 FD) or a stray F7: never routed
ALL_TYPES = const(0x1FFF)

NOTE_OFF = const(0x80)
NOTE_ON = const(0x90)
POLY_AT = const(0xA0)
CONTROL_CHANGE = const(0xB0)
PROGRAM_CHANGE = const(0xC0)
CHANNEL_AT = const(0xD0)
PITCH_BEND = const(0xE0)
SYSEX = const(0xF0)
MTC_QUARTER = const(0xF1)
SONG_POSITION = const(0xF2)
SONG_SELECT = const(0xF3)
TUNE_REQUEST = const(0xF6)
SYSEX_END = const(0xF7)
CLOCK = const(0xF8)
START = const(0xFA)
CONTINUE = const(0xFB)
STOP = const(0xFC)
ACTIVE_SENSING = const(0xFE)
RESET = const(0xFF)

CC_MODWHEEL = const(1)
CC_MODWHEEL_LSB = const(33)
CC_SUSTAIN = const(64)
CC_SOSTENUTO = const(66)
CC_ALL_NOTES_OFF = const(123)

# What an output that is full may do with a control change, by controller number (the
# merge policy, ARCHITECTURE.md "When an output is full"):
CC_KEEP_LATEST = const(0)  # a continuous value: a newer one from the same input replaces it
CC_IN_ORDER = const(1)  # bank select, data entry, (N)RPN numbers, switches: kept in order
CC_MODE = const(2)  # All Sound Off, Reset All Controllers, All Notes Off, modes: never lost
CC_POLICY = bytes(
    [CC_IN_ORDER if n in (0, 6, 32, 38) or 64 <= n <= 69 or 96 <= n <= 101
     else CC_MODE if n >= 120 else CC_KEEP_LATEST for n in range(128)]
)

# Data bytes that follow each status (index status - 0x80). SysEx is open-ended: 0 here,
# the parser streams it. Undefined statuses have 0 and type T_NONE.
STATUS_DATA_LENGTH = bytes(
    [2] * 16  # 8n note off
    + [2] * 16  # 9n note on
    + [2] * 16  # An poly aftertouch
    + [2] * 16  # Bn control change
    + [1] * 16  # Cn program change
    + [1] * 16  # Dn channel aftertouch
    + [2] * 16  # En pitch bend
    # F0 F1 F2 F3 F4 F5 F6 F7 F8 F9 FA FB FC FD FE FF
    + [0, 1, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
)

STATUS_TYPE = bytes(
    [T_NOTES] * 16
    + [T_NOTES] * 16
    + [T_POLY_AT] * 16
    + [T_CC] * 16  # CC1/CC33 are T_MODWHEEL, decided on the data byte
    + [T_PROGRAM] * 16
    + [T_AFTERTOUCH] * 16
    + [T_PITCHBEND] * 16
    + [
        T_SYSEX,  # F0
        T_COMMON,  # F1 MTC quarter frame
        T_COMMON,  # F2 song position
        T_COMMON,  # F3 song select
        T_NONE,  # F4 undefined
        T_NONE,  # F5 undefined
        T_COMMON,  # F6 tune request
        T_NONE,  # F7 end of SysEx: only valid inside a SysEx
        T_CLOCK,  # F8
        T_NONE,  # F9 undefined realtime
        T_TRANSPORT,  # FA start
        T_TRANSPORT,  # FB continue
        T_TRANSPORT,  # FC stop
        T_NONE,  # FD undefined realtime
        T_ACTIVE_SENSING,  # FE
        T_RESET,  # FF
    ]
)


def type_mask(names):
    """Bit mask of route types from their names; raises ValueError on an unknown name."""
    mask = 0
    for name in names:
        mask |= 1 << TYPE_NAMES.index(name)
    return mask
