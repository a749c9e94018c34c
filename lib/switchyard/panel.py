"""Front panel: preset buttons P1..P4, FN, and the LEDs.

Buttons are scanned by keypad.Keys: CircuitPython debounces them in the background and
queues every edge with its time, so a press is never missed while the MIDI loop is busy,
and `events.get_into` fills one preallocated Event (no allocation per poll). The
adafruit_debouncer alternative samples only when the loop calls it, in Python: 128,335
fuel a poll of five buttons against ~8,000 here (docs/ARCHITECTURE.md "Why keypad").

    P1..P4              preset 1..4
    hold FN + P1..P4    preset 5..8
    hold FN >= 1 s      panic (All Notes Off, Sustain off, every channel, every output)
    tap FN              tap tempo for CLK, the box's own clock (2 taps or more)
    hold P1..P4 >= 1 s  start / stop CLK (the press chooses its preset as ever, so hold
                        the lit one to keep the preset)

The CLK gestures use what the panel left free: FN alone released before the panic's 1 s
did nothing, and a preset button acts on its press, so holding it on was free too.

LEDs: the active preset's LED is lit (presets 5..8: its LED blinks slowly); CLK blinks on
each quarter note of the clock that last started (an input's or CLK's) while it runs; ACT
flickers on traffic; a broken presets.json flashes P1..P4 three times every two seconds
while the safe default runs.
"""

from switchyard.midi import const

LONG_PRESS_MS = const(1000)
# keypad.Keys' queue holds 64 events (its default max_events): a poll takes no more, so a
# scanner that kept queueing (a chattering contact) cannot hold the MIDI loop
MAX_KEY_EVENTS = const(64)
_ACT_MS = const(30)
_TICKS_MASK = const(0x1FFFFFFF)

# key numbers, in the order the board file lists BUTTONS
KEY_P1 = const(0)
KEY_FN = const(4)


class Panel:
    """Turns key events into actions and keeps the LEDs in step with the router."""

    def __init__(self, keys, event, leds, error=False):
        self.keys = keys  # keypad.Keys (or None: no buttons)
        self.event = event  # one keypad.Event, refilled by get_into
        self.leds = leds  # dict name -> digitalio.DigitalInOut (P1..P4, ACT, CLK)
        self.preset_leds = tuple(leds[name] for name in ("P1", "P2", "P3", "P4") if name in leds)
        self.act = leds.get("ACT")
        self.clk = leds.get("CLK")
        self.error = error
        self.fn_down = False
        self.fn_since = 0
        self.fn_used = False  # FN was part of a combo or a panic: its release does nothing
        self.fn_pressed_at = 0  # the FN press's own timestamp: a tap's time
        self.p_down = -1  # the preset button held (key number), -1 none
        self.p_since = 0
        self.p_used = True  # its hold already started or stopped CLK
        self.clock = None  # switchyard.clockgen.ClockGen when presets.json uses CLK
        self.panic_requests = 0
        self.last_traffic_ms = 0
        self.act_on = False
        self.shown_preset = -1
        self.led_state = -1  # what the preset LEDs show (-1: unknown, write them)

    def poll(self, now, router):
        """Handle queued key events; returns True if a preset was chosen or panic sent."""
        acted = False
        keys = self.keys
        if keys is not None:
            event = self.event
            taken = 0
            while taken < MAX_KEY_EVENTS and keys.events.get_into(event):
                taken += 1
                if event.key_number == KEY_FN and event.pressed:
                    self.fn_pressed_at = event.timestamp
                if self._key(event.key_number, event.pressed, now, router):
                    acted = True
            if (
                self.fn_down
                and not self.fn_used
                and ((now - self.fn_since) & _TICKS_MASK) >= LONG_PRESS_MS
            ):
                self.fn_used = True
                router.panic()
                self.panic_requests += 1
                acted = True
            if (
                not self.p_used
                and ((now - self.p_since) & _TICKS_MASK) >= LONG_PRESS_MS
            ):
                self.p_used = True
                if self.clock is not None:
                    self.clock.start_stop(now)
                    acted = True
        return acted

    def _key(self, key, pressed, now, router):
        if key == KEY_FN:
            if pressed:
                self.fn_down = True
                self.fn_since = now
                self.fn_used = False
            else:
                self.fn_down = False
                if not self.fn_used and self.clock is not None:
                    self.clock.tap(self.fn_pressed_at, now)  # a tap: FN alone, short
            return False
        if not pressed:
            if key == self.p_down:
                self.p_down = -1
                self.p_used = True
            return False
        self.p_down = key
        self.p_since = now
        self.p_used = False
        index = key - KEY_P1
        if self.fn_down:
            index += 4
            self.fn_used = True
        return router.request_preset(index)

    def show(self, now, router, traffic):
        """Update the LEDs; cheap enough to call every few milliseconds."""
        if traffic:
            self.last_traffic_ms = now
        act = ((now - self.last_traffic_ms) & _TICKS_MASK) < _ACT_MS
        if self.act is not None and act != self.act_on:
            self.act.value = act
            self.act_on = act
        if self.clk is not None and not router.playing:
            self.clk.value = False  # while playing the router lights it on each beat
        leds = self.preset_leds
        self.shown_preset = router.preset_index
        if self.error:
            # three short flashes every two seconds
            phase = now % 2000
            lit = phase < 600 and (phase // 100) % 2 == 0
            for led in leds:
                led.value = lit
            return
        index = router.preset_index
        blink_on = (now // 500) % 2 == 0
        # The LEDs are written only when what they show changes (a preset, or the blink
        # of presets 5..8): four writes every 8 ms were most of this call.
        state = index * 2 + (1 if blink_on and index >= 4 else 0)
        if state == self.led_state:
            return
        self.led_state = state
        for k in range(len(leds)):
            if index == k:
                leds[k].value = True
            elif index == k + 4:
                leds[k].value = blink_on
            else:
                leds[k].value = False
