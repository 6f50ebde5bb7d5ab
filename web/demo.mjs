#!/usr/bin/env node
// Try the live view without hardware: a mosquitto with the websockets listener serving web/public, and three
// tallyd stations with simulated devices (test/rig.mjs: bench-1 at a hold step, bench-2 idle after a batch that
// completed out of spec, assembly-3 with a work order). Prints the address to open; Ctrl-C stops everything.
//   node web/demo.mjs                         # runs until Ctrl-C
//   node web/demo.mjs --minutes 10 --screenshots docs   # then saves screenshots and stops (docs/web-*.png)
// Needs a built tallyd (build/daemon/tallyd, or TALLYD_PATH) and web/install done (tools/install-deps does both
// the packages and web/install). The alarm shown is a sample published by this script: see docs/web.md.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Rig, password } from "./test/rig.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const arg = (name) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : undefined; };
const minutes = Number(arg("--minutes") || 0);
const shots = arg("--screenshots");

const rig = new Rig({ tallyd: process.env.TALLYD_PATH || path.resolve(here, "../build/daemon/tallyd"), kettlePeriod: 900 });
let stopping = false;
async function finish(code) {
  if (stopping) return;
  stopping = true;
  await rig.down();
  process.exit(code);
}
process.on("SIGINT", () => finish(0));
process.on("SIGTERM", () => finish(0));

try {
  await rig.up();
  console.log(`demo: open ${rig.url} (from another machine: this machine's address, port ${rig.wsPort})`);
  console.log(`demo: log in as owner, password ${password("owner")}; or display / ${password("display")} to only watch`);
  console.log(`demo: stations publish on mqtt://127.0.0.1:${rig.mqttPort}; Ctrl-C stops`);
  setTimeout(() => rig.engine.publish("tally/bench-1/alarms/kettle-overheat", JSON.stringify({
    id: "kettle-overheat", state: "active", severity: "critical", device: "kettle", message: "sample alarm (demo): kettle above 49.5 degC for 5 s",
    value: 49.8, limit: 49.5, since: new Date().toISOString() }), { qos: 1, retain: true }), Math.max(0, minutes * 60000 - 30000));
  if (minutes > 0) {
    await new Promise((r) => setTimeout(r, minutes * 60000));
    if (shots) {
      const browser = await rig.browser();
      const take = async (file, width, height, hash, mobile) => {
        const page = await browser.newPage();
        await page.setViewport({ width, height, deviceScaleFactor: mobile ? 2 : 1, isMobile: mobile, hasTouch: mobile });
        await page.goto(rig.url + hash, { waitUntil: "load" });
        await rig.login(page, "owner");
        await new Promise((r) => setTimeout(r, 3000));
        await page.screenshot({ path: path.join(shots, file), fullPage: true });
        await page.close();
        console.log("demo: saved " + path.join(shots, file));
      };
      // A 360 px phone (at 2x), a 768 px tablet and a 1280 px desktop (docs/web.md, README.md).
      await take("web-station-desktop.png", 1280, 900, "#/station/bench-1", false);
      await take("web-station-phone.png", 360, 740, "#/station/bench-1", true);
      await take("web-overview-phone.png", 360, 740, "#/", true);
      await take("web-station-tablet.png", 768, 1024, "#/station/bench-2", true);
      await take("web-overview-desktop.png", 1280, 720, "#/", false);
    }
    await finish(0);
  }
} catch (e) {
  console.error("demo: " + (e && e.stack || e));
  await finish(1);
}
