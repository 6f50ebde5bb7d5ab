// The live view end to end, as the owner sees it: Debian's chromium (headless, driven by puppeteer-core) opens the
// page that a real mosquitto serves from its websockets listener (http_dir = web/public), and the page talks MQTT
// over that listener to the broker, where real tallyd stations with `simulated` devices publish (rig.mjs).
//
// Run by CTest (tests/CMakeLists.txt) with TALLYD_PATH set; SCREENSHOT_DIR receives the screenshots.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Rig, until } from "./rig.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const rig = new Rig({ tallyd: process.env.TALLYD_PATH || path.resolve(here, "../../build/daemon/tallyd") });
const shots = process.env.SCREENSHOT_DIR || path.join(rig.tmp, "screenshots");
fs.mkdirSync(shots, { recursive: true });
const seen = rig.seen;
let browser, watcher, wsPort;

before(async () => {
  await rig.up();
  watcher = rig.watcher;
  wsPort = rig.wsPort;
  browser = await rig.browser();
});

after(() => rig.down());

async function openPage(width, height, hash = "", mobile = false, user = "owner") {
  const page = await browser.newPage();
  await page.setViewport({ width, height, deviceScaleFactor: mobile ? 2 : 1, isMobile: mobile, hasTouch: mobile });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.errors = errors;
  await page.goto(`http://127.0.0.1:${wsPort}/?prefix=tally${hash}`, { waitUntil: "load" });
  await rig.login(page, user);
  return page;
}
const text = (page, sel) => page.$eval(sel, (e) => e.innerText);
// What no page may show anywhere: raw JSON, missing fields, engineering units.
async function assertClean(page, where) {
  const all = await text(page, "body");
  for (const bad of [/\[object Object\]/, /undefined/, /\bNaN\b/, /\bdeg[CF]\b/, /\b1 (excursions|alarms|units|deviations)\b/]) {
    assert.doesNotMatch(all, bad, where + " shows " + bad);
  }
}
const points = (page, dev) => page.$eval(`figure.chart[data-device="${dev}"]`, (f) => Number(f.dataset.points)).catch(() => 0);

test("the overview shows every station online with what it is doing", { timeout: 60000 }, async () => {
  const page = await openPage(1280, 800);
  await page.waitForSelector('.station-card[data-station="bench-1"][data-online="true"]', { timeout: 20000 });
  await page.waitForSelector('.station-card[data-station="assembly-3"][data-online="true"]', { timeout: 20000 });
  const bench = await page.$eval('.station-card[data-station="bench-1"]', (e) => e.innerText);
  assert.match(bench, /Online/);
  assert.match(bench, /B-1042/);
  assert.match(bench, /heat-oils/);
  // The weigh step ended out of tolerance (the scale never reaches 3200 +- 10 g): tallyd's own alarm engine holds
  // weigh-oils.tolerance until the batch ends.
  assert.match(bench, /1 alarm/);
  // The card shows the recipe by its configured name, the kettle's live temperature and the step's range.
  assert.match(bench, /Lavender soap, 40 bars/);
  await until("the kettle's temperature on the card", () => text(page, '.station-card[data-station="bench-1"]')
    .then((t) => /kettle\s+4\d[.,]\d °C\s+in range/.test(t) && t));
  assert.match(await text(page, '.station-card[data-station="bench-1"]'), /heat-oils range 43–49 °C/);
  const assembly = await page.$eval('.station-card[data-station="assembly-3"]', (e) => e.innerText);
  assert.match(assembly, /WO-77/);
  assert.match(assembly, /3 \/ 50 good/);
  await assertClean(page, "the overview");
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("a first visit asks for a login, which lasts as long as the tab", { timeout: 60000 }, async () => {
  // A new profile: nothing remembered.
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  await page.setViewport({ width: 360, height: 740, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  await page.goto(`http://127.0.0.1:${wsPort}/?prefix=tally`, { waitUntil: "load" });
  await page.waitForSelector("#settings:not([hidden])", { timeout: 5000 });
  await new Promise((r) => setTimeout(r, 1000));  // time enough for a refusal, if the page had tried
  const first = await text(page, "body");
  assert.match(first, /Log in/);
  assert.match(first, /User name/);
  assert.doesNotMatch(first, /refused/i);
  await page.screenshot({ path: path.join(shots, "login-phone.png") });
  // Without "Remember on this device": a reload keeps the login (sessionStorage), ...
  await rig.login(page, "owner");
  await page.reload({ waitUntil: "load" });
  await until("live again after the reload", () => text(page, "#connection").then((t) => t === "Live"), 10000);
  assert.equal(await page.$eval("#settings", (f) => f.hidden), true);
  assert.doesNotMatch(await text(page, "body"), /refused|Log in/i);
  // ... a wrong password is refused once, and the page asks again instead of retrying it.
  await page.click("#settings-open");
  await page.$eval("#settings", (f) => { f.elements.password.value = "wrong"; });
  await page.click('#settings button[type="submit"]');
  await until("the login form again", () => page.$eval("#settings", (f) => !f.hidden && f.innerText).then((t) => /refused/.test(t) && t), 10000);
  // ... and a new tab (another session) asks for the password again, the user name filled in.
  await rig.login(page, "owner");
  const other = await context.newPage();
  await other.goto(`http://127.0.0.1:${wsPort}/?prefix=tally`, { waitUntil: "load" });
  await other.waitForSelector("#settings:not([hidden])", { timeout: 5000 });
  assert.equal(await other.$eval('#settings input[name="username"]', (i) => i.value), "owner");
  await context.close();
});

test("a batch that completed out of spec, on a 360 px phone: what went wrong, in words and units", { timeout: 60000 }, async () => {
  // B-2000 ran on bench-2 (rig.mjs): look at the record tallyd published, then at the page.
  const record = JSON.parse(seen.filter(([t, p]) => t === "tally/bench-2/batches/last" && p).pop()[1]);
  assert.equal(record.outcome, "complete");
  assert.deepEqual(record.failed_steps, ["weigh-oils", "heat-oils"]);
  const heat = record.steps.find((s) => s.name === "heat-oils");
  assert.equal(heat.excursions, 1);
  assert.equal(heat.alarms[0].alarm, "heat-oils.range");  // the field is "alarm", not "id"
  const page = await openPage(360, 740, "#/station/bench-2", true);
  // A hold step's record has no unit: the page takes the device's, from its readings or summary.
  const batch = await until("the last batch with the kettle's unit", () => text(page, "#batch")
    .then((t) => /heat-oils.*°C/.test(t) && t).catch(() => false));
  assert.match(batch, /B-2000 · Lavender soap, 40 bars · complete, with 2 deviations/);
  assert.match(batch, /Out of spec: weigh-oils, heat-oils/);
  assert.doesNotMatch(batch, /Went wrong|failed/);
  // The outcome is drawn in the warning colour, not the failure colour.
  const colour = await page.$eval("#batch-outcome", (e) => getComputedStyle(e).color);
  assert.equal(colour, "rgb(227, 179, 65)");
  // (The scale may or may not have settled on a weight by the time the weigh step ended.)
  assert.match(batch, /(no weight|3,18[67]\.5 g) against 3,200 ± 10 g/);
  assert.match(batch, /40–46 °C \(range 43–49 °C\), in range \d+ s of 10 min, 1 excursion\b/);
  assert.match(batch, /alarm: heat-oils out of range \(40 °C, limit 43 °C\)/);
  assert.match(batch, /alarm: weigh-oils out of tolerance \((3,18[67]\.5 g, )?limit 3,190 g\)/);
  // No batch now: the chart spans the last hour and keeps heat-oils' band where B-2000 ran it.
  await page.waitForSelector('figure.chart[data-device="kettle"]', { timeout: 10000 });
  assert.equal(await text(page, "#h-temp"), "Temperatures, last hour");
  const legend = await text(page, 'figure.chart[data-device="kettle"] .bands');
  assert.match(legend, /heat-oils 43–49 °C, \d\d:\d\d:\d\d\s*[AP]?M? – \d\d:\d\d:\d\d/);
  const share = await page.evaluate((from, to) => {
    const { plot } = window.tallyView.charts.get("bench-2/kettle");
    const green = (x) => {
      const y0 = Math.round(plot.valToPos(48.5, "y", true)), y1 = Math.round(plot.valToPos(47, "y", true));
      const px = plot.ctx.getImageData(Math.round(x), y0, 1, y1 - y0).data;
      let n = 0;
      for (let i = 0; i < px.length; i += 4) if (px[i + 1] > px[i] + 20 && px[i + 1] > px[i + 2]) n++;
      return n / (px.length / 4);
    };
    const x1 = plot.valToPos(from, "x", true), x2 = plot.valToPos(to, "x", true);
    return { inside: green((x1 + x2) / 2), before: green(x1 - 6) };
  }, Date.parse(heat.started) / 1000, Date.parse(heat.ended) / 1000);
  assert.ok(share.inside > 0.8, "green inside heat-oils' band: " + share.inside);
  assert.ok(share.before < 0.1, "green before heat-oils started: " + share.before);
  await assertClean(page, "bench-2");
  await page.screenshot({ path: path.join(shots, "station-phone-360.png"), fullPage: true });
  assert.deepEqual(page.errors, []);
  await page.close();
  // bench-2 then starts the batch the next test watches at its weigh step.
  await rig.command("bench-2", "batch.start", { batch: "B-2001", recipe: "lavender-soap" });
});

test("the station page charts the kettle live with the step's range drawn", { timeout: 60000 }, async () => {
  const page = await openPage(1280, 900);
  await page.waitForSelector('.station-card[data-station="bench-1"][data-online="true"]', { timeout: 20000 });
  // Clicked inside the page in one step: the overview is redrawn when a station's status or context changes, and a
  // CDP click (locate, then press) can land between the two.
  await page.$eval('.station-card[data-station="bench-1"]', (card) => card.click());
  await page.waitForSelector('figure.chart[data-device="kettle"]', { timeout: 20000 });
  const first = await until("kettle points", () => points(page, "kettle").then((n) => n >= 2 && n));
  await until("the chart to gain points", () => points(page, "kettle").then((n) => n > first + 3));
  await until("the step band", () => page.$eval('figure.chart[data-device="kettle"]', (f) => f.dataset.band === "43..49"));
  // The chart spans the batch, not the last hour: B-1042 started a few seconds before its heat-oils step.
  const context = JSON.parse(seen.filter(([t, p]) => t === "tally/bench-1/context" && p).pop()[1]);
  const heading = await text(page, "#h-temp");
  assert.match(heading, /^Temperatures, batch B-1042 since \d/);
  assert.match(await text(page, 'figure.chart[data-device="kettle"] .bands'), /heat-oils 43–49 °C, .* – now/);
  const span = await page.evaluate(() => { const { plot } = window.tallyView.charts.get("bench-1/kettle"); return [plot.scales.x.min, plot.scales.x.max]; });
  assert.ok(span[1] - span[0] < 15 * 60, "the chart spans " + (span[1] - span[0]) + " s, not an hour");
  // The band is painted from the step's start: a pixel inside 43..49 just after it is the band's green, one above
  // 49 is not.
  const share = await page.evaluate((started) => {
    // The share of green pixels in a column just after the step started, between two values (grid lines cross it).
    const { plot } = window.tallyView.charts.get("bench-1/kettle");
    const x = Math.round(Math.max(plot.bbox.left, plot.valToPos(started, "x", true)) + 4);
    const green = (from, to) => {
      const y0 = Math.round(plot.valToPos(to, "y", true)), y1 = Math.round(plot.valToPos(from, "y", true));
      const px = plot.ctx.getImageData(x, y0, 1, y1 - y0).data;
      let n = 0;
      for (let i = 0; i < px.length; i += 4) if (px[i + 1] > px[i] + 20 && px[i + 1] > px[i + 2]) n++;
      return n / (px.length / 4);
    };
    return { inside: green(43.5, 48.5), above: green(49.5, 50.8) };
  }, Date.parse(context.step_started) / 1000);
  assert.ok(share.inside > 0.8, "green inside the band: " + share.inside);
  assert.ok(share.above < 0.1, "green above the band: " + share.above);
  const ctx = await page.$eval("#context", (e) => e.innerText);
  assert.match(ctx, /B-1042/);
  assert.match(ctx, /2 of 3: heat-oils/);
  assert.match(ctx, /ana/);
  assert.match(ctx, /Recipe\s+Lavender soap, 40 bars/);
  assert.match(ctx, /Range\s+43–49 °C on kettle, hold 10 min/);
  const weight = await page.$eval('.weight[data-device="bench-scale"]', (e) => e.innerText);
  assert.match(weight, /3[,.]?18[67][.,]5 g/);
  // A station at a weigh step shows the weight against its target.
  await page.goto(`http://127.0.0.1:${wsPort}/?prefix=tally#/station/bench-2`);
  let weightText = "";
  await until("bench-2's weight against its target", () => page.$eval("main", (e) => e.innerText)
    .then((t) => { weightText = t; return /target 3[,.]?200 ± 10 g/.test(t) && /outside tolerance/.test(t) && /3[,.]?18[67][.,]5 g/.test(t); })
    .catch(() => false)).catch((e) => { throw new Error(e.message + "; the page says: " + weightText); });
  await page.goto(`http://127.0.0.1:${wsPort}/?prefix=tally#/station/bench-1`);
  await page.waitForSelector('figure.chart[data-device="kettle"]', { timeout: 20000 });
  // The last batch record, with the step that went wrong highlighted.
  await page.waitForSelector('#batch tr.failed[data-step="weigh-oils"]', { timeout: 10000 });
  const last = await text(page, "#batch");
  assert.match(last, /B-1041[\s\S]*aborted/);
  assert.match(last, /Went wrong: weigh-oils/);
  assert.match(last, /weigh-oils ✗ failed/);
  assert.match(last, /alarm: weigh-oils out of tolerance \((3,18[67]\.5 g, )?limit 3,190 g\)/);
  await assertClean(page, "bench-1");
  await page.screenshot({ path: path.join(shots, "station-desktop.png"), fullPage: true });
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("a work order's page shows good units against the target and the rate", { timeout: 60000 }, async () => {
  const page = await openPage(390, 844, "#/station/assembly-3", true);
  await page.waitForSelector("#unit-count", { timeout: 20000 });
  assert.match(await page.$eval("#unit-count", (e) => e.innerText), /^3\s*\/\s*50 good$/);
  const now = await page.$eval("#context", (e) => e.innerText);
  assert.match(now, /WO-77/);
  // 3 units in the work order's first minute: no rate yet (it would say several hundred an hour).
  assert.match(now, /Units per hour\s+not yet: 3 units in \d+ s/);
  assert.match(now, /Last unit\s+no\. 3, serial SN-0003/);  // tallyd's "unit" (a number) before the rename
  await assertClean(page, "assembly-3");
  // A work order 20 minutes in, from a station that already sends "unit_no": (28 + 2) units / (1/3 h) = 90.
  const line9 = await rig.client("line-9");
  const started = new Date(Date.now() - 20 * 60000).toISOString();
  await line9.publishAsync("tally/line-9/status", JSON.stringify({ online: true, version: "0.1.0", since: started, buffered: 0 }), { qos: 1, retain: true });
  await line9.publishAsync("tally/line-9/context", JSON.stringify({ mode: "discrete", work_order: "WO-80", unit_no: 30, serial: "SN-0030",
    good: 28, rejected: 2, work_order_started: started, target: 100 }), { qos: 1, retain: true });
  await page.goto(`http://127.0.0.1:${wsPort}/?prefix=tally#/station/line-9`);
  await until("line-9's rate", () => text(page, "#context").then((t) => /Units per hour\s+90\b/.test(t) && t).catch(() => false));
  assert.match(await text(page, "#context"), /Last unit\s+no\. 30, serial SN-0030/);
  for (const t of ["tally/line-9/status", "tally/line-9/context"]) await line9.publishAsync(t, "", { qos: 1, retain: true });
  await line9.endAsync();
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("an alarm appears, is acknowledged from the page and disappears when back in range", { timeout: 60000 }, async () => {
  // The alarm engine publishes B/alarms/<id> retained (shared/PRODUCT.md); this test publishes what it would, so
  // the page is tested against the contract whether or not tallyd raised the alarm.
  const topic = "tally/bench-1/alarms/heat-oils.range";
  // With its unit, as tallyd's payload has it (station_alarms.cpp): without one the page falls back to the device's
  // unit from its readings, which a slow station (the ASan build) may not have sent yet when the page first draws.
  const alarm = { id: "heat-oils.range", state: "active", severity: "warning", device: "kettle", unit: "degC",
                  message: "kettle outside 43..49 degC for 10 s", value: 51.2, limit: 49, since: new Date().toISOString(),
                  batch: "B-1042", step: "heat-oils", step_no: 2 };
  await rig.engine.publishAsync(topic, JSON.stringify(alarm), { qos: 1, retain: true });

  const page = await openPage(390, 844, "#/station/bench-1", true);
  await page.waitForSelector('.alarm[data-alarm="heat-oils.range"] button.ack', { timeout: 20000 });
  const shown = await text(page, '.alarm[data-alarm="heat-oils.range"]');
  assert.match(shown, /heat-oils out of range/);
  assert.match(shown, /kettle outside 43\.\.49 °C for 10 s \(now 51\.2 °C, limit 49 °C\)/);
  await until("points on the phone's chart", () => points(page, "kettle").then((n) => n >= 3));
  await page.screenshot({ path: path.join(shots, "station-phone.png"), fullPage: true });
  await page.click('.alarm[data-alarm="heat-oils.range"] button.ack');

  // The page sent alarm.ack on B/cmd, and shows the station's answer.
  const sent = await until("alarm.ack on B/cmd", () => seen.map(([t, p]) => t === "tally/bench-1/cmd" && JSON.parse(p))
    .find((c) => c && c.cmd === "alarm.ack"));
  assert.equal(sent.alarm, "heat-oils.range");
  await until("the reply on the page", () => page.$eval('.alarm[data-alarm="heat-oils.range"] .reply', (e) => e.innerText)
    .then((t) => /acknowledged by the station|refused:/.test(t) && t).catch(() => false));

  // Acknowledged (as the engine publishes it): no button any more; back in range: gone.
  await rig.engine.publishAsync(topic, JSON.stringify({ ...alarm, state: "acknowledged" }), { qos: 1, retain: true });
  await page.waitForSelector('.alarm.acknowledged[data-alarm="heat-oils.range"]', { timeout: 10000 });
  assert.equal(await page.$('.alarm[data-alarm="heat-oils.range"] button.ack'), null);
  await page.goto(`http://127.0.0.1:${wsPort}/?prefix=tally#/`);
  // Two: this one and tallyd's own weigh-oils.tolerance.
  await until("alarm count 2 on the overview", () => page.$eval('.station-card[data-station="bench-1"] .alarm-count',
    (e) => e.dataset.count === "2").catch(() => false));
  await page.screenshot({ path: path.join(shots, "overview-phone.png"), fullPage: true });
  await rig.engine.publishAsync(topic, "", { qos: 1, retain: true });
  await until("alarm count 1", () => page.$eval('.station-card[data-station="bench-1"] .alarm-count',
    (e) => e.dataset.count === "1").catch(() => false));
  await page.goto(`http://127.0.0.1:${wsPort}/?prefix=tally#/station/bench-1`);
  await page.waitForSelector('.alarm[data-alarm="weigh-oils.tolerance"]', { timeout: 10000 });
  await page.waitForSelector('.alarm[data-alarm="heat-oils.range"]', { hidden: true, timeout: 10000 });
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("a watch-only display sees alarms, and the broker refuses its Acknowledge", { timeout: 60000 }, async () => {
  const topic = "tally/bench-1/alarms/kettle.stale";
  const alarm = { id: "kettle.stale", state: "active", severity: "warning", device: "kettle",
                  message: "no reading from kettle for 30 s", since: new Date().toISOString() };
  await rig.engine.publishAsync(topic, JSON.stringify(alarm), { qos: 1, retain: true });
  const page = await openPage(1280, 900, "#/station/bench-1", false, "display");
  await page.waitForSelector('.alarm[data-alarm="kettle.stale"] button.ack', { timeout: 20000 });
  const acks = () => seen.filter(([t, p]) => t === "tally/bench-1/cmd" && p.includes('"kettle.stale"')).length;
  await page.click('.alarm[data-alarm="kettle.stale"] button.ack');
  await until("the broker's refusal on the page", () => page.$eval('.alarm[data-alarm="kettle.stale"] .reply', (e) => e.innerText)
    .then((t) => /refused: the broker refused the command/.test(t) && t).catch(() => false));
  assert.equal(acks(), 0, "the command must not reach the station");
  await rig.engine.publishAsync(topic, "", { qos: 1, retain: true });
  await page.waitForSelector('.alarm[data-alarm="kettle.stale"]', { hidden: true, timeout: 10000 });
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("after a broker restart the page says it is stale, then reconnects by itself", { timeout: 90000 }, async () => {
  const page = await openPage(1280, 900, "#/station/bench-1");
  await until("kettle points", () => points(page, "kettle").then((n) => n >= 2));
  await rig.stopBroker();
  await page.waitForSelector("#banner:not([hidden])", { timeout: 15000 });
  assert.match(await page.$eval("#banner", (e) => e.innerText), /lost/);
  assert.equal(await page.$eval("#station-page", (e) => e.classList.contains("stale")), true);
  await rig.startBroker();
  await page.waitForSelector("#banner[hidden]", { timeout: 30000 });
  await until("the connection live again", () => page.$eval("#connection", (e) => e.innerText === "Live"));
  const before = await points(page, "kettle");
  await until("new points after the restart", () => points(page, "kettle").then((n) => n > before), 30000);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test("a new viewer draws the last hour at once from the retained summary", { timeout: 120000 }, async () => {
  // tallyd publishes B/devices/kettle/recent when a reading opens a new one-minute bucket.
  const recent = await until("tally/bench-1/devices/kettle/recent", () => {
    const m = seen.filter(([t, p]) => t === "tally/bench-1/devices/kettle/recent" && p).pop();
    return m && JSON.parse(m[1]);
  }, 75000);
  assert.equal(recent.device, "kettle");
  assert.equal(recent.bucket_s, 60);
  assert.ok(recent.buckets.length >= 1);
  for (const b of recent.buckets) {
    assert.ok(b.min >= 41.8 && b.max <= 50.2 && b.min <= b.mean && b.mean <= b.max && b.n >= 1, JSON.stringify(b));
  }
  assert.ok(recent.buckets.reduce((n, b) => n + b.n, 0) >= 2);
  const batch = seen.filter(([t, p]) => t === "tally/bench-1/batches/last" && p).pop();
  assert.ok(batch, "B/batches/last published");
  assert.deepEqual(JSON.parse(batch[1]).failed_steps, ["weigh-oils"]);

  const page = await openPage(1280, 900, "#/station/bench-1");
  // The chart starts with the summary's oldest bucket (drawn at its middle, or at `updated` while it is the only,
  // still filling one), whatever live readings came since. The latest summary the broker holds is the last one seen.
  const latest = JSON.parse(seen.filter(([t, p]) => t === "tally/bench-1/devices/kettle/recent" && p).pop()[1]);
  const expected = Math.min(Date.parse(latest.buckets[0].ts) / 1000 + latest.bucket_s / 2, Date.parse(latest.updated) / 1000);
  const opened = Date.now() / 1000;
  assert.ok(expected < opened);
  // (A live reading may be drawn a few milliseconds before the retained summary arrives: wait for it, briefly.)
  await until("a chart from the summary", () => page.evaluate((expected) => {
    const c = window.tallyView.charts.get("bench-1/kettle");
    return c && c.plot.data[0].length > 0 && Math.abs(c.plot.data[0][0] - expected) < 0.002;
  }, expected), 3000).catch(async (e) => {
    const xs = await page.evaluate(() => window.tallyView.charts.get("bench-1/kettle")?.plot.data[0].slice(0, 3));
    throw new Error(e.message + ` opened ${opened}, chart starts ${JSON.stringify(xs)}, summary ${JSON.stringify(recent)}`);
  });
  await page.close();
});

test("B/batches/last survives a restart of tallyd", { timeout: 60000 }, async () => {
  await rig.stopStation("bench-1");
  await rig.engine.publishAsync("tally/bench-1/batches/last", "", { qos: 1, retain: true });  // the broker forgets it
  const from = seen.length;
  rig.startStation("bench-1");
  const last = await until("B/batches/last again", () => {
    const m = seen.slice(from).filter(([t, p]) => t === "tally/bench-1/batches/last" && p).pop();
    return m && JSON.parse(m[1]);
  });
  assert.equal(last.batch, "B-1041");
  assert.deepEqual(last.failed_steps, ["weigh-oils"]);
  assert.ok(Number.isInteger(last.seq));
  const page = await openPage(1280, 900, "#/station/bench-1");
  await page.waitForSelector('#batch tr.failed[data-step="weigh-oils"]', { timeout: 20000 });
  await page.close();
});
