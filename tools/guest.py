"""Guest-side code for running the engine inside MicroPython (tools/mprun.py).

ENGINE_SETUP defines, inside the guest, port stand-ins with the same interface as
switchyard.ports and an `engine(config_text, inputs)` factory returning a real
switchyard.app.App. The stand-ins are as cheap as a Python object can be (attribute
reads, one call per write), so the fuel measured is the engine's own work:
- FeedIn.readinto copies the next chunk of a preloaded stream (one slice assignment);
- FastSM mimics the rp2pio StateMachine used by ports.PioOut on an infinitely fast
  wire (CPU cost only; timing is the simulator's job).
BASELINE_SETUP is the same job done the plain adafruit_midi way: receive() each message
and send() it to every output.
FORWARDER_SETUP is a floor, not a router: the tightest message copier we could write (whole
messages from a well-formed stream with no running status, each copied to every output's
buffer), with no filters, queues, pacing, realtime priority or error handling.
"""

ENGINE_SETUP = r"""
from switchyard import presets
from switchyard.app import App
from switchyard.ports import PioOut

class FeedIn:
    # A preloaded input: hands out `chunk` bytes per read (views made once).
    def __init__(self, data, chunk):
        self.data = data
        view = memoryview(data)
        self.chunks = [view[k:k + chunk] for k in range(0, len(data), chunk)]
        self.lengths = [len(c) for c in self.chunks]
        self.index = 0
        self.pos = 0
    def rewind(self):
        self.index = 0
        self.pos = 0
    def readinto(self, buf):
        k = self.index
        if k >= len(self.chunks):
            return 0
        n = self.lengths[k]
        buf[0:n] = self.chunks[k]
        self.index = k + 1
        self.pos += n
        return n

class FastSM:
    # rp2pio.StateMachine running switchyard.piotx on an infinitely fast wire: every DMA
    # batch is taken at once, every realtime request acknowledged by the next pass. It
    # counts the calls (the benchmark's cost model fit): the engine keeps no counters.
    def __init__(self):
        self.in_waiting = 0
        self.pending = 0
        self.writes = 0
        self.sent = 0
        self.runs = 0
    def readinto(self, buf, end=0):
        self.in_waiting -= end
    def run(self, program):
        self.in_waiting += 1
        self.runs += 1
    def background_write(self, once=None):
        self.writes += 1
        self.sent += len(once)

def ticks_zero():
    return 0

OUTPUT_NAMES = ("1", "2", "3", "4", "5", "6")

def engine(config_text, inputs):
    result = presets.parse(config_text)
    if not result.ok:
        raise ValueError(result.errors[0])
    outputs = [(name, PioOut(FastSM()), False) for name in OUTPUT_NAMES]
    outputs.append(("USB", _UsbPort(), True))
    return App(inputs, outputs, result.config, ticks_zero)

class _UsbPort:
    def __init__(self):
        self.sent = 0
    def write(self, view, n):
        self.sent += n
        return n

def run_until_drained(app, feeds):
    # app.loop(None) each pass, as code.py runs it (the generator's send, bound at start-up)
    for f in feeds:
        f.rewind()
    passes = 0
    while True:
        got = app.loop(None)
        passes += 1
        if not got:
            busy = False
            for out in app.router.outputs:
                if out.busy:
                    busy = True
            if not busy:
                done = True
                for f in feeds:
                    if f.pos < len(f.data):
                        done = False
                if done:
                    return passes
"""

BASELINE_SETUP = r"""
import adafruit_midi
# adafruit_midi only parses the message types whose modules were imported
from adafruit_midi.channel_pressure import ChannelPressure
from adafruit_midi.control_change import ControlChange
from adafruit_midi.midi_continue import Continue
from adafruit_midi.note_off import NoteOff
from adafruit_midi.note_on import NoteOn
from adafruit_midi.pitch_bend import PitchBend
from adafruit_midi.polyphonic_key_pressure import PolyphonicKeyPressure
from adafruit_midi.program_change import ProgramChange
from adafruit_midi.start import Start
from adafruit_midi.stop import Stop
from adafruit_midi.system_exclusive import SystemExclusive
from adafruit_midi.timing_clock import TimingClock

class BaseIn:
    def __init__(self, data):
        self.data = data
        self.pos = 0
    def read(self, n):
        chunk = self.data[self.pos:self.pos + n]
        self.pos += len(chunk)
        return chunk

class BaseOut:
    def __init__(self):
        self.sent = 0
    def write(self, buf, n=None):
        self.sent += len(buf)

def baseline(data, outputs):
    src_port = BaseIn(data)
    src = adafruit_midi.MIDI(midi_in=src_port, in_channel=None, in_buf_size=64)
    outs = [adafruit_midi.MIDI(midi_out=BaseOut(), out_channel=0) for _ in range(outputs)]
    return src, src_port, outs

def run_baseline(src, src_port, outs):
    src_port.pos = 0
    receive = src.receive
    while True:
        msg = receive()
        if msg is None:
            if src_port.pos >= len(src_port.data):
                return
            continue
        for out in outs:
            out.send(msg)
"""

FORWARDER_SETUP = r"""
from switchyard.midi import STATUS_DATA_LENGTH

def forward(buf, n, outs):
    lengths = STATUS_DATA_LENGTH
    pos = 0
    i = 0
    while i < n:
        b = buf[i]
        if b >= 0xF8:
            for o in outs:
                o[pos] = b
            pos += 1
            i += 1
        elif lengths[b - 0x80] == 2:
            d1 = buf[i + 1]
            d2 = buf[i + 2]
            for o in outs:
                o[pos] = b
                o[pos + 1] = d1
                o[pos + 2] = d2
            pos += 3
            i += 3
        else:
            d1 = buf[i + 1]
            for o in outs:
                o[pos] = b
                o[pos + 1] = d1
            pos += 2
            i += 2
    return pos
"""
