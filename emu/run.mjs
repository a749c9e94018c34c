// Runs a CircuitPython UF2 for raspberry_pi_pico in rp2040js (npm, pinned in package.json),
// driven over stdin/stdout by emu/pico.py, one JSON object a line each way.
//
//   node emu/run.mjs --uf2 FILE --bootrom FILE [--fs FILE] [--fs-offset BYTES]
//
// --bootrom is the RP2040's 16 KB mask ROM (B1 or later), e.g. dumped from a Pico with
// `picotool save -r 0x0 0x4000 bootrom.bin`; CircuitPython calls its flash and float
// routines. --fs is a CIRCUITPY FAT image put at its flash offset (1 MB on the Pico).
//
// Commands (stdin):
//   {"cmd": "run", "ns": N}            run until emulated time N ns, then report "stopped"
//   {"cmd": "uart", "n": 0, "byte": B} put B in UART n's RX FIFO now (a byte whose stop bit
//                                      just ended on the wire)
//   {"cmd": "cdc", "hex": "..."}       send bytes to the USB serial console
//   {"cmd": "pin", "pin": P, "v": 0|1} drive GPIO P's input (a button to GND is v 0)
//   {"cmd": "watch", "pins": [...]}    report every output change of these GPIOs
//   {"cmd": "quit"}
// Events (stdout): {"ev": "cdc", "ns", "hex"} console output; {"ev": "uart", "n", "ns",
// "byte"} a byte the firmware wrote to UART n's data register; {"ev": "pin", "pin", "ns",
// "v"}; {"ev": "stopped", "ns", "cycles", "wall_ms"}; {"ev": "ready"} after loading.
//
// The PIO: rp2040js 1.4.1 steps its state machines from a setTimeout loop, at no relation
// to emulated time, ignores SMx_CLKDIV, and runs the instruction after one with a delay
// [n] on the very next step. This runner steps each enabled state machine itself, once per
// CLKDIV system clocks of emulated time, and holds it for the delay cycles, so PIO pins
// move in step with the CPU (see emu/README.md for what that still leaves out).

import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { GPIOPinState, Simulator, USBCDC } from 'rp2040js';

// rp2040js 1.4.1 follows the PLL and CLOCKS registers in mcu.clkSys (125 MHz at reset,
// 200 MHz once the firmware sets microcontroller.cpu.frequency); a cycle lasts 1/clkSys.
function nsPerCycle() {
  return 1e9 / mcu.clkSys;
}

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  return process.argv[i + 1];
}

function send(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function hex(bytes) {
  return Buffer.from(bytes).toString('hex');
}

const uf2Path = arg('uf2');
const bootromPath = arg('bootrom');
if (!uf2Path || !bootromPath) {
  process.stderr.write('run.mjs: --uf2 FILE and --bootrom FILE are required\n');
  process.exit(2);
}

const simulator = new Simulator();
const mcu = simulator.rp2040;
mcu.logger = { debug() {}, info() {}, warn() {}, error() {} };

const rom = readFileSync(bootromPath);
if (rom.length !== 16384) {
  process.stderr.write(`run.mjs: ${bootromPath} is ${rom.length} bytes, a bootrom is 16384\n`);
  process.exit(2);
}
mcu.loadBootrom(new Uint32Array(rom.buffer, rom.byteOffset, rom.length / 4));

const uf2 = readFileSync(uf2Path);
for (let off = 0; off + 512 <= uf2.length; off += 512) {
  const block = uf2.subarray(off, off + 512);
  const magic0 = block.readUInt32LE(0);
  const magic1 = block.readUInt32LE(4);
  if (magic0 !== 0x0a324655 || magic1 !== 0x9e5d5157) continue;
  const address = block.readUInt32LE(12);
  const size = block.readUInt32LE(16);
  mcu.flash.set(block.subarray(32, 32 + size), address - 0x10000000);
}
const fsPath = arg('fs');
if (fsPath) {
  const offset = Number(arg('fs-offset', String(1024 * 1024)));
  mcu.flash.set(readFileSync(fsPath), offset);
}

// Console over USB CDC. rp2040js's USBCDC answers every read the device arms on the CDC
// OUT endpoint at once, with nothing if it has nothing to send: the device re-arms, and
// the zero-length transfers come back as ~40,000 USB interrupts a second (12 to 17 % of
// the CPU). A host leaves the read pending until it has data; so does this runner.
const cdc = new USBCDC(mcu.usbCtrl);
// The console is the first CDC data interface. boot.py also enables usb_cdc.data (the
// monitor), a second one after it, and rp2040js 1.4.1's USBCDC keeps the endpoints of the
// last one it reads in the configuration descriptor: it would listen to the monitor's
// channel and never see the console. Once it has read the descriptor, take the first.
function consoleEndpoints(d) {
  const found = { in: -1, out: -1 };
  let data = 0; // CDC data interfaces (2 endpoints, class 10) seen so far
  let inFirst = false; // inside the first of them
  for (let i = 0; i + 1 < d.length && d[i] >= 2; i += d[i]) {
    const [len, type] = [d[i], d[i + 1]];
    if (type === 4 && len === 9) {
      const cdcData = d[i + 4] === 2 && d[i + 5] === 10;
      data += cdcData ? 1 : 0;
      inFirst = cdcData && data === 1;
    }
    if (inFirst && type === 5 && len === 7 && (d[i + 3] & 3) === 2) {
      if (d[i + 2] & 0x80) found.in = d[i + 2] & 0xf;
      else found.out = d[i + 2] & 0xf;
    }
  }
  return found;
}
const cdcWrite = mcu.usbCtrl.onEndpointWrite;
mcu.usbCtrl.onEndpointWrite = (endpoint, buffer) => {
  const before = cdc.inEndpoint;
  cdcWrite(endpoint, buffer);
  if (cdc.inEndpoint !== before && cdc.descriptors.length === cdc.descriptorsSize) {
    const first = consoleEndpoints(cdc.descriptors);
    cdc.inEndpoint = first.in;
    cdc.outEndpoint = first.out;
  }
};
cdc.onSerialData = (value) => send({ ev: 'cdc', ns: mcu.clock.nanos, hex: hex(value) });
const cdcRead = mcu.usbCtrl.onEndpointRead;
let pendingRead = null;
mcu.usbCtrl.onEndpointRead = (endpoint, size) => {
  if (endpoint === cdc.outEndpoint && cdc.txFIFO.empty) {
    pendingRead = [endpoint, size];
    return;
  }
  cdcRead(endpoint, size);
};
function flushCdc() {
  if (pendingRead && !cdc.txFIFO.empty) {
    const [endpoint, size] = pendingRead;
    pendingRead = null;
    cdcRead(endpoint, size);
  }
}

mcu.uart.forEach((uart, n) => {
  uart.onByte = (value) => send({ ev: 'uart', n, ns: mcu.clock.nanos, byte: value });
});

// PIO in emulated time
const machines = [];
for (const pio of mcu.pio) {
  pio.run = () => {}; // no free-running setTimeout loop
  for (const sm of pio.machines) machines.push({ pio, sm, due: 0 });
}
function stepPio(nowNs) {
  for (const m of machines) {
    if (!m.sm.enabled) {
      m.due = nowNs;
      continue;
    }
    const div = Math.max(1, m.sm.clockDivInt + m.sm.clockDivFrac / 256);
    const period = div * nsPerCycle();
    let stepped = false;
    while (m.due <= nowNs) {
      // rp2040js counts an instruction's delay [n] in sm.cycles but runs the next
      // instruction on the next step: the machine's next step is due after them all.
      const before = m.sm.cycles;
      m.sm.step();
      m.due += Math.max(1, m.sm.cycles - before) * period;
      stepped = true;
    }
    if (stepped) m.pio.checkChangedPins();
  }
}

let watched = new Set();
mcu.gpio.forEach((pin, index) => {
  pin.addListener((state) => {
    if (!watched.has(index)) return;
    const v = state === GPIOPinState.High ? 1 : state === GPIOPinState.Low ? 0 : -1;
    send({ ev: 'pin', pin: index, ns: mcu.clock.nanos, v });
  });
});

// Exceptions taken, by number (16 + IRQ for interrupts), reported with "stopped".
const exceptions = {};
const handlerCycles = {}; // cycles spent in each exception handler
{
  const entry = mcu.core.exceptionEntry.bind(mcu.core);
  mcu.core.exceptionEntry = (n) => {
    exceptions[n] = (exceptions[n] || 0) + 1;
    return entry(n);
  };
}

mcu.core.PC = 0x10000000;

function runUntil(targetNs) {
  const start = Date.now();
  const { core, clock } = mcu;
  let nextPio = 0;
  let cycleNs = nsPerCycle();
  let hz = mcu.clkSys;
  while (clock.nanos < targetNs) {
    if (mcu.clkSys !== hz) {
      hz = mcu.clkSys;
      cycleNs = nsPerCycle();
    }
    if (core.waiting) {
      const toAlarm = clock.nanosToNextAlarm;
      const step = Math.min(Math.max(toAlarm, cycleNs), targetNs - clock.nanos, 1000);
      clock.tick(step);
    } else {
      const cycles = core.executeInstruction();
      clock.tick(cycles * cycleNs);
      if (core.IPSR) handlerCycles[core.IPSR] = (handlerCycles[core.IPSR] || 0) + cycles;
    }
    if (clock.nanos >= nextPio) {
      stepPio(clock.nanos);
      nextPio = clock.nanos + 64; // PIO pins settle to 8 system clocks
    }
  }
  send({
    ev: 'stopped', ns: clock.nanos, cycles: core.cycles, wall_ms: Date.now() - start,
    clk_sys: mcu.clkSys, exceptions, handler_cycles: handlerCycles,
  });
}

const rl = createInterface({ input: process.stdin });
send({ ev: 'ready' });
rl.on('line', (line) => {
  if (!line.trim()) return;
  const msg = JSON.parse(line);
  switch (msg.cmd) {
    case 'run':
      runUntil(msg.ns);
      break;
    case 'uart':
      mcu.uart[msg.n].feedByte(msg.byte);
      break;
    case 'cdc':
      for (const b of Buffer.from(msg.hex, 'hex')) cdc.sendSerialByte(b);
      flushCdc();
      break;
    case 'pin':
      mcu.gpio[msg.pin].setInputValue(!!msg.v);
      break;
    case 'watch':
      watched = new Set(msg.pins);
      break;
    case 'quit':
      process.exit(0);
      break;
    default:
      process.stderr.write(`run.mjs: unknown command ${line}\n`);
  }
});
