"""Clock divide: a route with `"clock_divide": n` passes the 1st, (n+1)th, (2n+1)th, ...
timing clock (F8) it takes, counted from the last Start (FA) or Song Position Pointer (F2)
the route carried, or from the first clock after its preset became active (issue 22;
docs/PRESETS.md). Start, Continue and Stop pass unchanged, in order with the clocks.

Compiled at preset load: a divided route's clock stays out of the preset's plain table
(its other types go there as ever), and the preset gets, per input, the list of its
divided routes and a flag, `divide_on[input]`. Router.realtime looks at the flag only, so
an input without divided routes pays one index a realtime byte and nothing else. Each
route has a counter of its own (a byte of `divide_count`), so routes and outputs divide
independently; an output that some undivided route of the preset gives the clock gets
every clock, once (an output gets a message once, however many routes carry it there).
"""

from switchyard import midi

ON_START = 1  # the route carries transport: its Start restarts the count
ON_SONG_POSITION = 2  # the route carries common: its Song Position Pointer does


def add(cp, source, route, mask):
    """Compile a divided route of preset `cp` from `source` to the outputs of `mask`."""
    resets = 0
    if route.types & (1 << midi.T_TRANSPORT):
        resets |= ON_START
    if route.types & (1 << midi.T_COMMON):
        resets |= ON_SONG_POSITION
    slot = len(cp.divide_count)
    cp.divide_count = bytearray(slot + 1)
    cp.dividers[source].append((slot, mask, route.clock_divide, resets))
    cp.divide_on[source] = 1


def tick(routes, count, mask):
    """A clock from an input with divided routes: `mask` plus the outputs of each route
    whose count is at the start of its period; every count moves on by one."""
    for slot, outputs, n, _ in routes:
        c = count[slot]
        if c == 0:
            mask |= outputs
        c += 1
        count[slot] = 0 if c >= n else c
    return mask


def due(routes, count):
    """The outputs the next clock reaches through divided routes (tick() not yet run)."""
    mask = 0
    for slot, outputs, _, _ in routes:
        if count[slot] == 0:
            mask |= outputs
    return mask


def restart(routes, count, why):
    """Start (ON_START) or Song Position (ON_SONG_POSITION) from that input: the routes
    that carried it count from 0 again (their next clock passes)."""
    for slot, _, _, resets in routes:
        if resets & why:
            count[slot] = 0


def clear(count):
    """The preset became active: every count from 0."""
    for slot in range(len(count)):
        count[slot] = 0
