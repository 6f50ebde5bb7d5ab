// Tally live view: everything it shows comes from what the stations publish on the broker (shared/PRODUCT.md,
// docs/web.md). It connects over MQTT-over-WebSockets to the broker that served this page, reads the retained
// state topics for an instant start, follows the live records, and sends one command: alarm.ack.
/* global mqtt, uPlot */
"use strict";

const STALE_AFTER_S = 120;    // a value older than this is drawn as stale (greyed, "stale" badge)
const CHART_SPAN_S = 3600;    // the last hour
const TICK_MS = 5000;         // re-render ages and staleness

// ---- settings: broker URL, prefix and credentials; the query string wins, then this tab's session (sessionStorage:
// kept across reloads until the tab or browser is closed), then this device's memory (localStorage, only with
// "Remember on this device": the password is never kept there otherwise).
function readJson(store, key) {
  try { return JSON.parse(store.getItem(key) || "{}") || {}; } catch (e) { return {}; }
}
function loadSettings() {
  const q = new URLSearchParams(location.search);
  const saved = readJson(localStorage, "tally.settings");
  const session = readJson(sessionStorage, "tally.session");
  const sameHost = (location.protocol === "https:" ? "wss://" : "ws://") + (location.host || "127.0.0.1:8080") + "/";
  const s = Object.assign({}, saved, session);
  return {
    url: q.get("broker") || s.url || sameHost,
    prefix: (q.get("prefix") || s.prefix || "tally").replace(/\/+$/, ""),
    username: q.get("user") || s.username || "",
    password: s.password || "",
    remember: !!saved.remember,
    anonymous: !!s.anonymous,  // this broker took us without a user name before: no need to ask
  };
}
let settings = loadSettings();
function saveSettings() {
  const keep = { url: settings.url, prefix: settings.prefix, username: settings.username, anonymous: settings.anonymous };
  sessionStorage.setItem("tally.session", JSON.stringify(Object.assign({ password: settings.password }, keep)));
  localStorage.setItem("tally.settings", JSON.stringify(settings.remember ? Object.assign({ password: settings.password, remember: true }, keep) : keep));
}

// ---- the model: one entry per station seen under the prefix -----------------------------------------------------
const stations = new Map();
function station(id) {
  if (!stations.has(id)) {
    stations.set(id, { id, status: null, statusSeen: null, context: null, alarms: new Map(), devices: new Map(),
                       batchLast: null, replies: new Map(),
                       recipeNames: new Map(),  // recipe id -> configured name, from batch records and batch.started
                       batchStarted: new Map(), // batch id -> ms, from batch.started events seen
                       stepsDone: [] });        // step.completed records seen, for the running batch's bands
  }
  return stations.get(id);
}
function device(st, name) {
  if (!st.devices.has(name)) {
    st.devices.set(name, { name, state: null, recent: null, live: [], last: null, quantity: "", unit: "" });
  }
  return st.devices.get(name);
}

// ---- MQTT -------------------------------------------------------------------------------------------------------
let client = null;
let connected = false;
let lastMessageAt = null;
let refused = false;  // the broker refused the login: nothing is retried until the form is sent again
let viewing = null;  // the station id whose page is open, else null
const clientId = "tally-web-" + Math.random().toString(16).slice(2, 10);

// Always: what every card needs (batches/last gives recipe names and the last batch's bands).
function overviewTopics() {
  const p = settings.prefix;
  return [p + "/+/status", p + "/+/context", p + "/+/alarms/+", p + "/+/batches/last"];
}
// On the overview only: every station's live readings (temperatures on the cards). Never at the same time as a
// station's own readings subscription, so no message arrives twice.
function liveTopics(id) {
  const p = settings.prefix;
  return id ? [p + "/" + id + "/readings/+"] : [p + "/+/readings/+"];
}
function stationTopics(id) {
  const b = settings.prefix + "/" + id;
  // The retained summaries first, so the first drawing of a chart already has the last hour.
  return [b + "/devices/+/recent", b + "/devices/+/state", b + "/events", b + "/cmd/reply", b + "/cmd/reply/" + clientId];
}

function connect() {
  if (client) client.end(true);
  connected = false;
  refused = false;
  hideBanner();
  showConnection("Connecting…", "");
  client = mqtt.connect(settings.url, {
    clientId, protocolVersion: 5, clean: true, reconnectPeriod: 2000, connectTimeout: 10000, keepalive: 30,
    username: settings.username || undefined, password: settings.password || undefined,
  });
  client.on("connect", () => {
    connected = true;
    if (!settings.username && !settings.anonymous) { settings.anonymous = true; saveSettings(); }
    hideBanner();
    showConnection("Live", "up");
    client.subscribe(overviewTopics().concat(liveTopics(viewing)), { qos: 1 });
    if (viewing) client.subscribe(stationTopics(viewing), { qos: 1 });
    render();
  });
  client.on("reconnect", () => showConnection("Reconnecting…", "down"));
  client.on("close", () => {
    if (connected) {
      connected = false;
      showBanner("Connection to the broker lost: values shown are as of " + clock(lastMessageAt) +
                 " and are greyed. Reconnecting by itself.");
      render();
    }
    showConnection(refused ? "Not connected" : "Offline", "down");
  });
  client.on("error", (err) => {
    const text = String(err && err.message || err);
    if (/not authori[sz]ed|bad user name or password/i.test(text)) {
      // Retrying the same password every 2 s helps nobody: stop, and ask again.
      refused = true;
      client.end(true);
      settings.password = "";
      settings.anonymous = false;
      saveSettings();
      askLogin("The broker refused this user name or password.");
      return;
    }
    showConnection("Offline", "down");
  });
  client.on("message", onMessage);
}

function onMessage(topic, payload) {
  lastMessageAt = Date.now();
  const p = settings.prefix + "/";
  if (!topic.startsWith(p)) return;
  const rest = topic.slice(p.length).split("/");
  const st = station(rest[0]);
  const text = payload.toString();
  let body = null;
  if (text.length) {
    try { body = JSON.parse(text); } catch (e) { return; }  // not ours to show
  }
  const kind = rest.slice(1);
  if (kind[0] === "status") {
    if (body) { st.status = body; st.statusSeen = Date.now(); }
  } else if (kind[0] === "context") {
    st.context = body;
  } else if (kind[0] === "alarms" && kind.length === 2) {
    if (body) st.alarms.set(kind[1], body); else st.alarms.delete(kind[1]);  // empty retained message: cleared
  } else if (kind[0] === "devices" && kind.length === 3) {
    const d = device(st, kind[1]);
    if (kind[2] === "state") d.state = body;
    if (kind[2] === "recent" && body) {
      d.recent = body;
      if (body.quantity) d.quantity = body.quantity;
      if (body.unit) d.unit = body.unit;
      const upto = Date.parse(body.updated || 0);
      d.live = d.live.filter((pt) => pt[0] * 1000 > upto);  // those are in the buckets now
    }
  } else if (kind[0] === "readings" && kind.length === 2 && body) {
    const d = device(st, kind[1]);
    d.quantity = body.quantity || d.quantity;
    d.unit = body.unit || d.unit;
    d.last = body;
    const t = Date.parse(body.ts) / 1000;
    if (typeof body.value === "number" && isFinite(t)) {
      d.live.push([t, body.value]);
      const from = Date.now() / 1000 - CHART_SPAN_S;
      while (d.live.length && d.live[0][0] < from) d.live.shift();
    }
  } else if (kind[0] === "batches" && kind[1] === "last") {
    st.batchLast = body;
    if (body && body.recipe && body.recipe_name) st.recipeNames.set(body.recipe, body.recipe_name);
  } else if (kind[0] === "events" && body) {
    if (body.event === "batch.started") {
      if (body.recipe && body.recipe_name) st.recipeNames.set(body.recipe, body.recipe_name);
      st.batchStarted.set(body.batch, Date.parse(body.ts));
      st.stepsDone = [];
    } else if (body.event === "step.completed") {
      st.stepsDone.push(body);
    } else {
      return;
    }
  } else if (kind[0] === "cmd" && kind[1] === "reply" && body && body.id && st.replies.has(body.id)) {
    const r = st.replies.get(body.id);
    r.reply = body;
    r.at = Date.now();
  } else {
    return;
  }
  scheduleRender();
}

function acknowledge(stationId, alarmId) {
  if (!client || !connected) return;
  const id = "web-" + Date.now().toString(36) + "-" + Math.random().toString(16).slice(2, 6);
  const st = station(stationId);
  st.replies.set(id, { alarm: alarmId, sent: Date.now(), reply: null });
  const base = settings.prefix + "/" + stationId;
  const cmd = { id, cmd: "alarm.ack", alarm: alarmId, by: settings.username || "web" };
  // An MQTT 5 station answers on our own response topic; a 3.1.1 one on B/cmd/reply: both are subscribed.
  client.publish(base + "/cmd", JSON.stringify(cmd), { qos: 1, properties: { responseTopic: base + "/cmd/reply/" + clientId } },
    (err) => {  // an MQTT 5 broker says so when the ACL refuses the command (a watch-only account)
      if (!err) return;
      st.replies.get(id).reply = { ok: false, error: "the broker refused the command (" + (err.message || err) + ")" };
      st.replies.get(id).at = Date.now();
      scheduleRender();
    });
  render();
}

// ---- helpers ----------------------------------------------------------------------------------------------------
function esc(v) {
  return String(v === undefined || v === null ? "" : v).replace(/[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}
function clock(ms) {
  if (ms === null || ms === undefined || !isFinite(ms)) return "—";
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}
function when(iso) {
  const t = Date.parse(iso);
  if (!isFinite(t)) return "—";
  const d = new Date(t);
  const today = new Date().toDateString() === d.toDateString();
  return today ? clock(t) : d.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}
function age(iso) {
  const t = typeof iso === "number" ? iso : Date.parse(iso);
  if (!isFinite(t)) return "";
  const s = Math.max(0, Math.round((Date.now() - t) / 1000));
  if (s < 60) return s + " s ago";
  if (s < 3600) return Math.round(s / 60) + " min ago";
  return Math.round(s / 3600) + " h ago";
}
function isStale(iso) {
  const t = Date.parse(iso);
  return !connected || !isFinite(t) || Date.now() - t > STALE_AFTER_S * 1000;
}
const UNITS = { degC: "°C", degF: "°F", g: "g", kg: "kg", lb: "lb", oz: "oz" };
function unitText(u) { return UNITS[u] !== undefined ? UNITS[u] : (u || ""); }
// Units as people write them inside free text from the station too ("21 degC below 43 degC" -> "21 °C below 43 °C").
function people(text) { return String(text === undefined || text === null ? "" : text).replace(/\bdeg([CF])\b/g, "°$1"); }
// An alarm's message as tallyd writes it, with the unit added where it leaves one out: "(range 43..49)" and
// "(target 3200 ± 10)" (tallyd's step alarms) become "(range 43–49 °C)" and "(target 3200 ± 10 g)".
function alarmText(message, u) {
  let t = people(message);
  if (u) {
    t = t.replace(/\(range (-?[\d.]+)\.\.(-?[\d.]+)\)/g, "(range $1–$2 " + u + ")")
         .replace(/(± ?-?[\d.]+)\)/g, "$1 " + u + ")");
  }
  return t;
}
function plural(n, one, many) { return num(n, 0) + " " + (n === 1 ? one : (many || one + "s")); }
function withUnit(v, u, digits) { return num(v, digits) + (u && typeof v === "number" && isFinite(v) ? " " + u : ""); }
function duration(s) {
  if (typeof s !== "number" || !isFinite(s)) return "—";
  if (s < 90) return Math.round(s) + " s";
  if (s < 5400) return Math.round(s / 60) + " min";
  return num(s / 3600, 1) + " h";
}
// The unit count: "unit_no" (shared/PRODUCT.md); stations from before that rename sent it as a number in "unit".
function unitNo(c) { return typeof c.unit_no === "number" ? c.unit_no : (typeof c.unit === "number" ? c.unit : undefined); }
function recipeName(st, c) {
  return (c && (c.recipe_name || st.recipeNames.get(c.recipe) || c.recipe)) || "";
}
// The unit a device publishes in, as people write it ("" when the page has not seen one of its readings).
function deviceUnit(st, name) { const d = st.devices.get(name); return d ? unitText(d.unit) : ""; }
// An alarm named for people: the engine's ids are "<step>.range", "<device>.stale", ...; a rule's id is the
// configured name and stays as it is.
const ALARM_KINDS = { range: "out of range", tolerance: "out of tolerance", overrun: "took too long", stale: "no recent reading",
                      fault: "fault", offline: "offline", high: "filling up", disk: "cannot write", corrupt: "corrupt" };
function alarmLabel(id) {
  const m = /^(.+)\.([a-z]+)$/.exec(String(id || ""));
  return m && ALARM_KINDS[m[2]] ? m[1] + " " + ALARM_KINDS[m[2]] : String(id || "");
}
function num(v, digits) {
  if (typeof v !== "number" || !isFinite(v)) return "—";
  return v.toLocaleString([], { maximumFractionDigits: digits === undefined ? 2 : digits });
}
function isWeight(d) { return d.quantity === "mass" || d.quantity === "weight" || ["g", "kg", "lb", "oz"].includes(d.unit); }
function isTemperature(d) { return d.quantity === "temperature" || d.unit === "degC" || d.unit === "degF"; }
function online(st) { return !!(st.status && st.status.online); }
function activeAlarms(st) { return [...st.alarms.values()]; }

// ---- rendering --------------------------------------------------------------------------------------------------
const main = document.getElementById("main");
const charts = new Map();   // "<station>/<device>" -> {plot, el}
let renderQueued = false;
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => { renderQueued = false; render(); });
}

function route() {
  const m = location.hash.match(/^#\/station\/(.+)$/);
  return m ? decodeURIComponent(m[1]) : null;
}
function onRoute() {
  const next = route();
  if (client && connected && next !== viewing) {
    // Readings: every station's on the overview, only this station's on its page (never both: no duplicates).
    client.unsubscribe(liveTopics(viewing).concat(viewing ? stationTopics(viewing) : []));
    client.subscribe(liveTopics(next).concat(next ? stationTopics(next) : []), { qos: 1 });
  }
  viewing = next;
  for (const c of charts.values()) c.plot.destroy();
  charts.clear();
  main.innerHTML = "";
  delete main.dataset.overview;
  render();
  main.focus();
}

function render() {
  document.body.classList.toggle("disconnected", !connected);
  if (viewing) renderStation(station(viewing)); else renderOverview();
}

function contextLine(st) {
  const c = st.context;
  if (!c) return '<span class="muted">no context yet</span>';
  if (c.mode === "discrete") {
    if (!c.work_order) return "No work order";
    const good = c.good !== undefined ? c.good : unitNo(c);
    return "Work order <b>" + esc(c.work_order) + "</b> · " + esc(num(good, 0)) + (c.target ? " / " + esc(num(c.target, 0)) : "") + " good";
  }
  if (!c.batch) return "No batch running";
  return "Batch <b>" + esc(c.batch) + "</b> · " + esc(recipeName(st, c)) + "<br>Step " + esc(c.step_no) +
         (c.steps ? " of " + esc(c.steps) : "") + ": <b>" + esc(c.step) + "</b>";
}

// The current step's range or target, with the device's unit: "43–49 °C on kettle".
function targetText(st, t) {
  if (!t) return "";
  const u = deviceUnit(st, t.device);
  if (t.kind === "hold") return num(t.min) + "–" + withUnit(t.max, u) + " on " + t.device + ", hold " + duration(t.hold_s || 0);
  if (t.kind === "weigh") return "target " + num(t.target) + " ± " + withUnit(t.tolerance, u) + " on " + t.device;
  return "";
}

function lastOf(d) {
  return d.last || (d.state && d.state.last_ts ? { ts: d.state.last_ts, value: d.state.last_value } : null);
}
// "46.3 °C" and whether the current step's range holds it.
function liveValue(d, t) {
  const last = lastOf(d);
  const u = unitText(d.unit);
  if (!last) return { text: "—", verdict: "", stale: true };
  const text = typeof last.value === "number" ? withUnit(last.value, u, 1) : (last.fault ? "fault: " + last.fault : "—");
  let verdict = "";
  if (t && t.kind === "hold" && t.device === d.name && typeof last.value === "number") {
    verdict = last.value < t.min ? "below range" : last.value > t.max ? "above range" : "in range";
  }
  return { text, verdict, stale: isStale(last.ts) || (d.state && d.state.online === false) };
}

function stateText(st) {
  if (!st.status) return '<span class="state muted">unknown</span>';
  if (online(st)) return '<span class="state online">Online</span> <span class="muted">since ' + esc(when(st.status.since)) + "</span>";
  return '<span class="state offline">Offline</span>' +
         (st.statusSeen ? ' <span class="muted">seen ' + esc(clock(st.statusSeen)) + "</span>" : "");
}

function renderOverview() {
  document.getElementById("where").textContent = "All stations";
  document.title = "Tally · all stations";
  const list = [...stations.values()].filter((s) => s.status || s.context).sort((a, b) => a.id.localeCompare(b.id));
  let html = "<h1>Stations</h1>";
  if (!list.length) {
    html += '<p class="muted">' + (connected ? "No station has published under “" + esc(settings.prefix) + "” yet."
                                             : "Waiting for the broker…") + "</p>";
  }
  html += '<div class="grid">';
  const values = [];  // live values, written into their spans without rebuilding the cards
  for (const st of list) {
    const n = activeAlarms(st).length;
    const c = st.context || {};
    const t = c.batch && c.targets ? c.targets : null;
    let temps = "";
    for (const d of [...st.devices.values()].filter(isTemperature).sort((a, b) => a.name.localeCompare(b.name))) {
      const v = liveValue(d, t);
      const k = values.length;
      values.push(v);
      const band = t && t.kind === "hold" && t.device === d.name;
      temps += '<div class="temp" data-device="' + esc(d.name) + '"><span class="dev">' + esc(d.name) + '</span> ' +
               '<span class="reading" data-live="' + k + '"></span> <span class="verdict" data-verdict="' + k + '"></span>' +
               (band ? '<div class="muted">' + esc(c.step) + " range " + esc(num(t.min) + "–" + withUnit(t.max, unitText(d.unit))) + "</div>" : "") +
               "</div>";
    }
    if (t && t.kind === "weigh") {
      const d = device(st, t.device);
      const v = liveValue(d, null);
      if (typeof (lastOf(d) || {}).value === "number") v.verdict = Math.abs(lastOf(d).value - t.target) <= t.tolerance ? "within tolerance" : "outside tolerance";
      const k = values.length;
      values.push(v);
      temps += '<div class="temp" data-device="' + esc(d.name) + '"><span class="dev">' + esc(d.name) + '</span> ' +
               '<span class="reading" data-live="' + k + '"></span> <span class="verdict" data-verdict="' + k + '"></span>' +
               '<div class="muted">' + esc(c.step + " " + targetText(st, t).replace(/ on .*$/, "")) + "</div></div>";
    }
    html += '<a class="card station-card' + (connected ? "" : " stale") + '" data-station="' + esc(st.id) +
            '" data-online="' + online(st) + '" href="#/station/' + encodeURIComponent(st.id) + '">' +
            '<div class="name">' + esc(st.id) + "</div>" +
            '<div class="status">' + stateText(st) + "</div>" +
            '<div class="context">' + contextLine(st) + "</div>" + temps +
            '<div class="alarms"><span class="alarm-count ' + (n ? "some" : "none") + '" data-count="' + n + '">' +
            (n ? plural(n, "alarm") : "no alarms") + "</span></div></a>";
  }
  html += "</div>";
  // Rebuilt only when something other than a live value changed: a card being tapped must not be swapped under
  // the finger; the values are written into their spans.
  if (main.dataset.overview !== html) {
    main.innerHTML = html;
    main.dataset.overview = html;
  }
  values.forEach((v, k) => {
    const el = main.querySelector('[data-live="' + k + '"]');
    const vd = main.querySelector('[data-verdict="' + k + '"]');
    if (el && el.textContent !== v.text) el.textContent = v.text;
    if (el) el.classList.toggle("stale", v.stale);
    if (vd && vd.textContent !== v.verdict) {
      vd.textContent = v.verdict;
      vd.className = "verdict " + (/^(in range|within)/.test(v.verdict) ? "ok" : v.verdict ? "bad" : "");
    }
  });
}

function renderStation(st) {
  document.getElementById("where").textContent = "Station " + st.id;
  document.title = "Tally · " + st.id;
  const c = st.context || {};
  // The skeleton is built once per page; its sections are refilled, so charts keep their canvases.
  if (!main.querySelector("#station-page")) {
    delete main.dataset.overview;
    main.innerHTML =
      '<div id="station-page"><h1 id="station-title"></h1>' +
      '<div class="grid"><section class="card" id="context" aria-labelledby="h-context"><h2 id="h-context">Now</h2><div></div></section>' +
      '<section class="card" id="alarms" aria-labelledby="h-alarms"><h2 id="h-alarms">Alarms</h2><div></div></section></div>' +
      '<section class="section" id="temperatures" aria-labelledby="h-temp"><h2 id="h-temp">Temperatures</h2><div class="grid charts"></div></section>' +
      '<section class="section" id="weights" aria-labelledby="h-weights"><h2 id="h-weights">Weights</h2><div class="grid"></div></section>' +
      '<section class="section card" id="batch" aria-labelledby="h-batch"><h2 id="h-batch">Last batch</h2><div></div></section></div>';
  }
  main.querySelector("#station-title").innerHTML = esc(st.id) + " " + stateText(st);
  main.querySelector("#station-page").classList.toggle("stale", !connected);

  // Context: batch and step, or work order, count and rate.
  let ctx = '<dl class="kv">';
  const row = (k, v) => { ctx += "<dt>" + esc(k) + "</dt><dd>" + v + "</dd>"; };
  row("Mode", esc(c.mode === "discrete" ? "discrete (work orders)" : c.mode === "process" ? "process (batches)" : "—"));
  if (c.mode === "discrete") {
    row("Work order", esc(c.work_order || "none"));
    if (c.work_order) {
      const good = c.good !== undefined ? c.good : unitNo(c);
      ctx += '</dl><div class="big" id="unit-count" aria-label="Good units">' + esc(num(good, 0)) +
             (c.target ? ' <span class="muted">/ ' + esc(num(c.target, 0)) + "</span>" : "") + ' <span class="muted unit-word">good</span></div><dl class="kv">';
      if (c.rejected) row("Rejected", esc(num(c.rejected, 0)));
      row("Units per hour", unitsPerHour(c));
      if (c.serial || unitNo(c)) row("Last unit", esc((unitNo(c) ? "no. " + unitNo(c) : "") + (c.serial ? (unitNo(c) ? ", serial " : "serial ") + c.serial : "")));
      if (c.downtime_since) row("Downtime since", '<span class="warn">' + esc(when(c.downtime_since)) + "</span>");
    }
  } else {
    row("Batch", esc(c.batch || "none"));
    if (c.batch) {
      row("Recipe", esc(recipeName(st, c)));
      row("Step", esc(c.step_no) + (c.steps ? " of " + esc(c.steps) : "") + ": <b>" + esc(c.step) + "</b>");
      if (c.step_started) row("Step started", esc(when(c.step_started)) + ' <span class="muted">(' + esc(age(c.step_started)) + ")</span>");
      const t = c.targets || {};
      if (t.kind === "hold") row("Range", esc(targetText(st, t)));
      if (t.kind === "weigh") row("Target", esc(targetText(st, t).replace(/^target /, "")));
    }
  }
  if (c.operator) row("Operator", esc(c.operator));
  ctx += "</dl>";
  setHtml("#context > div", ctx);

  renderAlarms(st);
  renderCharts(st, c);
  renderWeights(st, c);
  renderBatch(st);
}

function setHtml(sel, html) {
  const el = main.querySelector(sel);
  if (el && el.innerHTML !== html) el.innerHTML = html;
}

// (good + rejected) / hours since work_order_started, as work_order.ended computes it; shown only once it means
// something: after RATE_AFTER_S, or after RATE_AFTER_UNITS units over at least RATE_MIN_S (a burst of three scans
// in the first seconds is not 500 an hour).
const RATE_AFTER_S = 600, RATE_AFTER_UNITS = 10, RATE_MIN_S = 120;
function unitsPerHour(c) {
  const started = Date.parse(c.work_order_started);
  const total = (c.good || 0) + (c.rejected || 0);
  const s = (Date.now() - started) / 1000;
  if (!isFinite(started) || s < 0) return '<span class="muted">—</span>';
  if (s < RATE_AFTER_S && (total < RATE_AFTER_UNITS || s < RATE_MIN_S)) {
    return '<span class="muted">not yet: ' + esc(plural(total, "unit")) + " in " + esc(duration(s)) +
           " (shown after " + esc(duration(RATE_AFTER_S)) + " or " + RATE_AFTER_UNITS + " units)</span>";
  }
  return esc(num(total / (s / 3600), 1));
}

function renderAlarms(st) {
  const list = activeAlarms(st).sort((a, b) => String(a.since).localeCompare(String(b.since)));
  let html = "";
  if (!list.length) html = '<p class="muted" id="no-alarms">No active alarms.</p>';
  for (const a of list) {
    const acked = a.state === "acknowledged";
    const u = unitText(a.unit) || (a.device ? deviceUnit(st, a.device) : "");
    html += '<div class="alarm ' + (acked ? "acknowledged" : "active") + '" data-alarm="' + esc(a.id) + '">' +
            "<div><b>" + esc(alarmLabel(a.id)) + "</b> · " + esc(a.severity || "") + " · " + (acked ? "acknowledged" : "active") +
            ' <span class="muted">since ' + esc(when(a.since)) + "</span></div>" +
            "<div>" + esc(alarmText(a.message, u)) +
            (typeof a.value === "number" ? " (now " + esc(withUnit(a.value, u)) + (typeof a.limit === "number" ? ", limit " + esc(withUnit(a.limit, u)) : "") + ")" : "") + "</div>";
    if (!acked) {
      html += '<button type="button" class="ack" data-ack="' + esc(a.id) + '" aria-label="Acknowledge alarm ' + esc(alarmLabel(a.id)) + '"' +
              (connected ? "" : " disabled") + ">Acknowledge</button>";
    }
    const reply = lastReply(st, a.id);
    if (reply) html += '<span class="reply" role="status">' + reply + "</span>";
    html += "</div>";
  }
  // A reply to an acknowledgement whose alarm has gone meanwhile still shows (once).
  for (const [, r] of st.replies) {
    if (r.reply && !st.alarms.has(r.alarm) && Date.now() - r.at < 30000) {
      html += '<p class="reply" role="status">' + esc(alarmLabel(r.alarm)) + ": " + replyText(r) + "</p>";
    }
  }
  setHtml("#alarms > div", html);
}

function replyText(r) {
  if (!r.reply) return '<span class="muted">sent, waiting for the station…</span>';
  return r.reply.ok ? '<span class="ok">acknowledged by the station</span>'
                    : '<span class="bad">refused: ' + esc(people(r.reply.error) || "no reason") + "</span>";
}
function lastReply(st, alarmId) {
  let latest = null;
  for (const [, r] of st.replies) if (r.alarm === alarmId && (!latest || r.sent > latest.sent)) latest = r;
  return latest ? replyText(latest) : "";
}

main.addEventListener("click", (e) => {
  const b = e.target.closest("button.ack");
  if (b && viewing) acknowledge(viewing, b.getAttribute("data-ack"));
});

// Chart data: bucket means with their min..max, then the live readings since the summary.
function chartData(d) {
  const xs = [], mean = [], lo = [], hi = [];
  const from = Date.now() / 1000 - CHART_SPAN_S;
  if (d.recent && Array.isArray(d.recent.buckets)) {
    const half = (d.recent.bucket_s || 60) / 2;
    const updated = Date.parse(d.recent.updated) / 1000;
    for (const b of d.recent.buckets) {
      const t = Math.min(Date.parse(b.ts) / 1000 + half, updated);  // the open bucket: not in the future
      if (t < from) continue;
      xs.push(t); mean.push(b.mean); lo.push(b.min); hi.push(b.max);
    }
  }
  const lastX = xs.length ? xs[xs.length - 1] : -Infinity;
  for (const [t, v] of d.live) {
    if (t <= lastX || t < from) continue;
    xs.push(t); mean.push(v); lo.push(null); hi.push(null);
  }
  return [xs, mean, lo, hi];
}

// What the chart spans: the running batch (from its start to now; at least CHART_MIN_S, at most the hour the
// summary holds), else the last hour.
const CHART_MIN_S = 60;
function batchStart(st, c) {
  // B/context has no batch start (yet: "batch_started" is read when a station sends it); the page knows it from a
  // batch.started event it saw, else from the earliest step of this batch it knows of.
  let t = Date.parse(c.batch_started);
  if (!isFinite(t) && st.batchStarted.has(c.batch)) t = st.batchStarted.get(c.batch);
  for (const s of st.stepsDone) if (s.batch === c.batch) t = Math.min(isFinite(t) ? t : Infinity, Date.parse(s.started));
  if (!isFinite(t)) t = Date.parse(c.step_started);
  return t / 1000;
}
function chartWindow(st, c) {
  const now = Date.now() / 1000;
  if (c && c.batch) {
    const start = batchStart(st, c);
    if (isFinite(start)) {
      const from = Math.max(now - CHART_SPAN_S, Math.min(start, now - CHART_MIN_S));
      return { from, to: now, title: "Temperatures, batch " + c.batch + (from > start ? " (its last hour)" : " since " + clock(start * 1000)) };
    }
  }
  return { from: now - CHART_SPAN_S, to: now, title: "Temperatures, last hour" };
}
// Every hold step on this device that the window shows, each over its own time: the running step (to now), the
// running batch's finished steps, and the last batch's (B/batches/last) once it has ended.
function stepBands(st, d, c) {
  const bands = [], seen = new Set();
  const add = (s, from, to, now) => {
    const key = s.batch + "/" + s.no + "/" + from;
    if (seen.has(key) || typeof s.min !== "number" || typeof s.max !== "number" || !isFinite(from)) return;
    seen.add(key);
    bands.push({ step: s.name || s.step, min: s.min, max: s.max, from, to, now: !!now });
  };
  const b = c && c.batch ? null : st.batchLast;  // during a batch, only its own steps
  for (const s of (b && b.steps) || []) {
    if (s.kind === "hold" && s.device === d.name) add(Object.assign({ batch: b.batch }, s), Date.parse(s.started) / 1000, Date.parse(s.ended) / 1000);
  }
  for (const s of st.stepsDone) {
    if (c && s.batch === c.batch && s.kind === "hold" && s.device === d.name) add(s, Date.parse(s.started) / 1000, Date.parse(s.ended) / 1000);
  }
  const t = c && c.batch && c.targets;
  if (t && t.kind === "hold" && t.device === d.name) {
    add({ batch: c.batch, no: c.step_no, name: t.step || c.step, min: t.min, max: t.max }, Date.parse(c.step_started) / 1000, Infinity, true);
  }
  return bands;
}

function renderCharts(st, c) {
  const box = main.querySelector("#temperatures .charts");
  const temps = [...st.devices.values()].filter(isTemperature).sort((a, b) => a.name.localeCompare(b.name));
  main.querySelector("#temperatures").hidden = !temps.length;
  const win = chartWindow(st, c);
  main.querySelector("#h-temp").textContent = win.title;
  for (const d of temps) {
    const key = st.id + "/" + d.name;
    let entry = charts.get(key);
    if (!entry) {
      const fig = document.createElement("figure");
      fig.className = "card chart";
      fig.setAttribute("data-device", d.name);
      fig.setAttribute("role", "img");
      fig.innerHTML = '<figcaption></figcaption><div class="big value"></div><div class="plot"></div><div class="bands muted"></div>';
      box.appendChild(fig);
      entry = { el: fig, bands: [], win, plot: null };
      entry.plot = new uPlot(chartOptions(entry, fig), chartData(d), fig.querySelector(".plot"));
      charts.set(key, entry);
    }
    entry.win = win;
    entry.bands = stepBands(st, d, c).filter((b) => b.to > win.from);
    const current = entry.bands.find((b) => b.now) || null;
    const u = unitText(d.unit);
    entry.unit = u;
    const data = chartData(d);
    entry.plot.setData(data);
    const last = lastOf(d);
    const stale = !last || isStale(last.ts);
    const offline = d.state && d.state.online === false;
    entry.el.classList.toggle("stale", stale || offline);
    entry.el.setAttribute("data-points", String(data[0].length));
    entry.el.setAttribute("data-band", current ? current.min + ".." + current.max : "");
    const bandText = current ? " · " + current.step + " range " + num(current.min) + "–" + withUnit(current.max, u) : "";
    entry.el.querySelector("figcaption").innerHTML = esc(d.name) + esc(bandText) +
      (offline ? '<span class="badge offline-badge">offline</span>' : stale ? '<span class="badge stale-badge">stale</span>' : "");
    const valueText = last && typeof last.value === "number" ? withUnit(last.value, u, 1) : (last && last.fault ? "fault: " + last.fault : "—");
    entry.el.querySelector(".value").innerHTML = esc(valueText) + (last ? ' <span class="muted" style="font-size:1rem">' + esc(age(last.ts)) + "</span>" : "");
    // The legend of the green bands: each step with its range and when.
    const legend = entry.bands.map((b) => '<span class="band-key"></span>' + esc(b.step + " " + num(b.min) + "–" + withUnit(b.max, u) + ", " +
      clock(b.from * 1000) + (b.now ? " – now" : " – " + clock(b.to * 1000)))).join("<br>");
    setHtmlIn(entry.el.querySelector(".bands"), legend);
    entry.el.setAttribute("aria-label", d.name + " temperature, " + win.title.replace(/^Temperatures, /, "") + ", now " + valueText + bandText);
    entry.plot.redraw(false, false);
  }
}
function setHtmlIn(el, html) { if (el.innerHTML !== html) el.innerHTML = html; }

function chartOptions(entry, fig) {
  const width = () => Math.max(260, Math.floor(fig.clientWidth - 32 || 320));
  const opts = {
    width: width(), height: 220,
    legend: { show: false },
    cursor: { show: false },
    scales: {
      x: { time: true, range: () => [entry.win.from, entry.win.to] },
      y: { range: (u, lo, hi) => {
        let a = lo, b = hi;
        for (const band of entry.bands) { a = Math.min(a ?? band.min, band.min); b = Math.max(b ?? band.max, band.max); }
        if (a === null || b === null || !isFinite(a) || !isFinite(b)) return [0, 100];
        const pad = Math.max(1, (b - a) * 0.1);
        return [Math.floor(a - pad), Math.ceil(b + pad)];
      } },
    },
    axes: [
      { stroke: "#b1bac4", grid: { stroke: "#30363d" }, ticks: { stroke: "#30363d" }, font: "14px system-ui", space: 80 },
      { stroke: "#b1bac4", grid: { stroke: "#30363d" }, ticks: { stroke: "#30363d" }, font: "14px system-ui", size: 80,
        values: (u, ticks) => ticks.map((v) => withUnit(v, entry.unit, 1)) },
    ],
    series: [
      {},
      { label: "value", stroke: "#79c0ff", width: 2.5, spanGaps: true, points: { show: false } },
      { label: "bucket min", stroke: "rgba(121,192,255,0.35)", width: 1, points: { show: false } },
      { label: "bucket max", stroke: "rgba(121,192,255,0.35)", width: 1, points: { show: false } },
    ],
    bands: [{ series: [3, 2], fill: "rgba(121,192,255,0.15)" }],
    hooks: {
      // Each hold step's [min, max] over the time it ran, drawn under the series: the owner sees at once whether
      // the temperature stayed in range.
      drawClear: [(u) => {
        const ctx = u.ctx;
        const left = u.bbox.left, right = u.bbox.left + u.bbox.width;
        for (const band of entry.bands) {
          const x1 = Math.max(left, u.valToPos(band.from, "x", true));
          // At least 4 px wide: a step of a few seconds in an hour is still seen (and listed under the chart).
          const x2 = band.now ? right : Math.min(right, Math.max(x1 + 4, u.valToPos(band.to, "x", true)));
          if (!(x2 > x1)) continue;
          const y1 = u.valToPos(band.max, "y", true), y2 = u.valToPos(band.min, "y", true);
          ctx.save();
          ctx.fillStyle = "rgba(86, 211, 100, 0.22)";
          ctx.fillRect(x1, y1, x2 - x1, y2 - y1);
          ctx.strokeStyle = "#56d364";
          ctx.lineWidth = 2;
          ctx.setLineDash([6, 4]);
          for (const y of [y1, y2]) { ctx.beginPath(); ctx.moveTo(x1, y); ctx.lineTo(x2, y); ctx.stroke(); }
          ctx.restore();
        }
      }],
    },
  };
  new ResizeObserver(() => { if (entry.plot) entry.plot.setSize({ width: width(), height: 220 }); }).observe(fig);
  return opts;
}

function renderWeights(st, c) {
  const weights = [...st.devices.values()].filter(isWeight).sort((a, b) => a.name.localeCompare(b.name));
  main.querySelector("#weights").hidden = !weights.length;
  let html = "";
  for (const d of weights) {
    const t = c && c.targets && c.targets.kind === "weigh" && c.targets.device === d.name ? c.targets : null;
    const last = lastOf(d);
    const stale = !last || isStale(last.ts);
    const u = unitText(d.unit);
    let verdict = "";
    if (t && last && typeof last.value === "number") {
      const inTol = Math.abs(last.value - t.target) <= t.tolerance;
      verdict = '<div class="' + (inTol ? "ok" : "bad") + '">' + (inTol ? "✓ within tolerance" : "✗ outside tolerance") + "</div>";
    }
    html += '<div class="card weight' + (stale ? " stale" : "") + '" data-device="' + esc(d.name) + '">' +
            "<div>" + esc(d.name) + (stale ? '<span class="badge stale-badge">stale</span>' : "") +
            (last && last.stable === false ? ' <span class="warn">unstable</span>' : "") + "</div>" +
            '<div class="big">' + (last && typeof last.value === "number" ? esc(num(last.value)) + " " + esc(u) : "—") + "</div>" +
            (t ? '<div class="muted">target ' + esc(num(t.target)) + " ± " + esc(num(t.tolerance)) + " " + esc(u) + "</div>" + verdict : "") +
            (last ? '<div class="muted">' + esc(age(last.ts)) + "</div>" : "") + "</div>";
  }
  setHtml("#weights > .grid", html);
}

// B/batches/last, field by field as tallyd writes it (docs/production.md): a completed batch with steps out of
// spec is "complete, with deviations" (amber), not a failure; an aborted (or otherwise ended) one is red.
function renderBatch(st) {
  const b = st.batchLast;
  if (!b) { setHtml("#batch > div", '<p class="muted">No batch record yet.</p>'); return; }
  const failed = new Set(b.failed_steps || []);
  const complete = b.outcome === "complete";
  const outcome = complete ? (failed.size ? '<span class="warn" id="batch-outcome">complete, with ' + esc(plural(failed.size, "deviation")) + "</span>"
                                          : '<span class="ok" id="batch-outcome">complete</span>')
                           : '<span class="bad" id="batch-outcome">' + esc(b.outcome || "ended") + "</span>";
  let html = '<p><b>' + esc(b.batch) + "</b> · " + esc(b.recipe_name || b.recipe) + " · " + outcome +
             " · ended " + esc(when(b.ended)) + (typeof b.duration_s === "number" ? " after " + esc(duration(b.duration_s)) : "") +
             (b.operator ? " · operator " + esc(b.operator) : "") + "</p>";
  if (b.note) html += '<p class="muted">Note: ' + esc(b.note) + "</p>";
  if (failed.size) {
    html += '<p class="' + (complete ? "warn" : "bad") + '">' + (complete ? "Out of spec: " : "Went wrong: ") + esc([...failed].join(", ")) + "</p>";
  }
  html += '<div class="table-wrap"><table><thead><tr><th>#</th><th>Step</th><th>Result</th><th class="hide-narrow">Duration</th></tr></thead><tbody>';
  for (const s of b.steps || []) {
    // failed_steps is the record's verdict; a record without it falls back on each step's "ok".
    const bad = Array.isArray(b.failed_steps) ? failed.has(s.name) : s.ok === false;
    const u = unitText(s.unit) || deviceUnit(st, s.device);
    let result = "";
    if (s.kind === "weigh") {
      result = (typeof s.amount === "number" ? withUnit(s.amount, u) + (s.amount_stable === false ? " (not stable)" : "") : "no weight") +
               " against " + num(s.target) + " ± " + withUnit(s.tolerance, u);
    } else if (s.kind === "hold") {
      result = (typeof s.min_value === "number" ? num(s.min_value, 1) + "–" + withUnit(s.max_value, u, 1) + " (range " + num(s.min) + "–" + withUnit(s.max, u) + ")"
                                                : "no readings") +
               ", in range " + duration(s.time_in_range_s || 0) + " of " + duration(s.hold_s || 0) +
               (s.excursions ? ", " + plural(s.excursions, "excursion") : "");
    } else {
      result = s.completed === false ? "" : "done";
    }
    if (s.completed === false) result += (result ? " · " : "") + "interrupted";
    if (s.lots && s.lots.length) result += " · lots " + s.lots.join(", ");
    if (s.alarms && s.alarms.length) {
      result += " · " + (s.alarms.length === 1 ? "alarm: " : "alarms: ") + s.alarms.map((a) => {
        const id = a && typeof a === "object" ? a.alarm || a.id : a;
        const v = a && typeof a.value === "number" ? withUnit(a.value, u) : "";
        const l = a && typeof a.limit === "number" ? "limit " + withUnit(a.limit, u) : "";
        return alarmLabel(id) + (v || l ? " (" + [v, l].filter(Boolean).join(", ") + ")" : "");
      }).join("; ");
    }
    const mark = bad ? (complete ? ' <span class="warn">⚠ out of spec</span>' : ' <span class="bad">✗ failed</span>') : "";
    html += '<tr class="' + (bad ? (complete ? "failed deviation" : "failed") : "") + '" data-step="' + esc(s.name) + '"><td>' + esc(s.no) + "</td><td>" + esc(s.name) +
            mark + "</td><td>" + esc(result) + '</td><td class="hide-narrow">' + esc(duration(s.duration_s)) + "</td></tr>";
  }
  html += "</tbody></table></div>";
  setHtml("#batch > div", html);
}

// ---- banner, connection state and settings --------------------------------------------------------------------
function showConnection(text, cls) {
  const el = document.getElementById("connection");
  el.textContent = text;
  el.className = "connection " + cls;
}
function showBanner(text) { const b = document.getElementById("banner"); b.textContent = text; b.hidden = false; }
function hideBanner() { document.getElementById("banner").hidden = true; }

const form = document.getElementById("settings");
// The login form: on a first visit (nothing to log in with yet), when the broker refused the password, and from
// Settings. `why` is shown in it: the refusal, or nothing.
function askLogin(why) {
  for (const k of ["url", "prefix", "username", "password"]) form.elements[k].value = settings[k];
  form.elements.remember.checked = settings.remember;
  const msg = document.getElementById("settings-why");
  msg.textContent = why || "";
  msg.hidden = !why;
  form.hidden = false;
  showConnection(why ? "Not connected" : "Log in", why ? "down" : "");
  (settings.username && !settings.password ? form.elements.password : form.elements.username).focus();
}
document.getElementById("settings-open").addEventListener("click", () => askLogin(""));
document.getElementById("settings-close").addEventListener("click", () => { form.hidden = true; });
form.addEventListener("submit", (e) => {
  e.preventDefault();
  settings = { url: form.elements.url.value.trim() || settings.url, prefix: form.elements.prefix.value.trim().replace(/\/+$/, "") || "tally",
               username: form.elements.username.value, password: form.elements.password.value,
               remember: form.elements.remember.checked, anonymous: false };
  saveSettings();
  form.hidden = true;
  stations.clear();
  onRoute();
  connect();
});

window.addEventListener("hashchange", onRoute);
setInterval(render, TICK_MS);  // ages, staleness and the chart's moving window
window.tallyView = { stations, charts, connected: () => connected };  // for the end-to-end test and curious owners
onRoute();
// Connect at once when there is something to connect with (a password kept for this tab or remembered, or a broker
// that took us without one before); otherwise ask first, rather than be refused.
if (settings.password || settings.anonymous) connect(); else askLogin("");
