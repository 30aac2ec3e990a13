// Drives calf serve's dashboard in Debian's headless chromium, as a
// tenant and as the operator would; run by calf-repl/tests/serve_dashboard.rs,
// which starts nats-server, calf serve --http, a worker and the jobs, and
// passes what it started in the environment:
//   CALF_DASHBOARD_URL   http://127.0.0.1:PORT/
//   ACME_WAITER          pid of acme's process waiting on a long slow-add call
//   GLOBEX_MARKER        a function name only globex's process runs
//   CALF_DASHBOARD_SCREENSHOTS   a directory: a screenshot of each panel goes there
//   CHROMIUM             the browser (default /usr/bin/chromium)
// Exits 0 when every step saw what it should, else prints the step that
// failed and exits 1.

import puppeteer from "puppeteer-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const url = process.env.CALF_DASHBOARD_URL;
const waiter = process.env.ACME_WAITER;
const marker = process.env.GLOBEX_MARKER;
const shots = process.env.CALF_DASHBOARD_SCREENSHOTS;
const PATIENCE = 15000;

function step(text) {
  console.log(`step: ${text}`);
}

async function shot(page, name) {
  if (!shots) return;
  mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

async function login(page, user, password) {
  await page.goto(url, { waitUntil: "domcontentloaded" });
  await page.waitForSelector("#login:not([hidden])", { timeout: PATIENCE });
  await page.$eval("#user", (e) => (e.value = ""));
  await page.$eval("#password", (e) => (e.value = ""));
  await page.type("#user", user);
  await page.type("#password", password);
  await page.click("#login-button");
}

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  // Root in a container has no user namespaces for chromium's sandbox.
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1200, height: 900 });

  step("a wrong password is refused, and says what to do");
  await login(page, "acme-dev", "not-the-password");
  await page.waitForFunction(() => document.querySelector("#login-error").textContent.includes("wrong user or password"), { timeout: PATIENCE });
  await shot(page, "login");

  step("acme logs in and sees its processes, not globex's");
  await login(page, "acme-dev", "dev-acme");
  await page.waitForSelector(`section[data-tenant="acme"] tr[data-pid="${waiter}"]`, { timeout: PATIENCE });
  const tenants = await page.$$eval("section.tenant", (s) => s.map((e) => e.dataset.tenant));
  if (tenants.join(",") !== "acme") throw new Error(`acme sees the tenants ${tenants}`);
  const text = await page.$eval("body", (b) => b.innerText);
  if (text.includes(marker) || text.includes("globex")) throw new Error(`acme sees globex's ${marker}`);

  step("the chart moves while acme's job runs");
  const calls = () => page.$eval(`section[data-tenant="acme"] svg.chart`, (c) => Number(c.dataset.calls));
  const before = await calls();
  await page.waitForFunction(
    (n) => Number(document.querySelector(`section[data-tenant="acme"] svg.chart`).dataset.calls) > n + 2,
    { timeout: PATIENCE }, before);
  step(`calls on the chart went from ${before} to ${await calls()}`);

  step("the top table sorts by mailbox");
  await page.click(`section[data-tenant="acme"] th[data-sort="mailbox"]`);
  await page.waitForSelector(`section[data-tenant="acme"] th.sorted[data-sort="mailbox"]`, { timeout: PATIENCE });
  await shot(page, "overview");

  step("the supervision tree shows the waiter under its job");
  await page.goto(`${url}#/tree/acme`);
  await page.waitForSelector(`#tree li[data-pid="${waiter}"]`, { timeout: PATIENCE });
  await shot(page, "tree");

  step("another tenant's process cannot be opened by its url");
  await page.goto(`${url}#/process/globex/1`);
  await page.waitForFunction(() => (document.querySelector("#process-error")?.textContent || "").includes("no such tenant"), { timeout: PATIENCE });

  step("the process waiting on a call shows the call");
  await page.goto(`${url}#/process/acme/${waiter}`);
  await page.waitForFunction(() => (document.querySelector("#waiting-call")?.textContent || "").includes("slow-add"), { timeout: PATIENCE });
  await page.waitForSelector(`#process tr.call[data-outcome="in-flight"] td.subject`, { timeout: PATIENCE });
  const subject = await page.$eval(`#process tr.call[data-outcome="in-flight"] td.subject`, (e) => e.textContent);
  if (subject !== "slow-add") throw new Error(`the call in flight is ${subject}`);
  await shot(page, "process");

  step("kill it from the page and see it gone");
  await page.click("#kill");
  await page.waitForFunction(() => (document.querySelector("#process-error")?.textContent || "").includes("no such process"), { timeout: PATIENCE });
  await page.goto(`${url}#/`);
  await page.waitForSelector(`section[data-tenant="acme"] tr[data-pid]`, { timeout: PATIENCE });
  await page.waitForFunction(
    (pid) => !document.querySelector(`section[data-tenant="acme"] tr[data-pid="${pid}"]`),
    { timeout: PATIENCE }, waiter);

  step("the operator sees every tenant");
  const operator = await browser.createBrowserContext();
  const second = await operator.newPage();
  await second.setViewport({ width: 1200, height: 900 });
  await login(second, "calf-operator", "dev-operator");
  await second.waitForSelector(`section[data-tenant="globex"]`, { timeout: PATIENCE });
  await second.waitForSelector(`section[data-tenant="acme"]`, { timeout: PATIENCE });
  await shot(second, "operator");
  console.log("dashboard: every step passed");
} catch (e) {
  console.error(`dashboard: ${e.stack || e}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
