"""The editor's Monitor: the box's live stream (docs/MONITOR.md), or the simulator's.

One feed at a time per editor. From the box: a thread reads its usb_cdc.data port with
pyserial (tools/monitor.py finds and opens it) and decodes it with tools/monitor.Decoder.
With no box ("Try it"): the simulator plays the studio scenario through the edited presets
with a host holding the monitor's channel open, and the page gets what the box streamed,
decoded the same way, paced at the speed it happened. The page polls:

    POST /api/monitor/start  {"source": "box"|"sim", "text", "preset", "seconds", "port"}
    GET  /api/monitor/poll   ?since=N: {"events": [...], "next", "state", "error"}
    POST /api/monitor/stop
"""

from __future__ import annotations

import contextlib
import io
import tempfile
import threading
import time
from pathlib import Path

from editor.document import Problem, check_text
from tools import monitor as decoding

MAX_EVENTS = 20_000  # kept for the page; older ones are dropped (it polls far more often)


def event_json(event: decoding.Event) -> dict:
    if event.kind == "message":
        return {"kind": "message", "t_us": event.t_us, "dir": event.dir, "port": event.port,
                "bytes": list(event.bytes), "type": decoding.type_name(event.bytes),
                "text": decoding.describe(event.bytes)}
    data = event.as_json()
    data["kind"] = event.kind
    return data


class Feed:
    """Events in order, numbered from 0, and a state line for the page."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.events: list[dict] = []
        self.first = 0  # number of events[0]
        self.state = "starting"
        self.error = ""
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None

    def add(self, events: list[dict]) -> None:
        with self.lock:
            self.events.extend(events)
            extra = len(self.events) - MAX_EVENTS
            if extra > 0:
                del self.events[:extra]
                self.first += extra

    def poll(self, since: int) -> dict:
        with self.lock:
            start = max(0, since - self.first)
            events = self.events[start:]
            return {"events": events, "next": self.first + len(self.events),
                    "state": self.state, "error": self.error, "source": self.source}

    def stop(self) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=5)


class BoxFeed(Feed):
    def __init__(self, device: str | None) -> None:
        super().__init__("box")
        try:
            self.device = device or decoding.find_port()
            self.port = decoding.open_port(self.device)
        except decoding.MonitorError as error:
            raise Problem(str(error) + "; with no box, Try it plays the simulator") from None
        self.state = "reading %s" % self.device
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        import serial

        decoder = decoding.Decoder()
        try:
            while not self.stopping.is_set():
                try:
                    data = self.port.read(4096)
                except (serial.SerialException, OSError):
                    self.error = "%s: the box was unplugged" % self.device
                    self.state = "stopped"
                    return
                if data:
                    self.add([event_json(e) for e in decoder.feed(data)])
        finally:
            self.port.close()
        self.state = "stopped"


class SimFeed(Feed):
    """The simulator's box, played back at the speed it happened (`speed` times)."""

    def __init__(self, text: str, preset: int, seconds: float, speed: float = 1.0) -> None:
        super().__init__("sim")
        verdict = check_text(text, "presets.json")
        if not verdict["ok"]:
            raise Problem("the presets have errors; fix them first",
                          details=[str(e.get("text", e)) if isinstance(e, dict) else str(e)
                                   for e in verdict["errors"]])
        if not 1 <= seconds <= 30:
            raise Problem("seconds must be from 1 to 30")
        self.text, self.preset, self.seconds, self.speed = text, preset, seconds, speed
        self.state = "simulating %g s of the studio" % seconds
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _simulate(self) -> list[decoding.Event]:
        from editor.tryit import _LOCK
        from sim import scenario
        from sim.runner import Simulation

        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "presets.json"
            path.write_text(self.text)
            with _LOCK, contextlib.redirect_stdout(io.StringIO()):
                sim = Simulation(presets_path=path, preset=self.preset, monitor=True)
                sim.play("A", scenario.digitakt(self.seconds))
                sim.play("B", scenario.keystep(self.seconds - 0.5))
                sim.run()
        events, _ = decoding.decode(sim.monitor_stream())
        return events

    def _run(self) -> None:
        try:
            events = self._simulate()
        except Exception as error:  # shown on the page, not lost in the server's log
            self.error = "the simulator failed: %s: %s" % (type(error).__name__, error)
            self.state = "stopped"
            return
        self.state = "playing the simulated box"
        start = time.monotonic()
        for event in events:
            due = event.t_us / 1e6 / self.speed
            while not self.stopping.is_set() and time.monotonic() - start < due:
                time.sleep(min(0.05, due - (time.monotonic() - start)))
            if self.stopping.is_set():
                break
            self.add([event_json(event)])
        self.state = "stopped"


_FEED: dict[str, Feed] = {}
_FEED_LOCK = threading.Lock()


def start(body: dict) -> dict:
    source = body.get("source", "sim")
    with _FEED_LOCK:
        old = _FEED.pop("current", None)
        if old is not None:
            old.stop()
        if source == "box":
            feed: Feed = BoxFeed(body.get("port") or None)
        elif source == "sim":
            text = body.get("text")
            if not isinstance(text, str):
                raise Problem('the request needs the presets as "text"')
            preset = body.get("preset", 1)
            seconds = body.get("seconds", 8)
            if not isinstance(preset, int) or isinstance(preset, bool) or not 1 <= preset <= 8:
                raise Problem("preset must be 1..8")
            if not isinstance(seconds, (int, float)) or isinstance(seconds, bool):
                raise Problem("seconds must be a number")
            feed = SimFeed(text, preset, float(seconds), float(body.get("speed", 1.0)))
        else:
            raise Problem("source must be box or sim, not %r" % (source,))
        _FEED["current"] = feed
        return feed.poll(0) | {"events": []}


def poll(since: int) -> dict:
    feed = _FEED.get("current")
    if feed is None:
        return {"events": [], "next": 0, "state": "off", "error": "", "source": None}
    return feed.poll(since)


def stop(_body: dict) -> dict:
    with _FEED_LOCK:
        feed = _FEED.pop("current", None)
    if feed is not None:
        feed.stop()
    return {"state": "off"}
