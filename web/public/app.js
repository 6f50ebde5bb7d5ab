// Tally live view: everything it shows comes from what the stations publish on the broker (shared/PRODUCT.md,
// docs/web.md). It connects over MQTT-over-WebSockets to the broker that served this page, reads the retained
// state topics for an instant start, follows the live records, and sends one command: alarm.ack.
/* global mqtt, uPlot */
"use strict";

const STALE_AFTER_S = 120;    // a value older than this is drawn as stale (greyed, "stale" badge)
const CHART_SPAN_S = 3600;    // the last hour
const TICK_MS = 5000;         // re-render ages and staleness

// ---- settings: broker URL, prefix and credentials; the query string wins, then this device's memory ----------
function loadSettings() {
  const q = new URLSearchParams(location.search);
  let saved = {};
  try { saved = JSON.parse(localStorage.getItem("tally.settings") || "{}"); } catch (e) { saved = {}; }
  const sameHost = (location.protocol === "https:" ? "wss://" : "ws://") + (location.host || "127.0.0.1:8080") + "/";
  return {
    url: q.get("broker") || saved.url || sameHost,
    prefix: (q.get("prefix") || saved.prefix || "tally").replace(/\/+$/, ""),
    username: q.get("user") || saved.username || "",
    password: saved.password || "",
    remember: !!saved.remember,
  };
}
let settings = loadSettings();

// ---- the model: one entry per station seen under the prefix -----------------------------------------------------
const stations = new Map();
function station(id) {
  if (!stations.has(id)) {
    stations.set(id, { id, status: null, statusSeen: null, context: null, alarms: new Map(), devices: new Map(),
                       batchLast: null, replies: new Map() });
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
let viewing = null;  // the station id whose page is open, else null
const clientId = "tally-web-" + Math.random().toString(16).slice(2, 10);

function overviewTopics() {
  const p = settings.prefix;
  return [p + "/+/status", p + "/+/context", p + "/+/alarms/+"];
}
function stationTopics(id) {
  const b = settings.prefix + "/" + id;
  // The retained summaries first, so the first drawing of a chart already has the last hour.
  return [b + "/devices/+/recent", b + "/devices/+/state", b + "/batches/last", b + "/readings/+",
          b + "/cmd/reply", b + "/cmd/reply/" + clientId];
}

function connect() {
  if (client) client.end(true);
  connected = false;
  showConnection("Connecting…", "");
  client = mqtt.connect(settings.url, {
    clientId, protocolVersion: 5, clean: true, reconnectPeriod: 2000, connectTimeout: 10000, keepalive: 30,
    username: settings.username || undefined, password: settings.password || undefined,
  });
  client.on("connect", () => {
    connected = true;
    hideBanner();
    showConnection("Live", "up");
    client.subscribe(overviewTopics(), { qos: 1 });
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
    showConnection("Offline", "down");
  });
  client.on("error", (err) => {
    const text = String(err && err.message || err);
    if (/not authori[sz]ed|bad user name or password/i.test(text)) {
      showBanner("The broker refused the user name or password: open Settings.");
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
  if (client && connected && viewing && viewing !== next) client.unsubscribe(stationTopics(viewing));
  if (client && connected && next && next !== viewing) client.subscribe(stationTopics(next), { qos: 1 });
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
    if (!c.work_order) return "Discrete · no work order";
    const target = c.target ? " / " + esc(c.target) : "";
    return "Work order <b>" + esc(c.work_order) + "</b> · " + esc(c.good !== undefined ? c.good : c.unit) + target + " good";
  }
  if (!c.batch) return "Process · no batch running";
  return "Batch <b>" + esc(c.batch) + "</b> · step " + esc(c.step_no) + (c.steps ? "/" + esc(c.steps) : "") +
         " <b>" + esc(c.step) + "</b>";
}

function stateText(st) {
  if (!st.status) return '<span class="state muted">unknown</span>';
  if (online(st)) return '<span class="state online">Online</span> <span class="muted">since ' + esc(when(st.status.since)) + "</span>";
  return '<span class="state offline">Offline</span>' +
         (st.statusSeen ? ' <span class="muted">seen ' + esc(clock(st.statusSeen)) + "</span>" : "");
}

function renderOverview() {
  document.getElementById("where").textContent = "All stations under " + settings.prefix;
  document.title = "Tally · all stations";
  const list = [...stations.values()].filter((s) => s.status || s.context).sort((a, b) => a.id.localeCompare(b.id));
  let html = "<h1>Stations</h1>";
  if (!list.length) {
    html += '<p class="muted">' + (connected ? "No station has published under “" + esc(settings.prefix) + "” yet."
                                             : "Waiting for the broker…") + "</p>";
  }
  html += '<div class="grid">';
  for (const st of list) {
    const n = activeAlarms(st).length;
    const mode = st.context ? st.context.mode : "";
    html += '<a class="card station-card' + (connected ? "" : " stale") + '" data-station="' + esc(st.id) +
            '" data-online="' + online(st) + '" href="#/station/' + encodeURIComponent(st.id) + '">' +
            '<div class="name">' + esc(st.id) + "</div>" +
            '<div class="status">' + stateText(st) + "</div>" +
            '<div class="mode muted">' + esc(mode) + "</div>" +
            '<div class="context">' + contextLine(st) + "</div>" +
            '<div class="alarms"><span class="alarm-count ' + (n ? "some" : "none") + '" data-count="' + n + '">' +
            (n ? n + (n === 1 ? " alarm" : " alarms") : "no alarms") + "</span></div></a>";
  }
  html += "</div>";
  // Replaced only when something changed: a card being tapped must not be swapped under the finger.
  if (main.dataset.overview !== html) {
    main.innerHTML = html;
    main.dataset.overview = html;
  }
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
      '<section class="section" id="temperatures" aria-labelledby="h-temp"><h2 id="h-temp">Temperatures, last hour</h2><div class="grid charts"></div></section>' +
      '<section class="section" id="weights" aria-labelledby="h-weights"><h2 id="h-weights">Weights</h2><div class="grid"></div></section>' +
      '<section class="section card" id="batch" aria-labelledby="h-batch"><h2 id="h-batch">Last batch</h2><div></div></section></div>';
  }
  main.querySelector("#station-title").innerHTML = esc(st.id) + " " + stateText(st);
  main.querySelector("#station-page").classList.toggle("stale", !connected);

  // Context: batch and step, or work order, count and rate.
  let ctx = '<dl class="kv">';
  const row = (k, v) => { ctx += "<dt>" + esc(k) + "</dt><dd>" + v + "</dd>"; };
  row("Mode", esc(c.mode || "—"));
  if (c.mode === "discrete") {
    row("Work order", esc(c.work_order || "none"));
    if (c.work_order) {
      const good = c.good !== undefined ? c.good : c.unit;
      ctx += '</dl><div class="big" id="unit-count" aria-label="Good units">' + esc(good) +
             (c.target ? ' <span class="muted">/ ' + esc(c.target) + "</span>" : "") + '</div><dl class="kv">';
      if (c.rejected) row("Rejected", esc(c.rejected));
      row("Units per hour", esc(unitsPerHour(c)));
      if (c.serial) row("Last serial", esc(c.serial));
      if (c.downtime_since) row("Downtime since", '<span class="warn">' + esc(when(c.downtime_since)) + "</span>");
    }
  } else {
    row("Batch", esc(c.batch || "none"));
    if (c.batch) {
      row("Recipe", esc(c.recipe));
      row("Step", esc(c.step_no) + (c.steps ? " of " + esc(c.steps) : "") + ": <b>" + esc(c.step) + "</b>");
      if (c.step_started) row("Step started", esc(when(c.step_started)) + ' <span class="muted">(' + esc(age(c.step_started)) + ")</span>");
      const t = c.targets || {};
      if (t.kind === "hold") row("Range", esc(num(t.min)) + "–" + esc(num(t.max)) + " on " + esc(t.device) + ", hold " + esc(Math.round((t.hold_s || 0) / 60)) + " min");
      if (t.kind === "weigh") row("Target", esc(num(t.target)) + " ± " + esc(num(t.tolerance)) + " on " + esc(t.device));
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

function unitsPerHour(c) {
  const started = Date.parse(c.work_order_started);
  const total = (c.good || 0) + (c.rejected || 0);
  const hours = (Date.now() - started) / 3600000;
  if (!isFinite(started) || hours <= 0) return "—";
  return num(total / hours, 1);
}

function renderAlarms(st) {
  const list = activeAlarms(st).sort((a, b) => String(a.since).localeCompare(String(b.since)));
  let html = "";
  if (!list.length) html = '<p class="muted" id="no-alarms">No active alarms.</p>';
  for (const a of list) {
    const acked = a.state === "acknowledged";
    html += '<div class="alarm ' + (acked ? "acknowledged" : "active") + '" data-alarm="' + esc(a.id) + '">' +
            "<div><b>" + esc(a.id) + "</b> · " + esc(a.severity || "") + " · " + (acked ? "acknowledged" : "active") +
            ' <span class="muted">since ' + esc(when(a.since)) + "</span></div>" +
            "<div>" + esc(a.message || "") +
            (a.value !== undefined ? " (" + esc(num(a.value)) + (a.limit !== undefined ? ", limit " + esc(num(a.limit)) : "") + ")" : "") + "</div>";
    if (!acked) {
      html += '<button type="button" class="ack" data-ack="' + esc(a.id) + '" aria-label="Acknowledge alarm ' + esc(a.id) + '"' +
              (connected ? "" : " disabled") + ">Acknowledge</button>";
    }
    const reply = lastReply(st, a.id);
    if (reply) html += '<span class="reply" role="status">' + reply + "</span>";
    html += "</div>";
  }
  // A reply to an acknowledgement whose alarm has gone meanwhile still shows (once).
  for (const [, r] of st.replies) {
    if (r.reply && !st.alarms.has(r.alarm) && Date.now() - r.at < 30000) {
      html += '<p class="reply" role="status">' + esc(r.alarm) + ": " + replyText(r) + "</p>";
    }
  }
  setHtml("#alarms > div", html);
}

function replyText(r) {
  if (!r.reply) return '<span class="muted">sent, waiting for the station…</span>';
  return r.reply.ok ? '<span class="ok">acknowledged by the station</span>'
                    : '<span class="bad">refused: ' + esc(r.reply.error || "no reason") + "</span>";
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

function stepBand(d, c) {
  const t = c && c.targets;
  if (!t || t.kind !== "hold" || t.device !== d.name) return null;
  return { min: t.min, max: t.max };
}

function renderCharts(st, c) {
  const box = main.querySelector("#temperatures .charts");
  const temps = [...st.devices.values()].filter(isTemperature).sort((a, b) => a.name.localeCompare(b.name));
  main.querySelector("#temperatures").hidden = !temps.length;
  for (const d of temps) {
    const key = st.id + "/" + d.name;
    let entry = charts.get(key);
    if (!entry) {
      const fig = document.createElement("figure");
      fig.className = "card chart";
      fig.setAttribute("data-device", d.name);
      fig.setAttribute("role", "img");
      fig.innerHTML = '<figcaption></figcaption><div class="big value"></div><div class="plot"></div>';
      box.appendChild(fig);
      entry = { el: fig, band: null, plot: null };
      entry.plot = new uPlot(chartOptions(entry, fig), chartData(d), fig.querySelector(".plot"));
      charts.set(key, entry);
    }
    entry.band = stepBand(d, c);
    const data = chartData(d);
    entry.plot.setData(data);
    const u = unitText(d.unit);
    const last = d.last || (d.state && d.state.last_ts ? { ts: d.state.last_ts, value: d.state.last_value } : null);
    const stale = !last || isStale(last.ts);
    const offline = d.state && d.state.online === false;
    entry.el.classList.toggle("stale", stale || offline);
    entry.el.setAttribute("data-points", String(data[0].length));
    entry.el.setAttribute("data-band", entry.band ? entry.band.min + ".." + entry.band.max : "");
    const bandText = entry.band ? " · step range " + num(entry.band.min) + "–" + num(entry.band.max) + " " + u : "";
    entry.el.querySelector("figcaption").innerHTML = esc(d.name) + esc(bandText) +
      (offline ? '<span class="badge offline-badge">offline</span>' : stale ? '<span class="badge stale-badge">stale</span>' : "");
    const valueText = last && typeof last.value === "number" ? num(last.value, 1) + " " + u : (last && last.fault ? "fault: " + last.fault : "—");
    entry.el.querySelector(".value").innerHTML = esc(valueText) + (last ? ' <span class="muted" style="font-size:1rem">' + esc(age(last.ts)) + "</span>" : "");
    entry.el.setAttribute("aria-label", d.name + " temperature over the last hour, now " + valueText + bandText);
    if (entry.band) entry.plot.redraw(false, false);
  }
}

function chartOptions(entry, fig) {
  const width = () => Math.max(260, Math.floor(fig.clientWidth - 32 || 320));
  const opts = {
    width: width(), height: 220,
    legend: { show: false },
    cursor: { show: false },
    scales: {
      x: { time: true, range: () => { const now = Date.now() / 1000; return [now - CHART_SPAN_S, now]; } },
      y: { range: (u, lo, hi) => {
        let a = lo, b = hi;
        if (entry.band) { a = Math.min(a ?? entry.band.min, entry.band.min); b = Math.max(b ?? entry.band.max, entry.band.max); }
        if (a === null || b === null || !isFinite(a) || !isFinite(b)) return [0, 100];
        const pad = Math.max(1, (b - a) * 0.1);
        return [Math.floor(a - pad), Math.ceil(b + pad)];
      } },
    },
    axes: [
      { stroke: "#b1bac4", grid: { stroke: "#30363d" }, ticks: { stroke: "#30363d" }, font: "14px system-ui" },
      { stroke: "#b1bac4", grid: { stroke: "#30363d" }, ticks: { stroke: "#30363d" }, font: "14px system-ui", size: 56 },
    ],
    series: [
      {},
      { label: "value", stroke: "#79c0ff", width: 2.5, spanGaps: true, points: { show: false } },
      { label: "bucket min", stroke: "rgba(121,192,255,0.35)", width: 1, points: { show: false } },
      { label: "bucket max", stroke: "rgba(121,192,255,0.35)", width: 1, points: { show: false } },
    ],
    bands: [{ series: [3, 2], fill: "rgba(121,192,255,0.15)" }],
    hooks: {
      // The current step's [min, max], drawn under the series: the owner sees at once whether it is in range.
      drawClear: [(u) => {
        if (!entry.band) return;
        const ctx = u.ctx;
        const y1 = u.valToPos(entry.band.max, "y", true), y2 = u.valToPos(entry.band.min, "y", true);
        ctx.save();
        ctx.fillStyle = "rgba(86, 211, 100, 0.22)";
        ctx.fillRect(u.bbox.left, y1, u.bbox.width, y2 - y1);
        ctx.strokeStyle = "#56d364";
        ctx.lineWidth = 2;
        ctx.setLineDash([6, 4]);
        for (const y of [y1, y2]) { ctx.beginPath(); ctx.moveTo(u.bbox.left, y); ctx.lineTo(u.bbox.left + u.bbox.width, y); ctx.stroke(); }
        ctx.restore();
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
    const last = d.last || (d.state && d.state.last_ts ? { ts: d.state.last_ts, value: d.state.last_value } : null);
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

function renderBatch(st) {
  const b = st.batchLast;
  if (!b) { setHtml("#batch > div", '<p class="muted">No batch record yet.</p>'); return; }
  const failed = new Set(b.failed_steps || []);
  let html = '<p><b>' + esc(b.batch) + "</b> · " + esc(b.recipe_name || b.recipe) + " · " +
             '<span class="' + (b.outcome === "complete" && !failed.size ? "ok" : "bad") + '">' + esc(b.outcome) + "</span>" +
             " · ended " + esc(when(b.ended)) + (b.operator ? " · " + esc(b.operator) : "") + "</p>";
  if (failed.size) html += '<p class="bad">Went wrong: ' + esc([...failed].join(", ")) + "</p>";
  html += '<div class="table-wrap"><table><thead><tr><th>#</th><th>Step</th><th>Result</th><th class="hide-narrow">Duration</th></tr></thead><tbody>';
  for (const s of b.steps || []) {
    // failed_steps is the record's verdict; a record without it falls back on each step's "ok".
    const bad = Array.isArray(b.failed_steps) ? failed.has(s.name) : s.ok === false;
    let result = "";
    if (s.kind === "weigh") {
      result = (typeof s.amount === "number" ? num(s.amount) + " " + unitText(s.unit) : "no weight") +
               " (target " + num(s.target) + " ± " + num(s.tolerance) + ")";
    } else if (s.kind === "hold") {
      result = (typeof s.min_value === "number" ? num(s.min_value, 1) + "–" + num(s.max_value, 1) : "no readings") +
               ", in range " + Math.round((s.time_in_range_s || 0) / 60) + " of " + Math.round((s.hold_s || 0) / 60) + " min" +
               (s.excursions ? ", " + s.excursions + " excursions" : "");
    } else {
      result = "done";
    }
    if (s.completed === false) result += " · interrupted";
    if (s.alarms && s.alarms.length) result += " · alarms: " + s.alarms.map((a) => (a && a.id) || a).join(", ");
    html += '<tr class="' + (bad ? "failed" : "") + '" data-step="' + esc(s.name) + '"><td>' + esc(s.no) + "</td><td>" + esc(s.name) +
            (bad ? ' <span class="bad">✗ failed</span>' : "") + "</td><td>" + esc(result) + '</td><td class="hide-narrow">' +
            esc(num((s.duration_s || 0) / 60, 1)) + " min</td></tr>";
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
document.getElementById("settings-open").addEventListener("click", () => {
  for (const k of ["url", "prefix", "username", "password"]) form.elements[k].value = settings[k];
  form.elements.remember.checked = settings.remember;
  form.hidden = false;
  form.elements.url.focus();
});
document.getElementById("settings-close").addEventListener("click", () => { form.hidden = true; });
form.addEventListener("submit", (e) => {
  e.preventDefault();
  settings = { url: form.elements.url.value.trim(), prefix: form.elements.prefix.value.trim().replace(/\/+$/, ""),
               username: form.elements.username.value, password: form.elements.password.value,
               remember: form.elements.remember.checked };
  if (settings.remember) localStorage.setItem("tally.settings", JSON.stringify(settings));
  else localStorage.setItem("tally.settings", JSON.stringify({ url: settings.url, prefix: settings.prefix, username: settings.username }));
  form.hidden = true;
  stations.clear();
  onRoute();
  connect();
});

window.addEventListener("hashchange", onRoute);
setInterval(render, TICK_MS);  // ages, staleness and the chart's moving hour
window.tallyView = { stations, charts, connected: () => connected };  // for the end-to-end test and curious owners
onRoute();
connect();
