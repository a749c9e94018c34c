// The Monitor: live lanes per port of what the box (or the simulated box) sees and sends.
// The server reads the box's monitor port (or runs the simulator) and the page polls
// /api/monitor/poll for the decoded events (editor/monitorfeed.py, docs/MONITOR.md).
"use strict";

const MONITOR_LANES = [
  ["in", "A"], ["in", "B"], ["in", "USB"],
  ["out", "1"], ["out", "2"], ["out", "3"], ["out", "4"], ["out", "5"], ["out", "6"], ["out", "USB"],
];
const LANE_KEEP = 200; // messages kept on screen per lane

const monitor = {
  next: 0, paused: false, timer: null, lanes: {}, counts: {}, lastStats: null,
  windowStart: 0, rates: {},
};

const laneKey = (dir, port) => dir + "-" + port;

function monitorBuild() {
  const lanes = $("#monitor-lanes");
  const ports = $("#monitor-ports");
  for (const [dir, port] of MONITOR_LANES) {
    const key = laneKey(dir, port);
    const rate = el("span", { class: "rate", text: "0/s" });
    const list = el("ol", {});
    const lane = el("div", { class: "lane", id: "lane-" + key, "data-lane": key }, [
      el("h4", {}, [el("span", { text: (dir === "in" ? "in " : "out ") + port }), rate]),
      list,
    ]);
    monitor.lanes[key] = { lane, list, rate };
    lanes.append(lane);
    const box = el("input", { type: "checkbox", "data-lane": key });
    box.checked = true;
    box.addEventListener("change", () => { lane.hidden = !box.checked; });
    ports.append(el("label", {}, [box, (dir === "in" ? " in " : " out ") + port]));
  }
}

function monitorShowState(text, level = "hint") {
  const line = $("#monitor-state");
  line.className = level;
  line.textContent = text;
}

function monitorCounters(stats) {
  const given = Object.entries(stats.outputs || {})
    .filter(([, o]) => o.drops || o.coalesced)
    .map(([name, o]) => "out " + name + " " + o.drops + " given up (" + o.sysex_drops + " SysEx), " + o.coalesced + " coalesced");
  $("#monitor-counters").textContent =
    "preset " + stats.preset + " · parse errors " + stats.parse_errors +
    " · RX overflow " + (stats.rx_overflow === null ? "n/a" : stats.rx_overflow) +
    " · full outputs: " + (given.length ? given.join("; ") : "none") +
    " · monitor records given up " + stats.monitor_given_up;
  $("#monitor-counters").dataset.preset = String(stats.preset);
}

function monitorRates(tUs) {
  const seconds = (tUs - monitor.windowStart) / 1e6;
  if (seconds < 1) return;
  for (const [key, parts] of Object.entries(monitor.lanes)) {
    parts.rate.textContent = Math.round((monitor.counts[key] || 0) / seconds) + "/s";
  }
  monitor.counts = {};
  monitor.windowStart = tUs;
}

function monitorAdd(event) {
  if (event.kind === "stats") {
    monitorCounters(event);
    monitorRates(event.t_us);
    return;
  }
  if (event.kind === "gap") {
    monitorShowState("the box gave up " + event.given_up + " monitor records (the computer read too slowly); some messages are missing", "error");
    return;
  }
  if (event.kind !== "message") return;
  const key = laneKey(event.dir, event.port);
  monitor.counts[key] = (monitor.counts[key] || 0) + 1;
  const parts = monitor.lanes[key];
  if (!parts) return;
  const wanted = $("#monitor-type").value;
  if (wanted && event.type !== wanted) return;
  const item = el("li", { "data-type": event.type, text: (event.t_us / 1e6).toFixed(3) + "  " + event.text });
  parts.list.append(item);
  while (parts.list.children.length > LANE_KEEP) parts.list.firstChild.remove();
  parts.list.scrollTop = parts.list.scrollHeight;
}

async function monitorPoll() {
  monitor.timer = null;
  let reply;
  try {
    reply = await api("GET", "/api/monitor/poll?since=" + monitor.next);
  } catch (error) {
    monitorShowState(error.message, "error");
    return;
  }
  // Paused: events still arrive (counted, so nothing is lost) but the lanes stand still.
  if (!monitor.paused) {
    for (const event of reply.events) monitorAdd(event);
    monitor.next = reply.next;
  }
  $("#monitor").dataset.state = reply.state === "stopped" || reply.state === "off" ? "stopped" : "running";
  if (reply.error) monitorShowState(reply.error, "error");
  else monitorShowState((reply.source === "sim" ? "Simulator: " : "Box: ") + reply.state + (monitor.paused ? " (paused)" : ""));
  if (reply.state !== "off" && reply.state !== "stopped") monitor.timer = setTimeout(monitorPoll, 200);
}

function monitorClear() {
  for (const parts of Object.values(monitor.lanes)) {
    parts.list.replaceChildren();
    parts.rate.textContent = "0/s";
  }
  monitor.counts = {};
  $("#monitor-counters").textContent = "";
}

async function monitorStart(source) {
  if (monitor.timer) clearTimeout(monitor.timer);
  monitorClear();
  monitor.next = 0;
  monitor.windowStart = 0;
  const body = { source };
  if (source === "sim") {
    body.text = (await freshVerdict()).text;
    body.preset = state.preset + 1;
    body.seconds = Number($("#try-seconds").value) || 8;
  }
  monitorShowState(source === "sim" ? "Simulating the studio through these presets…" : "Looking for the box…");
  try {
    await postJson("/api/monitor/start", body);
  } catch (error) {
    monitorShowState(error.message + (error.details.length ? ": " + error.details.join("; ") : ""), "error");
    $("#monitor").dataset.state = "refused";
    return;
  }
  $("#monitor").dataset.state = "running";
  monitorPoll();
}

function monitorSetup() {
  monitorBuild();
  $("#monitor-box").addEventListener("click", () => monitorStart("box"));
  $("#monitor-sim").addEventListener("click", () => monitorStart("sim"));
  $("#monitor-clear").addEventListener("click", monitorClear);
  $("#monitor-pause").addEventListener("click", (e) => {
    monitor.paused = !monitor.paused;
    e.target.setAttribute("aria-pressed", String(monitor.paused));
    e.target.textContent = monitor.paused ? "Resume" : "Pause";
    $("#monitor").dataset.paused = monitor.paused ? "yes" : "no";
  });
  $("#monitor-stop").addEventListener("click", async () => {
    if (monitor.timer) clearTimeout(monitor.timer);
    monitor.timer = null;
    await postJson("/api/monitor/stop", {});
    $("#monitor").dataset.state = "stopped";
    monitorShowState("Stopped.");
  });
}

document.addEventListener("DOMContentLoaded", monitorSetup);
