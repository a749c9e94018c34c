// Switchyard preset editor. The page edits the presets document; the server formats it,
// checks it with the box's own validator, plays it in the simulator and saves it.
"use strict";

const state = {
  meta: null,
  doc: null,
  filename: "presets.json",
  preset: 0,
  route: null, // index of the route in the side panel
  cell: null, // {input, output} last clicked
  verdict: { ok: false, errors: [], warnings: [], text: "" },
  generation: 0, // of the document; a verdict for an older one is dropped
  checking: null, // the validation in flight
  timer: null,
  undo: [],
  saved: "",
};

const ROUTE_KEYS = ["from", "to", "types", "channels", "to_channel", "follow",
  "keys", "transpose", "velocity", "cc_map", "clock_divide"];
const CLK = "CLK"; // the box's own clock: a route's "from" only
const NOTE_NAMES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"];
const PITCHES = { C: 0, D: 2, E: 4, F: 5, G: 7, A: 9, B: 11 };
const CHANNELS = Array.from({ length: 16 }, (_, i) => i + 1);

// ---- small helpers ------------------------------------------------------------------

const $ = (selector, root = document) => root.querySelector(selector);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) {
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }
  return node;
}

// A JSON path as the validator writes it: presets[0].routes[6].to[0], devices["1"].
function pathOf(parts) {
  let path = "";
  for (const part of parts) {
    if (typeof part === "number") path += "[" + part + "]";
    else if (/^[A-Za-z_]\w*$/.test(part)) path += (path ? "." : "") + part;
    else path += '["' + part + '"]';
  }
  return path;
}

class ApiError extends Error {
  constructor(body, status) {
    super(body && body.error ? body.error : "the editor did not answer (" + status + ")");
    this.details = (body && body.details) || [];
    this.status = status;
  }
}

async function api(method, path, body, headers) {
  let response;
  try {
    response = await fetch(path, { method, body, headers });
  } catch (error) {
    throw new ApiError({ error: "the editor is not running (" + error.message + "): start it with make editor" }, 0);
  }
  let data = null;
  try {
    data = await response.json();
  } catch (error) {
    data = null;
  }
  if (!response.ok) throw new ApiError(data, response.status);
  return data;
}

const postJson = (path, value) =>
  api("POST", path, JSON.stringify(value), { "Content-Type": "application/json" });

function showStatus(text, level = "ok", details = []) {
  const box = $("#status");
  box.className = level;
  box.replaceChildren(el("span", { text }));
  if (details.length) box.append(el("ul", {}, details.map((d) => el("li", { text: d }))));
}

const presetList = () => (Array.isArray(state.doc.presets) ? state.doc.presets : (state.doc.presets = []));
const currentPreset = () => presetList()[state.preset] || null;
const routesOf = (preset) => (Array.isArray(preset.routes) ? preset.routes : (preset.routes = []));
const device = (port) => (state.doc.devices && state.doc.devices[port]) || "";
const typeInfo = (name) => state.meta.types.find((t) => t.name === name);

function portLabel(port) {
  if (port === CLK) return "CLK (the box's clock)";
  const name = device(port);
  return name ? port + " " + name : port;
}

// ---- the document -------------------------------------------------------------------

function setDocument(opened) {
  state.doc = opened.doc;
  state.filename = opened.filename || "presets.json";
  state.preset = 0;
  state.route = null;
  state.cell = null;
  state.undo = [];
  state.saved = JSON.stringify(state.doc);
  state.verdict = { ok: opened.ok, errors: opened.errors || [], warnings: opened.warnings || [], text: "" };
  render();
  validateSoon(0);
}

// Every change to the document goes through here: redraw, remember for undo, recheck.
function edited() {
  showStatus(""); // the last action's words are about the document before this change
  state.undo.push(state.saved);
  state.saved = JSON.stringify(state.doc);
  render();
  validateSoon();
}

function undo() {
  if (!state.undo.length) return;
  state.doc = JSON.parse(state.undo.pop());
  state.saved = JSON.stringify(state.doc);
  const count = presetList().length;
  if (state.preset >= count) state.preset = Math.max(0, count - 1);
  state.route = null;
  render();
  validateSoon();
}

function validateSoon(delay = 150) {
  state.generation += 1;
  document.body.dataset.checked = "no";
  clearTimeout(state.timer);
  state.timer = setTimeout(() => validate().catch(() => {}), delay); // the status says why
}

async function validate() {
  clearTimeout(state.timer);
  const generation = state.generation;
  const request = postJson("/api/validate", { doc: state.doc, filename: state.filename });
  state.checking = request;
  let verdict;
  try {
    verdict = await request;
  } catch (error) {
    showStatus("Could not check the presets: " + error.message, "error", error.details);
    throw error;
  }
  if (generation !== state.generation) return null; // edited since: a newer check follows
  state.verdict = verdict;
  document.body.dataset.checked = "yes";
  renderMessages();
  return verdict;
}

// The verdict for the document as it is now (waits for a pending check; throws when the
// editor cannot be reached).
async function freshVerdict() {
  if (document.body.dataset.checked === "yes") return state.verdict;
  for (;;) {
    const verdict = await validate();
    if (verdict) return verdict;
  }
}

// ---- drawing ------------------------------------------------------------------------

function render() {
  $("#filename").textContent = state.filename;
  $("#undo").disabled = state.undo.length === 0;
  renderPresets();
  renderPresetHead();
  renderSends();
  renderMatrix();
  renderRoutes();
  renderPanel();
  renderSettings();
  renderTryPreset();
  renderMessages();
}

function presetName(preset) {
  return typeof preset.name === "string" && preset.name ? preset.name : "(no name)";
}

function renderPresets() {
  const list = $("#presets");
  const presets = presetList();
  list.replaceChildren(
    ...presets.map((preset, i) =>
      el(
        "li",
        {
          class: i === state.preset ? "selected" : "",
          "data-path": "presets[" + i + "]",
          "data-inline": "badge",
          "data-testid": "preset",
          onclick: () => selectPreset(i),
        },
        el("span", { class: "button-label", text: state.meta.buttons[i] || "none" }),
        el("span", { class: "name", text: presetName(preset) }),
        el(
          "span",
          { class: "tools" },
          el("button", { type: "button", title: "Move up", "aria-label": "Move " + presetName(preset) + " up",
            disabled: i === 0, onclick: (e) => movePreset(e, i, -1) }, "▲"),
          el("button", { type: "button", title: "Move down", "aria-label": "Move " + presetName(preset) + " down",
            disabled: i === presets.length - 1, onclick: (e) => movePreset(e, i, 1) }, "▼"),
          el("button", { type: "button", title: "Delete preset", "aria-label": "Delete " + presetName(preset),
            onclick: (e) => deletePreset(e, i) }, "✕"),
        ),
      ),
    ),
  );
}

function renderPresetHead() {
  const preset = currentPreset();
  const name = $("#preset-name");
  name.disabled = !preset;
  name.value = preset ? (typeof preset.name === "string" ? preset.name : "") : "";
  name.dataset.path = "presets[" + state.preset + "].name";
  $("#preset-button").textContent = preset ? state.meta.buttons[state.preset] || "no button" : "";
}

function routesInCell(preset, input, output) {
  const found = [];
  routesOf(preset).forEach((route, k) => {
    if (route.from === input && Array.isArray(route.to) && route.to.includes(output)) found.push(k);
  });
  return found;
}

function channelText(list) {
  return Array.isArray(list) ? list.join(",") : String(list);
}

// Notes as presets.json writes them: 0..127 or a name with C4 = 60 (C-1 = 0, G9 = 127).
function noteName(n) {
  return NOTE_NAMES[n % 12] + (Math.floor(n / 12) - 1);
}

function noteNumber(value) {
  if (typeof value === "number") return Number.isInteger(value) && value >= 0 && value <= 127 ? value : null;
  const m = typeof value === "string" ? value.match(/^([A-Ga-g])([#b]?)(-1|[0-9])$/) : null;
  if (!m) return null;
  const n = 12 * (Number(m[3]) + 1) + PITCHES[m[1].toUpperCase()] + (m[2] === "#" ? 1 : m[2] === "b" ? -1 : 0);
  return n >= 0 && n <= 127 ? n : null;
}

// What a key end shows: its name, whatever the file holds (a number is shown as its name).
function keyText(value) {
  const n = noteNumber(value);
  if (n === null) return value === undefined ? "" : String(value);
  return typeof value === "string" ? value : noteName(n);
}

// The text typed for a key end as the file keeps it: a name (numbers become names).
function keyValue(text) {
  const t = text.trim();
  if (/^\d+$/.test(t) && Number(t) <= 127) return noteName(Number(t));
  return /^-?\d+$/.test(t) ? Number(t) : t;
}

function transformText(route) {
  const parts = [];
  if (Array.isArray(route.keys)) parts.push(keyText(route.keys[0]) + ".." + keyText(route.keys[1]));
  if (route.transpose) parts.push((route.transpose > 0 ? "+" : "") + route.transpose);
  const v = route.velocity;
  if (v && typeof v === "object") {
    parts.push(v.fixed !== undefined ? "vel" + v.fixed : "vel" + v.min + ".." + v.max);
  }
  if (route.cc_map && typeof route.cc_map === "object") {
    parts.push(Object.entries(route.cc_map).map(([a, b]) => "cc" + a + ">" + b).join(","));
  }
  return parts.join(" ");
}

// One route in a matrix cell, in tools/check.py's short codes: "pb+mw follow A:2,3".
function routeLabel(route) {
  let label = "all";
  if (Array.isArray(route.types)) {
    label = route.types.length
      ? route.types.map((t) => (typeInfo(t) ? typeInfo(t).code : t)).join("+")
      : "nothing";
  }
  if (route.channels !== undefined) label += " ch" + channelText(route.channels);
  if (route.to_channel !== undefined) label += " >ch" + route.to_channel;
  if (route.follow && typeof route.follow === "object") {
    label += " follow " + route.follow.input + ":" + channelText(route.follow.channels);
  }
  const changes = transformText(route);
  if (changes) label += " " + changes;
  if (typeof route.clock_divide === "number" && route.clock_divide > 1) label += " /" + route.clock_divide;
  return label;
}

function renderMatrix() {
  const table = $("#matrix");
  const preset = currentPreset();
  if (!preset) {
    table.replaceChildren(el("tr", {}, el("td", { class: "empty-note", text: "No preset: add one." })));
    return;
  }
  const head = el("tr", {}, el("th", { class: "corner", text: "in \\ out" }),
    state.meta.outputs.map((out) =>
      el("th", { scope: "col" }, el("span", { class: "port", text: out }),
        el("span", { class: "device", text: device(out) }))));
  const rows = state.meta.route_inputs.map((input) =>
    el("tr", {}, el("th", { scope: "row" }, el("span", { class: "port", text: input }),
      el("span", { class: "device", text: input === CLK ? "the box's clock" : device(input) })),
    state.meta.outputs.map((output) => {
      const here = routesInCell(preset, input, output);
      const selected = state.cell && state.cell.input === input && state.cell.output === output;
      return el("td", {
        class: [here.length ? "routed" : "", selected ? "selected" : ""].join(" ").trim(),
        "data-testid": "cell-" + input + "-" + output,
        "data-cell": input + ">" + output,
        title: "from " + portLabel(input) + " to " + portLabel(output),
        tabindex: 0,
        onclick: () => clickCell(input, output),
        onkeydown: (e) => {
          if (e.key === "Enter" || e.key === " ") {
            e.preventDefault();
            clickCell(input, output);
          }
        },
      }, here.map((k) => el("div", {
        class: "route-chip" + (k === state.route ? " current" : ""),
        "data-route": k,
        text: routeLabel(routesOf(preset)[k]),
      })));
    })));
  table.replaceChildren(el("thead", {}, head), el("tbody", {}, rows));
}

function renderRoutes() {
  const list = $("#routes");
  const preset = currentPreset();
  if (!preset) {
    list.replaceChildren();
    return;
  }
  list.replaceChildren(...routesOf(preset).map((route, k) => {
    const to = Array.isArray(route.to) ? route.to.join(", ") : String(route.to);
    return el("li", {
      class: k === state.route ? "selected" : "",
      "data-path": "presets[" + state.preset + "].routes[" + k + "]",
      "data-testid": "route",
      onclick: () => selectRoute(k),
    }, el("span", { class: "route-from", text: portLabel(String(route.from)) }), " → ",
    el("span", { class: "route-to", text: to || "(nowhere)" }), ": ", routeLabel(route));
  }));
  if (!routesOf(preset).length) list.append(el("li", { class: "empty-note", text: "No routes yet: click a cell." }));
}

// ---- the side panel: one route ---------------------------------------------------------

function field(label, path, ...controls) {
  return el("div", { class: "field", "data-path": path }, el("div", { class: "field-label", text: label }), controls);
}

function renderPanel() {
  const panel = $("#panel");
  const preset = currentPreset();
  const routes = preset ? routesOf(preset) : [];
  const route = state.route !== null ? routes[state.route] : null;
  if (!route) {
    panel.replaceChildren(el("h2", { text: "Route" }),
      el("p", { class: "hint", text: "Click a cell of the matrix: an empty one adds a route from that input to that output, one with routes opens them here." }));
    return;
  }
  const k = state.route;
  const base = "presets[" + state.preset + "].routes[" + k + "]";
  panel.replaceChildren(
    el("div", { "data-path": base, "data-testid": "route-panel" },
      el("h2", {}, "Route " + (k + 1), el("small", { text: " of " + presetName(preset) })),
      cellSiblings(preset, k),
      fromField(route, base),
      toField(route, base),
      typesField(route, base),
      channelsField(route, base),
      toChannelField(route, base),
      followField(route, base),
      keysField(route, base),
      transposeField(route, base),
      velocityField(route, base),
      ccMapField(route, base),
      clockDivideField(route, base),
      unknownKeys(route, base),
      el("div", { class: "panel-actions" },
        state.cell && Array.isArray(route.to) && route.to.includes(state.cell.output) && route.to.length > 1
          ? el("button", { type: "button", onclick: () => removeOutput(k, state.cell.output) },
            "Remove output " + state.cell.output + " from this route")
          : null,
        el("button", { type: "button", class: "danger", onclick: () => deleteRoute(k) }, "Delete route"))));
}

function cellSiblings(preset, k) {
  if (!state.cell) return null;
  const here = routesInCell(preset, state.cell.input, state.cell.output);
  return el("div", { class: "siblings" },
    el("span", { text: state.cell.input + " → " + state.cell.output + ": " }),
    here.map((i) => el("button", { type: "button", class: i === k ? "current" : "", onclick: () => selectRoute(i) },
      "route " + (i + 1))),
    el("button", { type: "button", onclick: () => addRoute(state.cell.input, state.cell.output) }, "+ another route here"));
}

function fromField(route, base) {
  return field("From input", base + ".from",
    el("select", { "aria-label": "From input", onchange: (e) => { route.from = e.target.value; edited(); } },
      state.meta.route_inputs.map((input) => el("option", { value: input, selected: route.from === input, text: portLabel(input) }))));
}

function toField(route, base) {
  const to = Array.isArray(route.to) ? route.to : [];
  return field("To outputs", base + ".to",
    el("div", { class: "checks" }, state.meta.outputs.map((out) => {
      const index = to.indexOf(out);
      return el("label", { "data-path": index >= 0 ? base + ".to[" + index + "]" : null },
        el("input", { type: "checkbox", checked: index >= 0, "aria-label": "to " + out,
          onchange: (e) => setOutput(route, out, e.target.checked) }),
        portLabel(out));
    })));
}

function setOutput(route, out, on) {
  if (!Array.isArray(route.to)) route.to = [];
  if (on && !route.to.includes(out)) {
    route.to.push(out);
    route.to.sort((a, b) => state.meta.outputs.indexOf(a) - state.meta.outputs.indexOf(b));
  }
  if (!on) route.to = route.to.filter((o) => o !== out);
  edited();
}

function typesField(route, base) {
  const only = route.types !== undefined;
  const names = Array.isArray(route.types) ? route.types : [];
  return field("What passes", base + ".types",
    el("label", {}, el("input", { type: "radio", name: "types-mode", checked: !only, "aria-label": "Everything",
      onchange: () => { delete route.types; edited(); } }), "Everything"),
    el("label", {}, el("input", { type: "radio", name: "types-mode", checked: only, "aria-label": "Only these",
      onchange: () => { route.types = state.meta.types.map((t) => t.name); edited(); } }), "Only these:"),
    only ? el("div", { class: "checks types" }, state.meta.types.map((t) =>
      el("label", { title: t.name },
        el("input", { type: "checkbox", checked: names.includes(t.name), "aria-label": t.label,
          onchange: (e) => setType(route, t.name, e.target.checked) }),
        t.label, el("code", { text: t.code })))) : null);
}

function setType(route, name, on) {
  const order = state.meta.types.map((t) => t.name);
  const names = new Set(Array.isArray(route.types) ? route.types : []);
  if (on) names.add(name);
  else names.delete(name);
  route.types = [...names].sort((a, b) => order.indexOf(a) - order.indexOf(b));
  edited();
}

// "1, 2-4" -> [1, 2, 3, 4]; anything else is kept as typed, for the checker to name.
function parseChannels(text) {
  const out = [];
  for (const part of text.split(/[\s,]+/).filter(Boolean)) {
    const range = part.match(/^(\d+)-(\d+)$/);
    if (range && +range[2] >= +range[1] && +range[2] - +range[1] < 16) {
      for (let ch = +range[1]; ch <= +range[2]; ch += 1) out.push(ch);
    } else if (/^\d+$/.test(part)) out.push(Number(part));
    else out.push(part);
  }
  return out;
}

function channelsInput(value, label, onchange) {
  return el("input", {
    class: "channels", value: Array.isArray(value) ? value.join(", ") : "", "aria-label": label,
    placeholder: "e.g. 1, 2-4",
    onkeydown: (e) => { if (e.key === "Enter") e.target.blur(); },
    onchange: (e) => onchange(parseChannels(e.target.value)),
  });
}

function channelsField(route, base) {
  const only = route.channels !== undefined;
  return field("Input channels", base + ".channels",
    el("label", {}, el("input", { type: "radio", name: "channels-mode", checked: !only, "aria-label": "All channels",
      onchange: () => { delete route.channels; edited(); } }), "All channels"),
    el("label", {}, el("input", { type: "radio", name: "channels-mode", checked: only, "aria-label": "Only channels",
      onchange: () => { route.channels = [1]; edited(); } }), "Only channels"),
    only ? channelsInput(route.channels, "Channels", (list) => { route.channels = list; edited(); }) : null,
    el("p", { class: "hint", text: "With channels, only channel messages pass: clock and transport need a route without them." }));
}

function toChannelField(route, base) {
  return field("Send on channel", base + ".to_channel",
    el("select", { "aria-label": "Send on channel", onchange: (e) => {
      if (e.target.value === "keep") delete route.to_channel;
      else route.to_channel = Number(e.target.value);
      edited();
    } },
    el("option", { value: "keep", selected: route.to_channel === undefined, text: "the channel it came in on" }),
    CHANNELS.map((ch) => el("option", { value: ch, selected: route.to_channel === ch, text: "channel " + ch }))));
}

function followField(route, base) {
  const on = route.follow !== undefined;
  const follow = on && typeof route.follow === "object" ? route.follow : {};
  return field("Follow", base + ".follow",
    el("label", {}, el("input", { type: "checkbox", checked: on, "aria-label": "Follow",
      onchange: (e) => {
        if (e.target.checked) route.follow = { input: route.from === "A" ? "B" : "A", channels: [1] };
        else delete route.follow;
        edited();
      } }), "Send on the channel of the last note played on another input"),
    on ? el("div", { class: "follow" },
      el("label", { "data-path": base + ".follow.input" }, "input ",
        el("select", { "aria-label": "Follow input", onchange: (e) => { follow.input = e.target.value; edited(); } },
          state.meta.inputs.map((input) => el("option", { value: input, selected: follow.input === input, text: portLabel(input) })))),
      el("label", { "data-path": base + ".follow.channels" }, "among channels ",
        channelsInput(follow.channels, "Follow channels", (list) => { follow.channels = list; edited(); })))
      : null,
    el("p", { class: "hint", text: "For a keyboard's pitch bend and mod wheel: they bend whichever part the sequencer played last." }));
}

function numberOrText(text) {
  const t = text.trim();
  return /^-?\d+$/.test(t) ? Number(t) : t;
}

// A number field's text into obj[key]; empty, or the field's default, takes the key out.
function setNumberKey(obj, key, text, dflt) {
  const value = numberOrText(text);
  if (value === "" || value === dflt) delete obj[key];
  else obj[key] = value;
  edited();
}

function numberInput(value, label, onchange, attrs = {}) {
  return el("input", Object.assign({
    class: "number", value: value === undefined ? "" : String(value), "aria-label": label,
    onkeydown: (e) => { if (e.key === "Enter") e.target.blur(); },
    onchange: (e) => onchange(e.target.value),
  }, attrs));
}

function keysField(route, base) {
  const on = route.keys !== undefined;
  const keys = Array.isArray(route.keys) ? route.keys : [];
  const keyInput = (i, label) => el("label", { "data-path": base + ".keys[" + i + "]" }, label,
    el("input", { class: "note", value: keyText(keys[i]), "aria-label": label === "from " ? "Lowest key" : "Highest key",
      placeholder: i ? "G9" : "C-1",
      onkeydown: (e) => { if (e.key === "Enter") e.target.blur(); },
      onchange: (e) => { keys[i] = keyValue(e.target.value); route.keys = keys; edited(); } }));
  return field("Keys", base + ".keys",
    el("label", {}, el("input", { type: "checkbox", checked: on, "aria-label": "Only some keys",
      onchange: (e) => {
        if (e.target.checked) route.keys = ["C-1", "G9"];
        else delete route.keys;
        edited();
      } }), "Only some keys (a split)"),
    on ? el("div", { class: "keys" }, keyInput(0, "from "), keyInput(1, " to ")) : null,
    el("p", { class: "hint", text: "Note names with C4 = 60 (C-1 is 0, G9 is 127; C#4, Db4) or numbers 0..127, on the key played. Notes and poly pressure only." }));
}

function transposeField(route, base) {
  return field("Transpose", base + ".transpose",
    numberInput(route.transpose, "Transpose",
      (text) => setNumberKey(route, "transpose", text, 0), { placeholder: "0", size: 4 }),
    " semitones",
    el("p", { class: "hint", text: "-48..48 (12 is an octave up). A note pushed past 0..127 is not sent." }));
}

function velocityField(route, base) {
  const v = route.velocity && typeof route.velocity === "object" ? route.velocity : null;
  const mode = !v ? "played" : v.fixed !== undefined ? "fixed" : "scaled";
  const set = (key, text) => { v[key] = numberOrText(text); edited(); };
  return field("Velocity", base + ".velocity",
    el("select", { "aria-label": "Velocity", onchange: (e) => {
      if (e.target.value === "played") delete route.velocity;
      else if (e.target.value === "fixed") route.velocity = { fixed: 100 };
      else route.velocity = { min: 1, max: 127 };
      edited();
    } },
    el("option", { value: "played", selected: mode === "played", text: "as played" }),
    el("option", { value: "fixed", selected: mode === "fixed", text: "fixed" }),
    el("option", { value: "scaled", selected: mode === "scaled", text: "scaled into a range" })),
    mode === "fixed" ? el("label", { "data-path": base + ".velocity.fixed" }, " at ",
      numberInput(v.fixed, "Fixed velocity", (t) => set("fixed", t), { size: 4 })) : null,
    mode === "scaled" ? el("span", {},
      el("label", { "data-path": base + ".velocity.min" }, " from ",
        numberInput(v.min, "Lowest velocity", (t) => set("min", t), { size: 4 })),
      el("label", { "data-path": base + ".velocity.max" }, " to ",
        numberInput(v.max, "Highest velocity", (t) => set("max", t), { size: 4 }))) : null,
    el("p", { class: "hint", text: "Note-on velocities 1..127; a note-off keeps its own." }));
}

function clockDivideField(route, base) {
  const carries = !Array.isArray(route.types) || route.types.includes("clock");
  if (!carries && route.clock_divide === undefined) return null;
  return field("Clock", base + ".clock_divide",
    "every ",
    numberInput(route.clock_divide, "Clock divide",
      (text) => setNumberKey(route, "clock_divide", text, 1), { placeholder: "1", size: 3 }),
    " th clock",
    el("p", { class: "hint", text: "1..96: 2 gives the 1st, 3rd, 5th... clock from Start (half time); 1 every clock." }));
}

function ccMapText(map) {
  return map && typeof map === "object" ? Object.entries(map).map(([a, b]) => a + ">" + b).join(", ") : "";
}

function ccMapField(route, base) {
  return field("CC numbers", base + ".cc_map",
    el("input", { class: "ccmap", value: ccMapText(route.cc_map), "aria-label": "CC map",
      placeholder: "e.g. 74>71, 1>2",
      onkeydown: (e) => { if (e.key === "Enter") e.target.blur(); },
      onchange: (e) => {
        const map = {};
        for (const part of e.target.value.split(/[\s,]+/).filter(Boolean)) {
          const m = part.match(/^([^>]+)>(.+)$/);
          if (m) map[m[1].trim()] = numberOrText(m[2]);
          else map[part] = null;
        }
        if (Object.keys(map).length) route.cc_map = map;
        else delete route.cc_map;
        edited();
      } }),
    el("p", { class: "hint", text: "in>out pairs: 74>71 sends CC 74 as CC 71. Types match the CC as it comes in." }));
}

// ---- a preset's sends --------------------------------------------------------------

function renderSends() {
  const preset = currentPreset();
  const box = $("#sends-box");
  box.hidden = !preset;
  if (!preset) return;
  const base = "presets[" + state.preset + "].send";
  box.dataset.path = base;
  const sends = Array.isArray(preset.send) ? preset.send : [];
  $("#sends-count").textContent = sends.length ? "(" + sends.length + ")" : "";
  $("#sends").replaceChildren(...sends.map((entry, i) => sendRow(preset, entry, base + "[" + i + "]", i)));
}

function sendRow(preset, entry, base, i) {
  const to = Array.isArray(entry.to) ? entry.to : [];
  const setNumber = (key, text) => setNumberKey(entry, key, text);
  const bank = Array.isArray(entry.bank) ? entry.bank : null;
  const ccs = Array.isArray(entry.cc) ? entry.cc : [];
  return el("div", { class: "send", "data-path": base, "data-testid": "send" },
    el("span", { "data-path": base + ".to" }, "to ",
      state.meta.outputs.map((out) => el("label", { class: "out" },
        el("input", { type: "checkbox", checked: to.includes(out), "aria-label": "Send to " + out,
          onchange: (e) => {
            entry.to = e.target.checked ? to.concat([out]) : to.filter((o) => o !== out);
            edited();
          } }), out))),
    el("label", { "data-path": base + ".channel" }, " on channel ",
      numberInput(entry.channel, "Send channel", (t) => setNumber("channel", t), { size: 3 })),
    el("label", { "data-path": base + ".bank" }, " bank ",
      numberInput(bank ? bank[0] : undefined, "Bank MSB", (t) => {
        if (t.trim() === "") delete entry.bank;
        else entry.bank = [numberOrText(t), bank ? bank[1] : 0];
        edited();
      }, { size: 3, placeholder: "MSB" }),
      numberInput(bank ? bank[1] : undefined, "Bank LSB", (t) => {
        if (bank) { bank[1] = numberOrText(t); edited(); }
      }, { size: 3, placeholder: "LSB", disabled: !bank })),
    el("label", { "data-path": base + ".cc" }, " CCs ",
      el("input", { class: "ccs", value: ccs.map((p) => Array.isArray(p) ? p.join("=") : String(p)).join(", "),
        "aria-label": "Send CCs", placeholder: "74=64",
        onkeydown: (e) => { if (e.key === "Enter") e.target.blur(); },
        onchange: (e) => {
          const pairs = e.target.value.split(/[\s,]+/).filter(Boolean).map((p) => {
            const m = p.match(/^([^=]+)=(.+)$/);
            return m ? [numberOrText(m[1]), numberOrText(m[2])] : [p];
          });
          if (pairs.length) entry.cc = pairs;
          else delete entry.cc;
          edited();
        } })),
    el("label", { "data-path": base + ".program" }, " program ",
      numberInput(entry.program, "Send program", (t) => setNumber("program", t), { size: 4 }),
      el("small", { class: "hint", text: typeof entry.program === "number" ? " (the synth's " + (entry.program + 1) + ")" : "" })),
    el("button", { type: "button", class: "danger", "aria-label": "Remove send " + (i + 1),
      onclick: () => {
        preset.send.splice(i, 1);
        if (!preset.send.length) delete preset.send;
        edited();
      } }, "✕"));
}

function addSend() {
  const preset = currentPreset();
  if (!preset) return;
  if (!Array.isArray(preset.send)) preset.send = [];
  preset.send.push({ to: ["1"], channel: 1, program: 0 });
  edited();
}

function unknownKeys(route, base) {
  const extra = Object.keys(route).filter((key) => !ROUTE_KEYS.includes(key));
  if (!extra.length) return null;
  return field("Keys the box does not know", base,
    extra.map((key) => el("div", { "data-path": base + (/^[A-Za-z_]\w*$/.test(key) ? "." + key : '["' + key + '"]') },
      el("code", { text: JSON.stringify(key) + ": " + JSON.stringify(route[key]) }),
      el("button", { type: "button", onclick: () => { delete route[key]; edited(); } }, "remove"))));
}

// ---- devices and control -------------------------------------------------------------

function renderSettings() {
  const ports = ["A", "B", "1", "2", "3", "4", "5", "6", "USB"];
  $("#device-fields").replaceChildren(...ports.map((port) =>
    el("label", { "data-path": pathOf(["devices", port]) }, el("span", { text: port }),
      el("input", { value: device(port), "aria-label": "Device on " + port,
        onkeydown: (e) => { if (e.key === "Enter") e.target.blur(); },
        onchange: (e) => setDevice(port, e.target.value) }))));
  const control = state.doc.control && typeof state.doc.control === "object" ? state.doc.control : null;
  const inputs = state.meta.control_inputs;
  $("#control-fields").replaceChildren(
    el("label", { "data-path": "control.input" }, "from ",
      el("select", { "aria-label": "Program Change input", onchange: (e) => setControl("input", e.target.value) },
        el("option", { value: "off", selected: !control, text: "nowhere (buttons only)" }),
        inputs.map((i) => el("option", { value: i, selected: control && control.input === i,
          text: i === "any" ? "any input" : "input " + portLabel(i) })))),
    control ? el("label", { "data-path": "control.channel" }, " on ",
      el("select", { "aria-label": "Program Change channel", onchange: (e) => setControl("channel", Number(e.target.value)) },
        CHANNELS.map((ch) => el("option", { value: ch, selected: control.channel === ch, text: "channel " + ch })))) : null,
    control ? el("label", { "data-path": "control.switch" }, " switching ",
      el("select", { "aria-label": "Switch", onchange: (e) => setControl("switch", e.target.value) },
        state.meta.switch_modes.map((m) => el("option", { value: m, selected: (control.switch || "now") === m,
          text: m === "bar" ? "at the next bar line" : "at once" })))) : null);
  const tempo = state.doc.tempo && typeof state.doc.tempo === "object" ? state.doc.tempo : null;
  $("#tempo-fields").replaceChildren(
    el("label", { "data-path": "tempo.bpm" }, "tempo ",
      numberInput(tempo ? tempo.bpm : undefined, "Tempo", (text) => {
        const t = text.trim();
        if (t === "") delete state.doc.tempo;
        else {
          const value = /^\d+(\.\d)?$/.test(t) ? Number(t) : t;
          state.doc.tempo = Object.assign(tempo || {}, { bpm: value });
        }
        edited();
      }, { placeholder: "120", size: 5 }), " BPM"),
    tempo ? el("label", { "data-path": "tempo.clock_when_stopped" }, " ",
      el("input", { type: "checkbox", checked: tempo.clock_when_stopped !== false, "aria-label": "Clock when stopped",
        onchange: (e) => {
          if (e.target.checked) delete tempo.clock_when_stopped;
          else tempo.clock_when_stopped = false;
          edited();
        } }), "clock also while stopped") : null,
    el("p", { class: "hint", text: "20.0..300.0. Routes from CLK (a matrix row) send it; start, stop and tap it on the panel (README, At the desk)." }));
}

function setDevice(port, name) {
  if (!state.doc.devices || typeof state.doc.devices !== "object") state.doc.devices = {};
  if (name.trim()) state.doc.devices[port] = name.trim();
  else delete state.doc.devices[port];
  edited();
}

function setControl(key, value) {
  if (key === "input" && value === "off") delete state.doc.control;
  else {
    if (!state.doc.control || typeof state.doc.control !== "object") state.doc.control = { input: "any", channel: 16 };
    state.doc.control[key] = value;
  }
  edited();
}

// ---- the checker's messages ------------------------------------------------------------

function renderMessages() {
  document.querySelectorAll(".inline-msg, .badge").forEach((node) => node.remove());
  document.querySelectorAll(".has-error, .has-warning").forEach((node) => node.classList.remove("has-error", "has-warning"));
  const { errors, warnings } = state.verdict;
  const all = [...errors, ...warnings];
  const summary = $("#checker-summary");
  if (errors.length) {
    summary.className = "error";
    summary.textContent = errors.length + " error" + (errors.length === 1 ? "" : "s") +
      (warnings.length ? ", " + warnings.length + " warning" + (warnings.length === 1 ? "" : "s") : "") +
      ": with this file the box would run its safe default (A and B to every output).";
  } else {
    summary.className = "ok";
    summary.textContent = "No errors" + (warnings.length ? "; " + warnings.length + " warning" + (warnings.length === 1 ? "" : "s") : "") + ": the box runs these presets.";
  }
  $("#messages").replaceChildren(...all.map((m) => el("li", {
    class: m.level, "data-testid": "message",
    title: m.path ? "Show " + m.path : "", onclick: () => goTo(m),
  }, m.text)));
  for (const m of all) placeMessage(m);
}

function mark(node, level) {
  node.classList.add(level === "error" ? "has-error" : "has-warning");
}

// One badge a preset, counting its messages; red once any of them is an error.
function badge(item, m) {
  let count = item.querySelector(".badge");
  if (!count) {
    count = el("span", { class: "badge warning", "data-count": 0 });
    item.querySelector(".name").after(count);
  }
  count.dataset.count = Number(count.dataset.count) + 1;
  count.textContent = count.dataset.count;
  if (m.level === "error") count.classList.replace("warning", "error");
  count.title = (count.title ? count.title + "\n" : "") + m.text;
  mark(item, m.level);
}

function placeMessage(m) {
  const parts = m.parts || [];
  if (parts[0] === "presets" && typeof parts[1] === "number" && parts[1] === state.preset &&
      parts[2] === "routes" && typeof parts[3] === "number") {
    const route = (currentPreset() ? routesOf(currentPreset()) : [])[parts[3]];
    const outs = route && Array.isArray(route.to) ? route.to : [];
    const cells = parts[4] === "to" && typeof parts[5] === "number" ? [outs[parts[5]]] : outs;
    for (const out of cells) {
      const cell = document.querySelector('[data-cell="' + CSS.escape(route.from + ">" + out) + '"]');
      if (cell) mark(cell, m.level);
    }
  }
  // the preset's badge and the route's line in the list, whatever the message points into
  if (parts[0] === "presets" && typeof parts[1] === "number" && parts.length > 2) {
    const item = document.querySelector('#presets [data-path="presets[' + parts[1] + ']"]');
    if (item) badge(item, m);
    if (parts[2] === "routes" && typeof parts[3] === "number" && parts.length > 4) {
      const line = document.querySelector('#routes [data-path="' + CSS.escape(pathOf(parts.slice(0, 4))) + '"]');
      if (line) mark(line, m.level);
    }
  }
  // the text goes to the most precise thing on the page the path stands for
  for (let n = parts.length; n > 0; n -= 1) {
    const path = pathOf(parts.slice(0, n));
    const targets = [...document.querySelectorAll('[data-path="' + CSS.escape(path) + '"]')];
    if (!targets.length) continue;
    for (const target of targets) mark(target, m.level);
    const target = targets.find((t) => t.closest("#panel")) || targets[0];
    if (target.dataset.inline === "badge") {
      if (parts.length <= 2) badge(target, m); // deeper paths were counted above
    } else {
      const note = el("div", { class: "inline-msg " + m.level, "data-testid": "inline-message", text: m.text });
      const grid = target.closest(".checks"); // an output's tick box: the text goes below the grid
      if (grid) grid.after(note);
      else if (["INPUT", "SELECT"].includes(target.tagName)) target.after(note);
      else target.append(note);
    }
    return;
  }
}

function goTo(m) {
  const parts = m.parts || [];
  if (parts[0] === "presets" && typeof parts[1] === "number" && parts[1] < presetList().length) {
    state.preset = parts[1];
    state.route = null;
    state.cell = null;
    if (parts[2] === "routes" && typeof parts[3] === "number") {
      const route = routesOf(currentPreset())[parts[3]];
      if (route) {
        state.route = parts[3];
        const outs = Array.isArray(route.to) ? route.to : [];
        const out = parts[4] === "to" && typeof parts[5] === "number" ? outs[parts[5]] : outs[0];
        if (out !== undefined) state.cell = { input: route.from, output: out };
      }
    }
    render();
  } else if (parts[0] === "devices" || parts[0] === "control") {
    $("#box-settings").open = true;
  }
}

// ---- actions --------------------------------------------------------------------------

function selectPreset(i) {
  state.preset = i;
  state.route = null;
  state.cell = null;
  render();
}

function selectRoute(k) {
  const route = routesOf(currentPreset())[k];
  state.route = k;
  const outs = route && Array.isArray(route.to) ? route.to : [];
  if (!state.cell || route.from !== state.cell.input || !outs.includes(state.cell.output)) {
    state.cell = outs.length ? { input: route.from, output: outs[0] } : null;
  }
  render();
}

function clickCell(input, output) {
  const preset = currentPreset();
  const here = routesInCell(preset, input, output);
  state.cell = { input, output };
  if (!here.length) {
    addRoute(input, output);
    return;
  }
  state.route = here.includes(state.route) ? state.route : here[0];
  render();
}

function addRoute(input, output) {
  const routes = routesOf(currentPreset());
  // the box's clock sends clock and transport only
  routes.push(input === CLK ? { from: input, to: [output], types: ["clock", "transport"] }
    : { from: input, to: [output] });
  state.route = routes.length - 1;
  state.cell = { input, output };
  edited();
}

function removeOutput(k, output) {
  const route = routesOf(currentPreset())[k];
  route.to = route.to.filter((o) => o !== output);
  state.cell = null;
  edited();
}

function deleteRoute(k) {
  routesOf(currentPreset()).splice(k, 1);
  state.route = null;
  state.cell = null;
  edited();
}

function addPreset() {
  const presets = presetList();
  const names = new Set(presets.map((p) => String(p.name).toLowerCase()));
  let n = presets.length + 1;
  while (names.has(("preset " + n).toLowerCase())) n += 1;
  presets.push({ name: "Preset " + n, routes: [] });
  state.preset = presets.length - 1;
  state.route = null;
  state.cell = null;
  edited();
}

function movePreset(event, i, step) {
  event.stopPropagation();
  const presets = presetList();
  const j = i + step;
  if (j < 0 || j >= presets.length) return;
  [presets[i], presets[j]] = [presets[j], presets[i]];
  if (state.preset === i) state.preset = j;
  else if (state.preset === j) state.preset = i;
  edited();
}

function deletePreset(event, i) {
  event.stopPropagation();
  const presets = presetList();
  presets.splice(i, 1);
  if (state.preset >= presets.length) state.preset = Math.max(0, presets.length - 1);
  state.route = null;
  state.cell = null;
  edited();
}

function renamePreset(name) {
  const preset = currentPreset();
  if (!preset) return;
  preset.name = name;
  edited();
}

// ---- files ------------------------------------------------------------------------------

async function openFile(file) {
  if (!file) return;
  const limit = state.meta.max_presets_bytes;
  if (file.size > limit) {
    showStatus(file.name + " is " + file.size.toLocaleString("en") + " bytes; a presets file holds at most " +
      limit.toLocaleString("en") + " (the most the box reads), so nothing was opened", "error");
    return;
  }
  try {
    const opened = await api("POST", "/api/open", await file.arrayBuffer(), {
      "Content-Type": "application/octet-stream", "X-Filename": encodeURIComponent(file.name) });
    setDocument(opened);
    showStatus("Opened " + opened.filename + ".");
  } catch (error) {
    showStatus(error.message, "error", error.details);
  }
}

async function loadStudio() {
  try {
    setDocument(await api("GET", "/api/studio"));
    showStatus("Opened the studio presets (the shipped presets.json).");
  } catch (error) {
    showStatus(error.message, "error", error.details);
  }
}

async function download() {
  let verdict;
  try {
    verdict = await freshVerdict();
  } catch (error) {
    return; // the status says why
  }
  const blob = new Blob([verdict.text], { type: "application/json" });
  const link = el("a", { href: URL.createObjectURL(blob), download: verdict.filename || state.filename });
  document.body.append(link);
  link.click();
  link.remove();
  const count = verdict.errors.length;
  showStatus("Downloaded " + (verdict.filename || state.filename) + (count
    ? " with " + count + " error" + (count === 1 ? "" : "s") + ": the box would run its safe default."
    : "."), count ? "error" : "ok");
}

async function writeDrive() {
  try {
    const verdict = await freshVerdict();
    const saved = await postJson("/api/save", { text: verdict.text, drive: $("#drive").value, name: "presets.json" });
    showStatus("Wrote " + saved.saved + " (" + saved.bytes + " bytes). The box reads it at its next power-up.",
      "ok", saved.warnings);
  } catch (error) {
    showStatus(error.message, "error", error.details);
  }
}

// ---- try it -----------------------------------------------------------------------------

function renderTryPreset() {
  const port = $("#try-port");
  const chosen = port.value || "A";
  port.replaceChildren(...state.meta.inputs.map((i) =>
    el("option", { value: i, selected: i === chosen, text: portLabel(i) })));
  const preset = currentPreset();
  $("#try-preset").textContent = preset ? (state.meta.buttons[state.preset] || "preset " + (state.preset + 1)) + " " + presetName(preset) : "no preset";
}

function readBase64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",", 2)[1] || "");
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

const ms = (us) => (us >= 1000 ? (us / 1000).toFixed(2) + " ms" : us + " µs");
const stats = (s) => (s && s.count ? "p50 " + ms(s.p50) + ", p99 " + ms(s.p99) + ", max " + ms(s.max) : "—");

async function tryIt() {
  const result = $("#try-result");
  const source = $("#try-source").value;
  const body = { preset: state.preset + 1, source, filename: state.filename };
  if (source === "studio") body.seconds = Number($("#try-seconds").value);
  else {
    const file = $("#try-midi").files[0];
    if (!file) {
      result.replaceChildren(el("p", { class: "error", text: "Choose a .mid file to play." }));
      return;
    }
    if (file.size > state.meta.max_midi_bytes) {
      result.replaceChildren(el("p", { class: "error", text: file.name + " is " + file.size.toLocaleString("en") +
        " bytes; try it takes .mid files up to " + state.meta.max_midi_bytes.toLocaleString("en") + " bytes" }));
      return;
    }
    body.midi = await readBase64(file);
    body.midi_name = file.name;
    body.port = $("#try-port").value;
  }
  result.dataset.state = "running";
  $("#try-run").disabled = true;
  result.replaceChildren(el("p", { class: "hint", text: "Playing through the simulated box…" }));
  try {
    body.text = (await freshVerdict()).text;
    showReport(await postJson("/api/try", body));
    result.dataset.state = "done";
  } catch (error) {
    result.replaceChildren(el("p", { class: "error", text: error.message }),
      el("ul", {}, error.details.map((d) => el("li", { text: d }))));
    result.dataset.state = "refused";
  } finally {
    $("#try-run").disabled = false;
  }
}

// mido's message names (what the report counts by) in a musician's words
const MESSAGE_WORDS = {
  note_on: "note on", note_off: "note off", control_change: "CC", pitchwheel: "pitch bend",
  polytouch: "poly aftertouch", aftertouch: "aftertouch", program_change: "program change",
  sysex: "SysEx", songpos: "song position", song_select: "song select", quarter_frame: "MTC",
  tune_request: "tune request", active_sensing: "active sensing",
};

function messagesText(messages) {
  const entries = Object.entries(messages);
  if (!entries.length) return "nothing";
  return entries.map(([kind, n]) => {
    const [type, channel] = kind.split(" ");
    return (MESSAGE_WORDS[type] || type) + (channel ? " " + channel : "") + " " + n;
  }).join(", ");
}

function showReport(report) {
  const s = report.summary;
  const rows = Object.entries(report.outputs).map(([port, info]) =>
    el("tr", { "data-testid": "try-output-" + port, class: info.bytes ? "" : "quiet" },
      el("th", { scope: "row", text: "out " + port }), el("td", { text: info.device }),
      el("td", { class: "num", text: info.bytes }), el("td", { class: "messages", text: messagesText(info.messages) }),
      el("td", { text: stats(info.latency_us) }), el("td", { text: stats(info.clock_jitter_us) })));
  const picture = (name, alt) => el("img", {
    class: "plot", alt, "data-testid": "plot-" + name,
    src: "data:image/svg+xml;charset=utf-8," + encodeURIComponent(report.plots[name]) });
  $("#try-result").replaceChildren(
    el("p", { class: "try-head" }, el("strong", { text: report.preset.number + " " + report.preset.name }),
      ", " + report.source + ": " + (s.end_us / 1e6).toFixed(1) + " s simulated."),
    report.notes.map((n) => el("p", { class: "hint", text: n })),
    el("p", {}, "Latency (last byte in → first byte out) " + stats(report.latency_us) +
      "; clock jitter " + stats(report.clock_jitter_us) + ". Drops " + s.drops + ", RX overflow " +
      s.rx_overflow + ", parse errors " + s.parse_errors + ", CPU busy " + (100 * s.cpu_busy_fraction).toFixed(1) + " %."),
    el("table", { class: "try-table" },
      el("thead", {}, el("tr", {}, ["output", "device", "bytes", "what it received", "latency", "clock jitter"].map((h) => el("th", { text: h })))),
      el("tbody", {}, rows)),
    el("div", { class: "plots" }, picture("latency", "Latency histogram per output"), picture("jitter", "Clock jitter over time per output")));
}

// ---- start --------------------------------------------------------------------------------

function wire() {
  $("#open-file").addEventListener("change", (e) => { openFile(e.target.files[0]); e.target.value = ""; });
  $("#load-studio").addEventListener("click", loadStudio);
  $("#undo").addEventListener("click", undo);
  $("#download").addEventListener("click", download);
  $("#write-drive").addEventListener("click", writeDrive);
  $("#add-preset").addEventListener("click", addPreset);
  $("#add-send").addEventListener("click", addSend);
  $("#preset-name").addEventListener("change", (e) => renamePreset(e.target.value));
  $("#preset-name").addEventListener("keydown", (e) => { if (e.key === "Enter") e.target.blur(); });
  $("#try-run").addEventListener("click", tryIt);
  $("#try-source").addEventListener("change", (e) => {
    $("#try-studio-options").hidden = e.target.value !== "studio";
    $("#try-midi-options").hidden = e.target.value !== "midi";
  });
  $("#legend").textContent = state.meta.types.map((t) => t.code + " " + t.name).join(", ");
}

async function start() {
  try {
    state.meta = await api("GET", "/api/meta");
  } catch (error) {
    showStatus(error.message, "error");
    return;
  }
  state.doc = { version: 1, presets: [] };
  wire();
  try {
    setDocument(await api("GET", "/api/start"));
  } catch (error) {
    showStatus(error.message, "error", error.details);
    await loadStudio();
  }
  api("GET", "/api/drives").then((found) => {
    if (found.drives.length && !$("#drive").value) $("#drive").value = found.drives[0];
  }).catch(() => {});
  document.body.dataset.ready = "yes";
}

document.addEventListener("DOMContentLoaded", start);
