// The live view's rig: a real mosquitto with a plain MQTT listener and a websockets listener serving web/public on
// free loopback ports, three real tallyd stations with `simulated` devices (a soap kettle and scale at a hold step,
// a second bench at a weigh step, an assembly bench with a work order), a subscriber that records every message,
// and Debian's chromium driven by puppeteer-core. Used by live_view.test.mjs and by web/demo.mjs.
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import mqtt from "mqtt";
import puppeteer from "puppeteer-core";

const here = path.dirname(fileURLToPath(import.meta.url));
export const publicDir = path.resolve(here, "..", "public");
const aclFile = path.resolve(here, "..", "..", "config", "mosquitto-web.acl");
// Users as docs/web.md sets them up: one per station (its id), the owner, and a watch-only display.
// "line-9" has no tallyd: the test publishes as that station would (a work order well under way).
export const users = ["bench-1", "bench-2", "assembly-3", "line-9", "owner", "display"];
export const password = (user) => user + "-secret";

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => resolve(port)); });
    s.on("error", reject);
  });
}

// Waits for `check` to return something truthy, polling; fails with `what` and the last value after `ms`.
export async function until(what, check, ms = 20000) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    last = await check();
    if (last) return last;
    if (Date.now() > end) throw new Error("timed out waiting for " + what + " (last: " + JSON.stringify(last) + ")");
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function stop(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once("exit", resolve);
    child.kill("SIGTERM");
  });
}

const recipe = (alarmAfter = 10) => `
[[recipes]]
id = "lavender-soap"
name = "Lavender soap, 40 bars"
  [[recipes.steps]]
  name = "weigh-oils"
  kind = "weigh"
  device = "bench-scale"
  target = 3200.0
  tolerance = 10.0
  [[recipes.steps]]
  name = "heat-oils"
  kind = "hold"
  device = "kettle"
  min = 43.0
  max = 49.0
  hold_s = 600
  alarm_after_s = ${alarmAfter}
  [[recipes.steps]]
  name = "pour-moulds"
  kind = "manual"
`;

const device = (name, quantity, unit, wave) =>
  `[[devices]]\nname = "${name}"\ndriver = "simulated"\nquantity = "${quantity}"\nunit = "${unit}"\n${wave}\n\n`;
// A scale that never settles on the target: 3186.5 or 3187.5 g against 3200 +- 10.
const scale = device("bench-scale", "mass", "g", "waveform = \"square\"\nmin = 3186.5\nmax = 3187.5\nperiod_s = 2\npoll_ms = 500");

export class Rig {
  // kettlePeriod: seconds of one kettle cycle between 42 and 50 degC (short for tests, long for a demo).
  constructor({ tallyd, kettlePeriod = 40 } = {}) {
    this.tallyd = tallyd;
    this.kettlePeriod = kettlePeriod;
    this.tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tally-web-"));
    this.children = [];
    this.seen = [];  // every message the rig's own subscriber saw: [topic, payload]
  }

  start(name, cmd, args) {
    const log = fs.openSync(path.join(this.tmp, name + ".log"), "a");
    const child = spawn(cmd, args, { stdio: ["ignore", log, log] });
    child.name = name;
    this.children.push(child);
    return child;
  }
  running(name) { return this.children.find((c) => c.name === name && c.exitCode === null && c.signalCode === null); }
  logOf(name) {
    try { return fs.readFileSync(path.join(this.tmp, name + ".log"), "utf8"); } catch (e) { return ""; }
  }

  async startBroker() {
    if (!this.mqttPort) {
      this.mqttPort = await freePort();
      this.wsPort = await freePort();
      if (!fs.existsSync(path.join(publicDir, "vendor", "mqtt.min.js"))) throw new Error("run web/install first (tools/install-deps does)");
      // As config/mosquitto-web.conf, with the repository's ACL file as it is, on free loopback ports ("user root":
      // run as root, mosquitto would otherwise become user mosquitto, who cannot read this private temporary folder).
      const passwd = path.join(this.tmp, "passwd");
      for (const [i, user] of users.entries()) {
        execFileSync("mosquitto_passwd", [...(i === 0 ? ["-c"] : []), "-b", passwd, user, password(user)]);
        fs.writeFileSync(path.join(this.tmp, user + ".pw"), password(user) + "\n");
      }
      fs.writeFileSync(path.join(this.tmp, "mosquitto.conf"),
        `user root\nper_listener_settings false\nallow_anonymous false\npassword_file ${passwd}\nacl_file ${aclFile}\n` +
        `listener ${this.mqttPort} 127.0.0.1\nprotocol mqtt\nlistener ${this.wsPort}\nprotocol websockets\nhttp_dir ${publicDir}\n`);
    }
    this.start("mosquitto", "mosquitto", ["-c", path.join(this.tmp, "mosquitto.conf")]);
    await until("the broker's listeners", () => new Promise((resolve) => {
      const s = net.connect(this.wsPort, "127.0.0.1", () => { s.end(); resolve(true); });
      s.on("error", () => resolve(false));
    }));
  }
  stopBroker() { return stop(this.running("mosquitto")); }
  get url() { return `http://127.0.0.1:${this.wsPort}/?prefix=tally`; }

  stationConfig(id, mode, devices, alarmAfter) {
    return `[station]\nid = "${id}"\nmode = "${mode}"\n\n[mqtt]\nurl = "tcp://127.0.0.1:${this.mqttPort}"\nkeepalive_s = 5\n` +
           `username = "${id}"\npassword_file = "${path.join(this.tmp, id + ".pw")}"\n\n` +
           `[buffer]\npath = "${path.join(this.tmp, id + ".db")}"\n\n${devices}\n${mode === "process" ? recipe(alarmAfter) : ""}`;
  }
  startStation(id) { return this.start("tallyd-" + id, this.tallyd, ["--config", path.join(this.tmp, id + ".toml")]); }
  stopStation(id) { return stop(this.running("tallyd-" + id)); }

  // Sends a command as tallyctl would and returns tallyd's reply; a refusal is an error.
  async command(station, cmd, args = {}) {
    const id = "rig-" + Math.random().toString(16).slice(2);
    const replyTopic = "tally/" + station + "/cmd/reply";
    const reply = new Promise((resolve) => {
      const onMessage = (topic, payload) => {
        if (topic !== replyTopic || !payload.length) return;
        const body = JSON.parse(payload.toString());
        if (body.id !== id) return;
        this.watcher.removeListener("message", onMessage);
        resolve(body);
      };
      this.watcher.on("message", onMessage);
    });
    this.watcher.publish("tally/" + station + "/cmd", JSON.stringify({ id, cmd, ...args }), { qos: 1 });
    const body = await Promise.race([reply, new Promise((_, rej) => setTimeout(() => rej(new Error("no reply to " + cmd)), 10000))]);
    if (body.ok !== true) throw new Error(cmd + " refused: " + JSON.stringify(body));
    return body;
  }

  // An MQTT client logged in as `user`.
  async client(user) {
    const c = mqtt.connect(`mqtt://127.0.0.1:${this.mqttPort}`, {
      clientId: "web-rig-" + user + "-" + process.pid, reconnectPeriod: 500, username: user, password: password(user) });
    await new Promise((resolve, reject) => { c.once("connect", resolve); c.once("error", reject); });
    return c;
  }

  // Logs a page in as `user` through its Settings form, as the owner does on a new phone.
  async login(page, user) {
    await page.waitForSelector("#settings-open");
    await page.click("#settings-open");
    await page.waitForSelector("#settings:not([hidden])");
    await page.$eval("#settings", (f) => { f.elements.username.value = ""; f.elements.password.value = ""; });
    await page.type('#settings input[name="username"]', user);
    await page.type('#settings input[name="password"]', password(user));
    await page.click('#settings button[type="submit"]');
    await until("the page connected as " + user, () => page.$eval("#connection", (e) => e.innerText === "Live"));
  }

  async up() {
    await this.startBroker();
    this.watcher = await this.client("owner");   // sees everything, sends commands
    this.engine = await this.client("bench-1");  // publishes what bench-1's alarm engine would (its own subtree)
    this.watcher.on("message", (topic, payload) => this.seen.push([topic, payload.toString()]));
    await this.watcher.subscribeAsync(["tally/#"], { qos: 1 });

    // Inside the heat-oils step's 43..49 degC: tallyd's own alarm engine stays quiet, the test raises alarms itself.
    const kettle = device("kettle", "temperature", "degC",
      `waveform = "sine"\nmin = 43.5\nmax = 48.5\nperiod_s = ${this.kettlePeriod}\nnoise = 0.1\npoll_ms = 250`);
    // bench-2's kettle swings in and out of 43..49 (46 degC for 8 s, then 40 for 8 s): its batch B-2000 ends
    // complete with exactly one excursion and heat-oils.range raised (alarm_after_s = 2 on that station).
    const swingKettle = device("kettle", "temperature", "degC", "waveform = \"square\"\nmin = 40.0\nmax = 46.0\nperiod_s = 16\npoll_ms = 500");
    fs.writeFileSync(path.join(this.tmp, "bench-1.toml"), this.stationConfig("bench-1", "process", kettle + scale));
    fs.writeFileSync(path.join(this.tmp, "bench-2.toml"), this.stationConfig("bench-2", "process", scale + swingKettle, 2));
    fs.writeFileSync(path.join(this.tmp, "assembly-3.toml"), this.stationConfig("assembly-3", "discrete", ""));
    for (const id of ["bench-1", "bench-2", "assembly-3"]) this.startStation(id);
    for (const id of ["bench-1", "bench-2", "assembly-3"]) {
      await until(id + " online", () => {
        if (!this.running("tallyd-" + id)) throw new Error("tallyd for " + id + " exited:\n" + this.logOf("tallyd-" + id));
        return this.seen.some(([t, p]) => t === `tally/${id}/status` && p.includes('"online":true'));
      });
    }

    const benchTwo = this.completeWithDeviations();
    // A batch that went wrong (the scale never reaches 3200 +- 10 g), so there is a last batch record to show, then
    // the batch the owner watches, at its hold step.
    await this.command("bench-1", "operator.set", { operator: "ana" });
    await this.command("bench-1", "batch.start", { batch: "B-1041", recipe: "lavender-soap" });
    await this.command("bench-1", "step.next");
    await this.command("bench-1", "batch.end", { outcome: "aborted", note: "oil short" });
    await this.command("bench-1", "batch.start", { batch: "B-1042", recipe: "lavender-soap" });
    await this.command("bench-1", "step.next");
    await this.command("assembly-3", "work_order.start", { work_order: "WO-77", target: 50 });
    for (const serial of ["SN-0001", "SN-0002", "SN-0003"]) await this.command("assembly-3", "unit.add", { serial });
    await benchTwo;
  }

  // bench-2's batch B-2000, run to its end: the weigh step out of tolerance, the hold step started while the kettle is
  // in range and ended 4 s after it left it (one excursion, heat-oils.range raised after 2 s), the last step done:
  // outcome "complete" with failed_steps ["weigh-oils", "heat-oils"]. bench-2 is then idle (no batch).
  async completeWithDeviations() {
    const kettle = (from, inRange) => until("bench-2's kettle " + (inRange ? "in" : "out of") + " range", () => {
      for (let i = from; i < this.seen.length; i++) {
        const [t, p] = this.seen[i];
        if (t === "tally/bench-2/readings/kettle" && p && (JSON.parse(p).value >= 43) === inRange) return i + 1;
      }
      return false;
    }, 20000);
    await this.command("bench-2", "operator.set", { operator: "bo" });
    await this.command("bench-2", "batch.start", { batch: "B-2000", recipe: "lavender-soap" });
    await kettle(await kettle(this.seen.length, false), true);  // the start of an 8 s stretch in range
    await this.command("bench-2", "step.next");
    await kettle(this.seen.length, false);
    await new Promise((r) => setTimeout(r, 4000));
    await this.command("bench-2", "step.next");
    await this.command("bench-2", "step.next");
  }

  async browser() {
    this.chromium = await puppeteer.launch({
      executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--user-data-dir=" + path.join(this.tmp, "chromium-profile")],
    });
    return this.chromium;
  }

  async down() {
    if (this.chromium) await this.chromium.close().catch(() => {});
    for (const c of [this.watcher, this.engine]) if (c) await c.endAsync(true).catch(() => {});
    await Promise.all(this.children.map(stop));
    if (!process.env.KEEP_TMP) fs.rmSync(this.tmp, { recursive: true, force: true });
  }
}
