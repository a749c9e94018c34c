"""The simulator's hardware doubles behave like the RP2040 port of CircuitPython.

Each test builds a fresh Chip; the doubles are used directly from sim.doubles (the
sys.modules registration is tested separately in test_sim_install.py).
"""

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
if str(REPO / "lib") not in sys.path:
    sys.path.insert(0, str(REPO / "lib"))
if str(REPO) not in sys.path:
    sys.path.append(str(REPO))  # appended: the root code.py must not shadow stdlib `code`

from sim import chip as chip_module  # noqa: E402
from sim.chip import Chip, SimReload, SimReset  # noqa: E402
from sim.clock import VirtualClock  # noqa: E402
from sim.doubles import (  # noqa: E402
    board,
    busio,
    digitalio,
    keypad,
    microcontroller,
    supervisor,
    usb_midi,
    vtime,
)
from sim.doubles import micropython as mp  # noqa: E402


@pytest.fixture
def chip():
    c = Chip()
    chip_module.install(c)
    yield c
    chip_module._current = None


def uart(tx=None, rx=None, **kw):
    kw.setdefault("baudrate", 31250)
    kw.setdefault("timeout", 0)
    return busio.UART(tx, rx, **kw)


# --- virtual clock -------------------------------------------------------------------


def test_clock_fires_in_time_order_and_same_time_in_scheduling_order():
    clock = VirtualClock()
    seen = []
    clock.schedule(300, lambda: seen.append(("c", clock.now_us)))
    clock.schedule(100, lambda: seen.append(("a", clock.now_us)))
    clock.schedule(300, lambda: seen.append(("d", clock.now_us)))
    clock.schedule(100, lambda: seen.append(("b", clock.now_us)))
    gone = clock.schedule(200, lambda: seen.append(("x", clock.now_us)))
    clock.cancel(gone)
    assert clock.next_event_us() == 100
    clock.advance_to(250)
    assert seen == [("a", 100), ("b", 100)]
    assert clock.now_us == 250
    clock.advance(50)
    assert seen[2:] == [("c", 300), ("d", 300)]
    assert clock.next_event_us() is None
    with pytest.raises(ValueError):
        clock.advance_to(299)
    with pytest.raises(ValueError):
        clock.schedule(10, lambda: None)


def test_event_scheduled_by_an_event_inside_the_window_fires_too():
    clock = VirtualClock()
    seen = []
    clock.schedule(10, lambda: clock.schedule(15, lambda: seen.append(clock.now_us)))
    clock.advance_to(20)
    assert seen == [15]


# --- pins ----------------------------------------------------------------------------


def test_board_has_the_pico_pins_and_aliases(chip):
    assert board.board_id == "raspberry_pi_pico"
    assert board.LED is board.GP25
    assert board.A0 is board.GP26 is microcontroller.pin.GPIO26
    assert repr(board.GP25) == "board.LED"
    with pytest.raises(AttributeError):
        board.GP29  # noqa: B018 - the Pico's board module has no GP29
    with pytest.raises(TypeError):
        microcontroller.Pin()


@pytest.mark.parametrize(
    "tx, rx",
    [("GP1", None), (None, "GP0"), ("GP0", "GP5"), ("GP4", "GP1"), ("GP2", None), ("GP6", None)],
)
def test_uart_on_pins_that_cannot_carry_it_raises(chip, tx, rx):
    with pytest.raises(ValueError, match="Invalid pins"):
        uart(tx and chip.pin(tx), rx and chip.pin(rx))
    assert all(chip.is_free(chip.pin(p)) for p in (tx, rx) if p)


@pytest.mark.parametrize(
    "tx, rx", [("GP0", "GP1"), ("GP4", "GP5"), ("GP12", "GP13"), ("GP8", "GP9"), ("GP16", "GP17")]
)
def test_uart_on_legal_pins_works(chip, tx, rx):
    u = uart(chip.pin(tx), chip.pin(rx))
    assert u.baudrate == 31250
    u.deinit()


def test_a_pin_is_claimed_once_across_uart_digitalio_and_pio(chip):
    from switchyard import piotx

    from sim.doubles import rp2pio

    dio = digitalio.DigitalInOut(board.GP1)
    with pytest.raises(ValueError, match="GP1 in use"):
        uart(board.GP0, board.GP1)
    assert chip.is_free(board.GP0)  # the failed UART claimed nothing
    dio.deinit()
    u = uart(board.GP0, board.GP1)
    with pytest.raises(ValueError, match="GP0 in use"):
        digitalio.DigitalInOut(board.GP0)
    with pytest.raises(ValueError, match="GP0 in use"):
        rp2pio.StateMachine(
            piotx.PROGRAM, piotx.FREQUENCY, first_out_pin=board.GP0,
            first_sideset_pin=board.GP0, sideset_enable=True,
        )
    u.deinit()
    sm = rp2pio.StateMachine(
        piotx.PROGRAM, piotx.FREQUENCY, first_out_pin=board.GP0,
        first_sideset_pin=board.GP0, sideset_enable=True,
    )
    with pytest.raises(ValueError, match="GP0 in use"):
        digitalio.DigitalInOut(board.GP0)
    sm.deinit()
    digitalio.DigitalInOut(board.GP0).deinit()


def test_one_uart_per_peripheral_so_a_third_raises(chip):
    uart(board.GP0, board.GP1)
    u1 = uart(board.GP4, board.GP5)
    with pytest.raises(ValueError, match="UART peripheral in use"):
        uart(board.GP12, board.GP13)
    with pytest.raises(ValueError, match="UART peripheral in use"):
        uart(board.GP8)
    u1.deinit()
    uart(board.GP8).deinit()


def test_uart_use_after_deinit_raises(chip):
    u = uart(board.GP0, board.GP1)
    u.deinit()
    u.deinit()  # twice is fine
    with pytest.raises(ValueError, match="deinitialized"):
        u.write(b"\xf8")
    with pytest.raises(ValueError, match="deinitialized"):
        u.in_waiting  # noqa: B018
    assert not hasattr(uart(board.GP0), "out_waiting")


# --- UART transmit ---------------------------------------------------------------------


def test_uart_tx_fifo_and_shift_register_take_33_bytes_then_write_blocks(chip):
    u = uart(board.GP0)
    chip.clock.advance(1000)
    assert u.write(bytes(range(33))) == 33
    assert chip.clock.now_us == 1000  # 1 byte on the wire + 32 in the FIFO: no wait
    assert u.write(b"\x21") == 1
    assert chip.clock.now_us == 1320  # waited one byte time for a FIFO slot
    chip.clock.advance(20_000)
    log = chip.wire_log["GP0"]
    assert [b for _, b in log] == list(range(34))
    starts = [t for t, _ in log]
    assert starts[0] == 1000
    assert all(b - a == 320 for a, b in zip(starts, starts[1:], strict=False))


def test_uart_byte_written_to_a_busy_line_waits_for_the_one_before(chip):
    u = uart(board.GP4)
    u.write(b"\x90\x3c")
    chip.clock.advance(100)
    u.write(b"\x64")
    chip.clock.advance(5000)
    assert chip.wire_log[board.GP4] == [(0, 0x90), (320, 0x3C), (640, 0x64)]


# --- UART receive ----------------------------------------------------------------------


def test_feed_serialises_at_wire_rate_and_bytes_read_back(chip):
    u = uart(board.GP0, board.GP1)
    chip.feed("GP1", 100, b"\x90\x3c\x64")
    chip.feed("GP1", 200, b"\xf8")  # queued behind the note on the same wire
    assert chip.wire_log["GP1"] == [(100, 0x90), (420, 0x3C), (740, 0x64), (1060, 0xF8)]
    chip.clock.advance_to(1059)  # two bytes complete (420 + 320, 740 + 320 = 1060 is not)
    assert u.in_waiting == 2  # in_waiting copies the hardware FIFO into the ring first
    assert u.read(8) == b"\x90\x3c"
    chip.clock.advance_to(1380)
    assert u.in_waiting == 2
    assert u.read(8) == b"\x64\xf8"


def test_read_takes_the_ring_before_the_fifo_so_a_fresh_byte_comes_one_call_late(chip):
    # UART.c reads the ring buffer, then copies the hardware FIFO into it: below the
    # 4-byte interrupt level and before the 32-bit-time receive timeout, a byte that just
    # arrived is not returned by this read() but by the next one.
    u = uart(board.GP0, board.GP1)
    chip.feed("GP1", 0, b"\xf8")
    chip.clock.advance_to(400)
    assert u.read(1) is None
    assert u.read(1) == b"\xf8"
    chip.feed("GP1", 1000, b"\xfa")
    chip.clock.advance_to(1320 + 1024)  # the receive timeout interrupt has run
    assert u.read(1) == b"\xfa"


def test_timeout_zero_read_returns_none_when_empty(chip):
    u = uart(board.GP0, board.GP1)
    assert u.read(4) is None
    assert u.read() is None
    assert u.readinto(bytearray(4)) is None
    assert chip.clock.now_us == 0  # never waited
    assert u.readinto(bytearray(4), 2) is None  # a length is accepted (test_emu_findings.py)


def test_read_with_a_timeout_waits_on_the_virtual_clock(chip):
    u = uart(board.GP0, board.GP1, timeout=0.5)
    assert u.read(1) is None
    assert 500_000 <= chip.clock.now_us <= 501_000
    chip.feed("GP1", chip.clock.now_us + 10_000, b"\xfa")
    t0 = chip.clock.now_us
    assert u.read(1) == b"\xfa"
    assert chip.clock.now_us - t0 == 10_320  # returned when the byte's stop bit ended


def test_rx_overflow_drops_the_newest_bytes_and_counts_them(chip):
    u = uart(board.GP0, board.GP1, receiver_buffer_size=64)
    data = bytes(i % 128 for i in range(100))
    chip.feed("GP1", 0, data)
    chip.clock.advance(100 * 320 + 5000)
    # 64 in the ring buffer + 32 in the hardware FIFO; the last 4 are lost
    assert chip.rx_overflow["GP1"] == 4
    assert u.in_waiting == 64
    got = u.read(200)
    assert got == data[:96]


def test_a_byte_at_the_wrong_baudrate_is_not_received(chip):
    u = busio.UART(None, board.GP1, baudrate=9600, timeout=0)
    chip.feed("GP1", 0, b"\x90")
    chip.clock.advance(2000)
    assert u.read(1) is None
    assert chip.rx_framing_errors["GP1"] == 1


# --- ticks, time, sleep --------------------------------------------------------------------


def test_ticks_ms_starts_near_the_wrap_and_wraps_at_2_29(chip):
    assert supervisor.ticks_ms() == 2**29 - 65536
    chip.clock.advance_to(65_535_000)
    before = supervisor.ticks_ms()
    chip.clock.advance_to(65_537_000)
    after = supervisor.ticks_ms()
    assert before > 2**29 - 10 and after < 10
    diff = ((after - before) & (2**29 - 1))
    assert 1 <= diff <= 3


def test_sleep_advances_virtual_time_and_fires_events_in_order(chip):
    seen = []
    chip.clock.schedule(2_000, lambda: seen.append(("b", vtime.monotonic_ns())))
    chip.clock.schedule(1_000, lambda: seen.append(("a", vtime.monotonic_ns())))
    t0 = vtime.monotonic()
    vtime.sleep(0.005)
    assert chip.clock.now_us == 5_000
    assert [name for name, _ in seen] == ["a", "b"]
    assert abs(seen[0][1] - 1_000_000) < 31_000  # monotonic_ns resolution: 1/32768 s
    assert vtime.monotonic() - t0 == pytest.approx(0.005, abs=0.002)
    with pytest.raises(ValueError):
        vtime.sleep(-1)


def test_monotonic_loses_precision_like_circuitpython_floats(chip):
    chip.clock.advance_to(5 * 3600 * 1_000_000)  # five hours up
    a = vtime.monotonic()
    chip.clock.advance(1_000)
    b = vtime.monotonic()
    assert a == b  # a 1 ms step is below the float's resolution after 5 h


# --- keypad ------------------------------------------------------------------------------


def test_keypad_debounces_a_bouncing_press_into_one_press_and_release(chip):
    keys = keypad.Keys((board.GP10, board.GP11), value_when_pressed=False, pull=True)
    chip.press("GP10", 100_000, 300_000, bounce_us=8_000)
    chip.clock.advance_to(1_000_000)
    events = []
    ev = keypad.Event()
    while keys.events.get_into(ev):
        events.append((ev.key_number, ev.pressed, ev.timestamp))
    assert [(k, p) for k, p, _ in events] == [(0, True), (0, False)]
    # scans are 20 ticks of 1/1024 s apart: the press is seen within one interval
    press_ms = events[0][2] - (2**29 - 65536)
    assert 100 <= press_ms <= 100 + 21
    assert not keys.events.overflowed


def test_keypad_threshold_ignores_a_short_glitch(chip):
    keys = keypad.Keys((board.GP10,), value_when_pressed=False, debounce_threshold=3)
    chip.press("GP10", 100_000, 30_000)  # shorter than 3 scans
    chip.press("GP10", 300_000, 200_000)
    chip.clock.advance_to(1_000_000)
    got = []
    while (ev := keys.events.get()) is not None:
        got.append(ev.pressed)
    assert got == [True, False]


def test_keypad_claims_its_pins_and_reset_reports_held_keys(chip):
    keys = keypad.Keys((board.GP12,), value_when_pressed=False)
    with pytest.raises(ValueError, match="GP12 in use"):
        digitalio.DigitalInOut(board.GP12)
    chip.press("GP12", 1_000, 10_000_000)
    chip.clock.advance_to(100_000)
    keys.events.clear()
    keys.reset()
    ev = keys.events.get()
    assert ev is not None and ev.pressed and ev == keypad.Event(0, True)
    keys.deinit()
    digitalio.DigitalInOut(board.GP12).deinit()


def test_keypad_queue_overflow_drops_new_events(chip):
    keys = keypad.Keys((board.GP10,), value_when_pressed=False, max_events=2)
    for k in range(3):
        chip.press("GP10", 100_000 + k * 200_000, 100_000)
    chip.clock.advance_to(1_000_000)
    assert len(keys.events) == 2
    assert keys.events.overflowed
    keys.events.clear()
    assert not keys.events and not keys.events.overflowed


# --- digitalio ---------------------------------------------------------------------------


def test_digitalio_outputs_are_logged_and_inputs_follow_pulls_and_buttons(chip):
    led = digitalio.DigitalInOut(board.GP16)
    led.switch_to_output(value=True)
    chip.clock.advance(1000)
    led.value = False
    led.value = False  # no change, no entry
    assert chip.pin_history["GP16"] == [(0, True), (1000, False)]
    assert chip.leds() == {"GP16": False}
    button = digitalio.DigitalInOut(board.GP10)
    with pytest.raises(AttributeError, match="Cannot set value"):
        button.value = True
    assert button.value is False  # floating input reads low
    button.switch_to_input(pull=digitalio.Pull.UP)
    assert button.value is True
    chip.press("GP10", 2000, 1000)
    chip.clock.advance_to(2500)
    assert button.value is False
    chip.clock.advance_to(3100)
    assert button.value is True
    with pytest.raises(AttributeError, match="Pull not used"):
        led.pull  # noqa: B018
    button.deinit()
    with pytest.raises(ValueError, match="deinitialized"):
        button.value  # noqa: B018


# --- USB MIDI ----------------------------------------------------------------------------


def test_usb_midi_read_never_blocks_and_returns_empty_bytes(chip):
    port_in, port_out = usb_midi.ports
    assert port_in.read(64) == b""
    assert port_in.readinto(bytearray(8)) == 0
    chip.usb.send(500, b"\x90\x3c\x64")
    assert port_in.read(64) == b""
    chip.clock.advance_to(500)
    buf = bytearray(8)
    assert port_in.readinto(buf, 2) == 2 and buf[:2] == b"\x90\x3c"
    assert port_in.read() == b"\x64"


def test_usb_midi_write_fast_host_all_no_host_zero(chip):
    port_out = usb_midi.ports[1]
    assert port_out.write(b"\x90\x3c\x64") == 3
    assert chip.usb.packets == [(0, b"\x09\x90\x3c\x64")]
    chip.usb.connected = False
    assert port_out.write(b"\x80\x3c\x00") == 0
    assert chip.usb.received == [(0, 0x90), (0, 0x3C), (0, 0x64)]


def test_usb_midi_slow_host_makes_writes_short_without_splitting_packets(chip):
    chip.usb.host_bytes_per_ms = 8  # two packets a millisecond
    port_out = usb_midi.ports[1]
    note = b"\x90\x3c\x64"
    accepted = sum(port_out.write(note) for _ in range(100))
    assert accepted == 48 * 3  # 128-byte FIFO + 64-byte endpoint = 48 packets
    assert port_out.write(note) == 0
    chip.clock.advance(1000)
    assert port_out.write(note * 3) == 6  # the host took 2 packets in that millisecond
    # a short write inside a message: TinyUSB keeps the partial packet for the next write
    chip.usb.host_bytes_per_ms = None
    assert port_out.write(b"\x80\x3c") == 2
    assert port_out.write(b"\x00") == 1
    assert chip.usb.packets[-1][1] == b"\x08\x80\x3c\x00"


def test_usb_midi_names_only_in_boot(chip):
    with pytest.raises(RuntimeError, match="Cannot change USB devices now"):
        usb_midi.set_names(in_jack_name="Switchyard")
    chip.boot_phase = True
    usb_midi.set_names(in_jack_name="Switchyard")
    usb_midi.disable()
    assert chip.usb.names == {"in_jack_name": "Switchyard"}
    assert usb_midi.ports == ()


# --- microcontroller, supervisor, micropython ---------------------------------------------


def test_nvm_write_costs_flash_time_and_blocks_uart_interrupts(chip):
    nvm = microcontroller.nvm
    assert len(nvm) == 4096 and nvm[0] == 0xFF
    nvm[0:3] = b"\x5a\x01\xa4"  # erased bytes: programming one page only
    assert chip.clock.now_us == 400
    assert nvm[0:3] == bytearray(b"\x5a\x01\xa4") and chip.nvm[1] == 1
    u = uart(board.GP0, board.GP1)
    chip.feed("GP1", chip.clock.now_us, bytes(range(100)))
    t0 = chip.clock.now_us
    nvm[1] = 2  # rewrite: sector erase + 16 pages, interrupts off
    assert chip.clock.now_us - t0 == 45_000 + 16 * 400
    assert chip.nvm_writes == 2
    # the UART's 32-byte hardware FIFO overran while its interrupt could not run
    assert chip.rx_overflow["GP1"] > 0
    assert len(u.read(200)) == 32 + (100 - 32 - chip.rx_overflow["GP1"])
    with pytest.raises(ValueError):
        nvm[0] = 256
    with pytest.raises(ValueError):
        nvm[0:2] = b"\x00"


def test_reset_and_reload_end_the_run(chip):
    with pytest.raises(SimReset):
        microcontroller.reset()
    with pytest.raises(SimReload):
        supervisor.reload()
    assert supervisor.runtime.usb_connected is True
    chip.usb.connected = False
    assert supervisor.runtime.usb_connected is False
    assert microcontroller.cpu.frequency == 125_000_000


def test_micropython_double_counts_heap_locks(chip):
    assert mp.const(7) == 7
    mp.heap_lock()
    mp.heap_lock()
    assert mp.heap_unlock() == 1
    assert mp.heap_unlock() == 0
    assert chip.heap_lock_count == 2


def test_pico2_has_twelve_state_machines():
    c = Chip("raspberry_pi_pico2")
    assert c.pio_state_machines == 12 and c.clk_sys_hz == 150_000_000
    with pytest.raises(ValueError, match="unknown board_id"):
        Chip("feather_rp2040")
