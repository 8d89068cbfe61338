// Real-browser journeys through Casemail in Debian's Chromium: two people corresponding,
// a plea negotiation, the sender's read receipts, an administrator at work, and the same
// basics with JavaScript off. Every page visited is checked with axe-core (WCAG 2.2 AA),
// console errors and CSP violations fail the run, and screenshots of the main pages are
// written to docs/screenshots/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createHmac } from "node:crypto";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { createServer } from "node:net";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const shots = join(root, "docs", "screenshots");
const axeSource = readFileSync(join(here, "node_modules", "axe-core", "axe.min.js"), "utf8");
const binary = process.env.CASEMAIL_BIN || join(root, "target", "debug", "casemail");

let server;
let base;
let data;
let password;
let browser;
const problems = [];
// Pages made during the run (a case and its plea page), checked later at phone width.
const casePages = [];

/// The environment that moves a process's clock `offset` ahead with libfaketime. The library
/// is preloaded into the server itself rather than run through the `faketime` wrapper, which
/// forks: killing the wrapper would leave the server running and the test run waiting on it.
function clockMoved(offset) {
  const lib = readdirSync("/usr/lib", { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => join("/usr/lib", entry.name, "faketime", "libfaketime.so.1"))
    .find((path) => existsSync(path));
  assert.ok(lib, "libfaketime is needed for the moved-clock journey: apt-get install faketime");
  return { LD_PRELOAD: lib, FAKETIME: offset, FAKETIME_DONT_FAKE_MONOTONIC: "1", FAKETIME_NO_CACHE: "1" };
}

function freePort() {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/// Starts Casemail on the demo's data directory with `extraEnv` added; resolves with the
/// process and its address once it serves.
async function serve(command, extraEnv = {}) {
  const port = await freePort();
  const child = spawn(binary, [command], {
    env: { ...process.env, CASEMAIL_BIND: `127.0.0.1:${port}`, CASEMAIL_DATA_DIR: data, RUST_LOG: "info", NO_COLOR: "1", ...extraEnv },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${log}`)), 60_000);
    const read = (chunk) => {
      log += chunk.toString();
      const found = log.match(/password is: (\S+)/);
      if (found) password = found[1];
      if (password && log.includes("Casemail is serving")) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on("data", read);
    child.stderr.on("data", read);
  });
  return { child, origin: `http://127.0.0.1:${port}` };
}

before(async () => {
  data = mkdtempSync(join(tmpdir(), "casemail-browser-"));
  // The gateway to secure mail domains is on (no mail server is needed for its pages).
  const started = await serve("demo", {
    CASEMAIL_GATEWAY: "1",
    CASEMAIL_GATEWAY_HOSTNAME: "mx.casemail.example",
    CASEMAIL_GATEWAY_LMTP_BIND: `127.0.0.1:${await freePort()}`,
    CASEMAIL_GATEWAY_SOCKETMAP_BIND: `127.0.0.1:${await freePort()}`,
    CASEMAIL_GATEWAY_SUBMIT: `127.0.0.1:${await freePort()}`,
  });
  server = started.child;
  base = started.origin;
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
  });
  mkdirSync(shots, { recursive: true });
});

after(async () => {
  await browser?.close();
  server?.kill();
});

async function person(options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options });
  const page = await context.newPage();
  page.on("console", (message) => {
    // A form sent back with its errors answers 422, which the console reports; that is
    // the intended answer, not a fault. So is the connection the upload test breaks.
    const expected = /status of 422|ERR_CONNECTION_RESET/.test(message.text());
    if (message.type() === "error" && !expected) problems.push(`${page.url()}: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`${page.url()}: ${error}`));
  return { context, page };
}

/// Runs axe on the page (through DevTools, which the page's CSP does not restrict).
async function accessible(page, name) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(() =>
    // eslint-disable-next-line no-undef
    axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"] } }),
  );
  const violations = result.violations.map((v) => `${v.id}: ${v.nodes.length} × ${v.help}`);
  assert.deepEqual(violations, [], `${name} has accessibility violations`);
}

async function shot(page, name) {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  const width = page.viewportSize().width;
  await page.setViewportSize({ width: 320, height: 800 });
  await page.screenshot({ path: join(shots, `${name}-mobile.png`), fullPage: true });
  await page.setViewportSize({ width, height: 900 });
}

async function signIn(page, email, origin = base) {
  await page.goto(`${origin}/sign-in`);
  await page.fill("#email", email);
  await page.fill("#password", password);
  await page.click("button:has-text('Sign in')");
  await page.waitForLoadState("networkidle");
}

/// RFC 6238 TOTP, as an authenticator app computes it.
function totp(secretBase32, time = Date.now()) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of secretBase32.replace(/=+$/, "")) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(time / 1000 / 30)));
  const mac = createHmac("sha1", key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  const code = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return code.toString().padStart(6, "0");
}

test("sign-in page is accessible", async () => {
  const { context, page } = await person();
  await page.goto(`${base}/sign-in`);
  await accessible(page, "sign-in");
  await shot(page, "sign-in");
  await page.click("button:has-text('Sign in')");
  await page.waitForSelector(".govuk-error-summary");
  await accessible(page, "sign-in with errors");
  await context.close();
});

test("a fiscal sends disclosure with an attachment and the agent replies", async () => {
  const fiscal = await person();
  await signIn(fiscal.page, "fiona.fiscal@pf.example");
  await accessible(fiscal.page, "inbox");
  await shot(fiscal.page, "inbox");

  await fiscal.page.goto(`${base}/compose`);
  await fiscal.page.fill("#to", "deborah@brodiewylie.example");
  await fiscal.page.fill("#subject", "Browser journey: productions");
  await fiscal.page.fill("#body", "Please find the productions attached.\nRegards");
  // Chosen files are listed by name, and one chosen by mistake can be taken out.
  await fiscal.page.setInputFiles("#attachments", [
    { name: "productions.txt", mimeType: "text/plain", buffer: Buffer.from("Production 1: CCTV still") },
    { name: "wrong-file.txt", mimeType: "text/plain", buffer: Buffer.from("not this one") },
  ]);
  await fiscal.page.waitForSelector("#chosen-files li:has-text('wrong-file.txt')");
  await fiscal.page.click("#chosen-files button:has-text('Remove wrong-file.txt')");
  assert.deepEqual(await fiscal.page.locator("#chosen-files li").allTextContents(), ["productions.txt (0.0 MB) Remove productions.txt"]);
  const options = await fiscal.page.locator("#case_id option").allTextContents();
  assert.ok(options.includes("PF/2026/000123: HMA v Campbell"), `cases offered with titles: ${options}`);
  await accessible(fiscal.page, "compose");
  await shot(fiscal.page, "compose");
  // The connection drops mid-upload: the page says so and keeps everything typed.
  await fiscal.page.route("**/compose", (route) => route.abort("connectionreset"));
  await fiscal.page.click("button:has-text('Send')");
  await fiscal.page.waitForSelector("text=The upload stopped before it was finished");
  assert.equal(await fiscal.page.inputValue("#subject"), "Browser journey: productions");
  await fiscal.page.unroute("**/compose");
  await fiscal.page.click("button:has-text('Send')");
  await fiscal.page.waitForURL(/\/threads\/\d+/);
  await fiscal.page.waitForSelector("text=Your message has been sent");
  const thread = fiscal.page.url().replace(/\?.*$/, "");
  await accessible(fiscal.page, "thread (sender)");

  const agent = await person();
  await signIn(agent.page, "deborah@brodiewylie.example");
  await agent.page.click("a.govuk-link:has-text('Browser journey: productions')");
  await agent.page.waitForSelector("text=productions.txt");
  await accessible(agent.page, "thread (recipient)");
  await shot(agent.page, "thread");
  await agent.page.click(".app-message a:has-text('Reply'):visible >> nth=0");
  await agent.page.fill("#body", "Received, thank you.");
  await agent.page.click("button:has-text('Send')");
  await agent.page.waitForSelector("text=Received, thank you.");

  await fiscal.page.goto(thread);
  // The original message is folded once a newer one arrives; its timeline is inside.
  await fiscal.page.click("summary:has-text('Fiona Fiscal (you)')");
  await fiscal.page.waitForSelector(".app-receipts");
  const receipts = await fiscal.page.textContent(".app-receipts");
  assert.ok(!receipts.includes("Not opened"), "the sender sees that the agent opened it");
  await shot(fiscal.page, "receipts");

  for (const p of [fiscal, agent]) {
    await p.page.click("button:has-text('Sign out')");
    await p.page.waitForURL(/signed_out/);
    // Only htmx's record of the current path (the sign-in page) may remain: no content.
    const stored = await p.page.evaluate(() => [...Object.entries(localStorage), ...Object.entries(sessionStorage)]);
    const leftovers = stored.filter(([key, value]) => !(key === "htmx-current-path-for-history" && value.startsWith("/sign-in")));
    assert.deepEqual(leftovers, [], "nothing sensitive left in browser storage after sign-out");
    await p.context.close();
  }
});

test("a letter asking for a reply by a date is due, answered, and seen answered", async () => {
  const fiscal = await person();
  await signIn(fiscal.page, "fiona.fiscal@pf.example");
  await fiscal.page.goto(`${base}/compose`);
  await fiscal.page.fill("#to", "deborah@brodiewylie.example");
  await fiscal.page.fill("#subject", "Browser journey: reply by");
  await fiscal.page.fill("#body", "Please confirm the trial diet suits.");
  const by = new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 10);
  await fiscal.page.fill("#reply_by", by);
  await fiscal.page.click("button:has-text('Send')");
  await fiscal.page.waitForSelector("text=You asked for a reply by");

  const agent = await person();
  await signIn(agent.page, "deborah@brodiewylie.example");
  await agent.page.click("a:has-text('Needs reply')");
  await agent.page.waitForURL(/\/mail\/due/);
  const row = agent.page.locator("tr:has-text('Browser journey: reply by')");
  assert.match(await row.textContent(), /Reply by \d+ \w+/, "the due mark is in the list");
  await accessible(agent.page, "needs reply");
  await shot(agent.page, "needs-reply");
  await row.locator("a.app-mail-row__open").click();
  await agent.page.waitForSelector("text=needs your reply by");
  await accessible(agent.page, "thread awaiting a reply");
  await shot(agent.page, "thread-needs-reply");
  await agent.page.click(".app-reply-awaited + form a:has-text('Reply')");
  await agent.page.fill("#body", "The diet suits.");
  await agent.page.click("button:has-text('Send')");
  await agent.page.waitForSelector("text=The diet suits.");
  assert.equal(await agent.page.locator("text=needs your reply by").count(), 0, "answered by the reply");

  await fiscal.page.goto(`${base}/mail/sent`);
  const sent = fiscal.page.locator("tr:has-text('Browser journey: reply by')").first();
  assert.match(await sent.textContent(), /Answered/, "the sender sees it answered");
  for (const p of [fiscal, agent]) await p.context.close();
});

test("a depute works in a fiscal's mailbox as a delegate and sends on her behalf", async () => {
  const owner = await person();
  await signIn(owner.page, "fiona.fiscal@pf.example");
  await owner.page.goto(`${base}/account/delegates`);
  await owner.page.fill("#email", "duncan.depute@pf.example");
  await owner.page.check("#access-send");
  await owner.page.click("button:has-text('Save delegate')");
  await owner.page.waitForSelector("text=Your delegate can now open your mailbox");

  const depute = await person();
  await signIn(depute.page, "duncan.depute@pf.example");
  await depute.page.click("a:has-text('Team and delegated mailboxes')");
  await depute.page.click("button:has-text('Open Fiona Fiscal')");
  await depute.page.waitForSelector("text=Working as a delegate");
  await accessible(depute.page, "delegated inbox");
  await shot(depute.page, "delegated-inbox");
  await depute.page.goto(`${base}/compose`);
  await depute.page.fill("#to", "deborah@brodiewylie.example");
  await depute.page.fill("#subject", "Browser journey: on behalf");
  await depute.page.fill("#body", "The fiscal asks me to confirm the diet.");
  await depute.page.click("button:has-text('Send')");
  await depute.page.waitForSelector("text=Sent by Duncan Depute on behalf of Fiona Fiscal");
  await depute.page.click("button:has-text('Back to your own mailbox')");
  await depute.page.waitForURL(/\/mail\/inbox/);
  assert.equal(await depute.page.locator("text=Working as a delegate").count(), 0);

  const agent = await person();
  await signIn(agent.page, "deborah@brodiewylie.example");
  await agent.page.click("a.govuk-link:has-text('Browser journey: on behalf')");
  await agent.page.waitForSelector("text=Sent by Duncan Depute on behalf of Fiona Fiscal");

  await owner.page.goto(`${base}/account/delegates`);
  const did = await owner.page.textContent("table:has-text('What happened')");
  assert.match(did, /Message sent/, "the owner sees what the delegate did");
  await accessible(owner.page, "delegates");
  await shot(owner.page, "delegates");
  for (const p of [owner, depute, agent]) await p.context.close();
});

test("a team letter is taken by one member, answered by another and seen answered", async () => {
  const depute = await person();
  await signIn(depute.page, "duncan.depute@pf.example");
  await depute.page.click("a:has-text('Team and delegated mailboxes')");
  await depute.page.click("button:has-text('Open the Sheriff Summary Team mailbox')");
  await depute.page.waitForSelector("text=Working in a team mailbox");
  await accessible(depute.page, "team inbox");
  await shot(depute.page, "team-inbox");
  await depute.page.click("a.govuk-link:has-text('HMA v Reid')");
  await depute.page.click("button:has-text('Take it myself')");
  await depute.page.waitForSelector("text=Now with Duncan Depute");
  await accessible(depute.page, "team letter");

  const fiscal = await person();
  await signIn(fiscal.page, "fiona.fiscal@pf.example");
  await fiscal.page.goto(`${base}/delegations`);
  await fiscal.page.click("button:has-text('Open the Sheriff Summary Team mailbox')");
  await fiscal.page.waitForSelector("text=With Duncan Depute");
  await fiscal.page.click("a.govuk-link:has-text('HMA v Reid')");
  await fiscal.page.click("a:has-text('Reply from the team')");
  await fiscal.page.fill("#body", "The Crown will not oppose the motion.");
  await fiscal.page.click("button:has-text('Send')");
  await fiscal.page.waitForSelector("text=Sent by Fiona Fiscal on behalf of Sheriff Summary Team");
  await shot(fiscal.page, "team-letter");

  await depute.page.reload();
  await depute.page.waitForSelector(".app-team-handling >> text=Answered");
  await depute.page.click("button:has-text('Back to your own mailbox')");
  await depute.page.goto(`${base}/teams`);
  await depute.page.click("a:has-text('Members')");
  await accessible(depute.page, "team members");

  const agent = await person();
  await signIn(agent.page, "deborah@brodiewylie.example");
  await agent.page.click("a.govuk-link:has-text('HMA v Reid')");
  await agent.page.waitForSelector("text=Sent by Fiona Fiscal on behalf of Sheriff Summary Team");
  for (const p of [depute, fiscal, agent]) await p.context.close();
});

test("a plea negotiation runs between two browsers to a minute of agreement", async () => {
  const fiscal = await person();
  const agent = await person();
  await signIn(fiscal.page, "fiona.fiscal@pf.example");
  await signIn(agent.page, "deborah@brodiewylie.example");
  await fiscal.page.goto(`${base}/cases/new`);
  await fiscal.page.fill("#reference", `PF/2026/${Date.now() % 1000000}`);
  await fiscal.page.fill("#title", "HMA v Browser");
  await fiscal.page.fill("#court", "Glasgow Sheriff Court");
  await fiscal.page.fill("#accused", "Ann Browser");
  await fiscal.page.fill("#charges", "Assault\nBreach of the peace");
  await accessible(fiscal.page, "new case");
  await fiscal.page.click("button:has-text('Create case')");
  await fiscal.page.waitForURL(/\/cases\/\d+/);
  const casePage = fiscal.page.url().replace(/\?.*$/, "");
  await fiscal.page.fill("#email", "deborah@brodiewylie.example");
  await fiscal.page.click("button:has-text('Add to case')");
  await fiscal.page.waitForSelector("text=participant has been added");
  await accessible(fiscal.page, "case");
  await shot(fiscal.page, "case");

  casePages.push(casePage, `${casePage}/plea`);
  await fiscal.page.goto(`${casePage}/plea`);
  await fiscal.page.check("#position_1");
  await fiscal.page.check("#position_2_not_guilty_accepted");
  await fiscal.page.fill("#terms", "Narrative to be agreed");
  await accessible(fiscal.page, "plea (offer form)");
  await fiscal.page.click("button:has-text('Send offer')");
  await fiscal.page.waitForSelector("text=Offer waiting for an answer");

  await agent.page.goto(`${casePage}/plea`);
  await accessible(agent.page, "plea (answer form)");
  await agent.page.click("summary:has-text('Make a counter-offer instead')");
  await agent.page.check("#position_1_guilty_as_amended");
  await agent.page.fill("#amended_1", "under deletion of 'repeatedly'");
  await agent.page.check("#position_2_not_guilty_accepted");
  await agent.page.click("button:has-text('Send counter-offer')");
  await agent.page.waitForSelector("text=(version 2)");

  await fiscal.page.goto(`${casePage}/plea`);
  fiscal.page.once("dialog", (dialog) => dialog.accept());
  await fiscal.page.click("button:has-text('Accept offer version 2')");
  await fiscal.page.waitForSelector("text=The agreed terms are final");
  await shot(fiscal.page, "plea-agreed");
  await agent.page.goto(`${casePage}/plea/minute`);
  await agent.page.waitForSelector("text=Minute of agreement");
  // The agent never retyped the other terms: the counter-offer started from the offer.
  assert.ok(
    (await agent.page.textContent("main")).includes("Narrative to be agreed"),
    "an untouched term of the offer is kept in the agreed minute",
  );
  await accessible(agent.page, "minute of agreement");
  await shot(agent.page, "minute");

  await fiscal.page.goto(`${casePage}/audit`);
  await fiscal.page.waitForSelector("text=is intact");
  await accessible(fiscal.page, "case audit");
  await shot(fiscal.page, "case-audit");
  await fiscal.context.close();
  await agent.context.close();
});

test("a jurisdiction admin sets up a second factor and restores a defence agent", async () => {
  const admin = await person();
  await signIn(admin.page, "morag.manager@pf.example");
  await admin.page.waitForURL(/two-factor/);
  await accessible(admin.page, "second factor set-up");
  const secret = (await admin.page.textContent("#totp-secret")).trim();
  await admin.page.fill("#code", totp(secret));
  await admin.page.click("button:has-text('Confirm')");
  await admin.page.waitForSelector("text=Your recovery codes");

  await admin.page.goto(`${base}/admin/users?status=locked`);
  await accessible(admin.page, "admin users");
  await shot(admin.page, "admin-users");
  await admin.page.click("a:has-text('Lachlan Locked')");
  await admin.page.click("button:has-text('Unlock account')");
  await admin.page.waitForSelector("text=the account is now unlocked");
  const agent = await person();
  await signIn(agent.page, "lachlan@kerrlegal.example");
  await agent.page.waitForSelector("h1:has-text('Inbox')");
  await agent.context.close();
  await admin.page.click("a:has-text('Kirsty Kerr')");
  await accessible(admin.page, "admin user");
  for (const path of [new URL(admin.page.url()).pathname, "/admin/users", "/admin/invitations", "/cases/new"]) {
    await admin.page.setViewportSize({ width: 320, height: 640 });
    const response = await admin.page.goto(`${base}${path}`);
    assert.equal(response.status(), 200, path);
    const width = await admin.page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 320, `${path} is ${width} px wide at 320 px`);
  }
  await admin.page.setViewportSize({ width: 1280, height: 900 });
  await admin.page.goto(`${base}/admin/users`);
  await admin.page.click("a:has-text('Kirsty Kerr')");
  await admin.page.click("button:has-text('Suspend account')");
  await admin.page.waitForSelector("text=the account is now suspended");
  await admin.page.click("a:has-text('Kirsty Kerr')");
  await admin.page.click("button:has-text('Reactivate account')");
  await admin.page.waitForSelector("text=the account is now reactivated");
  await admin.context.close();
});

test("a firm administrator signs in with a passkey instead of a code", async () => {
  // Passkeys belong to a name, not an IP address: this journey uses localhost, the name
  // the server gives itself on a loopback address.
  const named = base.replace("127.0.0.1", "localhost");
  const angus = await person();
  const cdp = await angus.context.newCDPSession(angus.page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  await signIn(angus.page, "angus@brodiewylie.example", named);
  await angus.page.waitForURL(/two-factor/);
  await angus.page.click("a:has-text('add a passkey')");
  await angus.page.waitForSelector("h1:has-text('Passkeys')");
  await accessible(angus.page, "passkeys");
  await angus.page.click("button:has-text('Add a passkey')");
  await angus.page.waitForSelector("text=Enter a name for the passkey");
  await angus.page.fill("#name", "Office laptop");
  await angus.page.click("button:has-text('Add a passkey')");
  await angus.page.waitForSelector("text=Your recovery codes");
  await angus.page.waitForSelector("dt:has-text('Office laptop')");
  await accessible(angus.page, "passkey added");
  await shot(angus.page, "passkeys");
  const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
  assert.equal(credentials.length, 1, "the authenticator holds one passkey");

  await angus.page.click("button:has-text('Sign out')");
  await signIn(angus.page, "angus@brodiewylie.example", named);
  await angus.page.waitForURL(/sign-in\/code/);
  await angus.page.waitForSelector("button:has-text('Use your passkey')");
  await accessible(angus.page, "sign in with a passkey");
  await shot(angus.page, "sign-in-passkey");
  await angus.page.click("button:has-text('Use your passkey')");
  await angus.page.waitForSelector("h1:has-text('Inbox')");
  const after = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
  assert.ok(after.credentials[0].signCount >= 1, "the passkey signed the sign-in");
  await angus.page.goto(`${named}/account/passkeys`);
  await angus.page.waitForSelector("dt:has-text('Office laptop')");
  assert.equal(await angus.page.locator("text=Not used yet").count(), 0, "its last use is shown");
  await angus.context.close();
});

test("the main journeys work with JavaScript off", async () => {
  const fiscal = await person({ javaScriptEnabled: false });
  await signIn(fiscal.page, "duncan.depute@pf.example");
  await fiscal.page.goto(`${base}/compose`);
  await fiscal.page.fill("#to", "kirsty@kerrlegal.example");
  await fiscal.page.fill("#subject", "Sent without JavaScript");
  await fiscal.page.fill("#body", "Plain form post.");
  await fiscal.page.click("button:has-text('Send')");
  await fiscal.page.waitForSelector("text=Your message has been sent");
  await fiscal.page.goto(`${base}/mail/sent`);
  await fiscal.page.check("table input[type=checkbox] >> nth=0");
  await fiscal.page.click("button:has-text('Delete')");
  await fiscal.page.waitForSelector("text=Moved to Deleted");

  // Sorting and filtering are links and a plain form.
  await fiscal.page.goto(`${base}/mail/sent`);
  await fiscal.page.click("th a:has-text('Subject')");
  assert.match(fiscal.page.url(), /sort=subject&order=asc/);
  const subjects = await fiscal.page.locator(".app-mail-row__open").allTextContents();
  const keys = subjects.map((s) => s.replace(/^(re|fwd?):\s*/i, "").toLowerCase());
  assert.ok(keys.length > 1, "the folder lists several messages");
  assert.deepEqual(keys, [...keys].sort(), "listed A to Z");
  await fiscal.page.check("#filter-unread");
  await fiscal.page.click("button:has-text('Apply')");
  assert.match(fiscal.page.url(), /unread=1/);
  assert.match(fiscal.page.url(), /sort=subject/);
  await fiscal.page.waitForSelector(".moj-filter__tag:has-text('unread')");
  await fiscal.page.click("a:has-text('Clear filters')");
  assert.doesNotMatch(fiscal.page.url(), /unread/);
  await fiscal.context.close();
});

test("a working day: a dense inbox, shortcuts, and times in the office's zone", async () => {
  const fiscal = await person({ viewport: { width: 1280, height: 800 } });
  await signIn(fiscal.page, "fiona.fiscal@pf.example");
  await fiscal.page.waitForSelector("h1:has-text('Inbox')");
  const visible = await fiscal.page.evaluate(
    () => [...document.querySelectorAll(".app-mail-row")].filter((row) => row.getBoundingClientRect().bottom <= innerHeight).length,
  );
  assert.ok(visible >= 20, `at least 20 messages on the first screen at 1280×800 (saw ${visible})`);
  assert.match(await fiscal.page.title(), /^\(\d+\) Inbox/, "the tab title carries the unread count");

  // Each short date carries the full date and zone, and agrees with Europe/London.
  const times = await fiscal.page.evaluate(() =>
    [...document.querySelectorAll("#message-list time")].slice(0, 5).map((t) => {
      const at = new Date(t.getAttribute("datetime"));
      const london = new Intl.DateTimeFormat("en-GB", {
        timeZone: "Europe/London", hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZoneName: "short",
      }).format(at);
      return { title: t.getAttribute("title"), london };
    }),
  );
  assert.ok(times.length > 0);
  for (const { title, london } of times) {
    const [clock, zone] = london.split(" ");
    assert.ok(title.endsWith(`${clock} ${zone}`), `"${title}" is Europe/London time (${london})`);
  }

  // Shortcuts: down twice, open, reply puts the cursor in the body.
  await fiscal.page.keyboard.press("j");
  await fiscal.page.keyboard.press("j");
  const second = await fiscal.page.locator(".app-mail-row").nth(1).getAttribute("class");
  assert.match(second, /app-mail-row--current/, "j moves down the list");
  await fiscal.page.keyboard.press("k");
  await fiscal.page.keyboard.press("j");
  await fiscal.page.keyboard.press("o");
  await fiscal.page.waitForURL(/\/threads\/\d+/);
  await fiscal.page.keyboard.press("r");
  await fiscal.page.waitForURL(/\/compose\?reply_to=/);
  assert.equal(await fiscal.page.evaluate(() => document.activeElement?.id), "body", "replying puts the cursor in the body");
  // Typing in a field never fires a shortcut.
  await fiscal.page.keyboard.type("c?j");
  assert.match(fiscal.page.url(), /\/compose\?reply_to=/);
  assert.ok((await fiscal.page.inputValue("#body")).startsWith("c?j"));
  await fiscal.page.goto(`${base}/mail/inbox`);
  await fiscal.page.keyboard.press("?");
  await fiscal.page.waitForSelector("#shortcuts[open]");
  await accessible(fiscal.page, "keyboard shortcuts");
  await fiscal.page.keyboard.press("Escape");
  await fiscal.page.keyboard.press("/");
  assert.equal(await fiscal.page.evaluate(() => document.activeElement?.id), "nav-search");
  await fiscal.page.evaluate(() => document.activeElement?.blur());
  const subject = await fiscal.page.locator(".app-mail-row__open").first().textContent();
  await fiscal.page.keyboard.press("j");
  await fiscal.page.keyboard.press("e");
  await fiscal.page.waitForSelector("text=Moved to Archive");
  await fiscal.page.goto(`${base}/mail/archive`);
  await fiscal.page.waitForSelector(`text=${subject.replace(" (unread)", "").trim()}`);
  // In a conversation, e archives the conversation and returns to the inbox.
  await fiscal.page.goto(`${base}/mail/inbox`);
  await fiscal.page.locator(".app-mail-row__open").first().click();
  await fiscal.page.waitForURL(/\/threads\/\d+/);
  await fiscal.page.keyboard.press("e");
  await fiscal.page.waitForSelector("text=Moved to Archive");

  // The print view shows the conversation with no navigation when printed.
  await fiscal.page.goto(`${base}/mail/inbox`);
  await fiscal.page.locator(".app-mail-row__open").first().click();
  await fiscal.page.click("a:has-text('Print the conversation')");
  await fiscal.page.emulateMedia({ media: "print" });
  assert.equal(await fiscal.page.locator(".govuk-service-navigation").isVisible(), false);
  assert.ok(await fiscal.page.locator(".app-print-message").first().isVisible());
  await fiscal.page.emulateMedia({ media: "screen" });
  await fiscal.context.close();
});

test("a service administrator lists a secure mail domain and a fiscal is told a letter will leave Casemail", async () => {
  const admin = await person();
  await signIn(admin.page, "admin@casemail.example");
  await admin.page.waitForURL(/two-factor/);
  const secret = (await admin.page.textContent("#totp-secret")).trim();
  await admin.page.fill("#code", totp(secret));
  await admin.page.click("button:has-text('Confirm')");
  await admin.page.waitForSelector("text=Your recovery codes");
  await admin.page.goto(`${base}/admin/domains`);
  await accessible(admin.page, "secure mail domains, empty");
  // A mistake first: the form comes back with what to do, everything typed kept.
  await admin.page.fill("#domain", "copfs");
  await admin.page.fill("#organisation", "Crown Office secure mail");
  await admin.page.click("button:has-text('Add domain')");
  await admin.page.waitForSelector(".govuk-error-summary");
  assert.equal(await admin.page.inputValue("#organisation"), "Crown Office secure mail");
  await accessible(admin.page, "secure mail domains, with an error");
  await admin.page.fill("#domain", "copfs.gov.example");
  await admin.page.click("button:has-text('Add domain')");
  await admin.page.waitForSelector("h3:has-text('copfs.gov.example')");
  await accessible(admin.page, "secure mail domains");
  await shot(admin.page, "admin-domains");
  await admin.page.setViewportSize({ width: 320, height: 640 });
  const width = await admin.page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 320, `the secure domains page is ${width} px wide at 320 px`);
  await admin.context.close();

  const fiscal = await person();
  await signIn(fiscal.page, "fiona.fiscal@pf.example");
  await fiscal.page.goto(`${base}/compose?to=${encodeURIComponent("clerk@copfs.gov.example")}`);
  await fiscal.page.waitForSelector("text=This letter will leave Casemail for clerk@copfs.gov.example");
  await fiscal.page.click("summary:has-text('Writing to someone outside Casemail')");
  await fiscal.page.waitForSelector("text=TLS with a verified certificate");
  await accessible(fiscal.page, "compose to someone outside Casemail");
  await shot(fiscal.page, "compose-outside");
  await fiscal.page.goto(`${base}/directory`);
  await fiscal.page.waitForSelector("h2:has-text('Secure mail domains')");
  await accessible(fiscal.page, "directory with secure domains");
  await fiscal.context.close();
});

test("no page is wider than a 320 px phone", async () => {
  const phone = await person({ viewport: { width: 320, height: 640 } });
  await signIn(phone.page, "fiona.fiscal@pf.example");
  const first = await phone.page.locator(".app-mail-row").first().boundingBox();
  assert.ok(first && first.y + first.height <= 640, "a message is on a phone's first screen");
  await phone.page.locator(".app-mail-row__open").first().click();
  await phone.page.waitForURL(/\/threads\/\d+/);
  const thread = new URL(phone.page.url()).pathname;
  const pages = [
    "/mail/inbox", "/mail/inbox?sort=subject&unread=1", "/mail/sent", "/mail/archive", "/mail/due", "/drafts", thread,
    `${thread}?print=1`, "/compose", "/cases", "/directory", "/search?q=hma", "/account", "/account/delegates", "/delegations", ...casePages.map((p) => new URL(p).pathname),
  ];
  for (const path of pages) {
    await phone.page.goto(`${base}${path}`);
    const width = await phone.page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 320, `${path} is ${width} px wide at 320 px`);
    await accessible(phone.page, `${path} at 320 px`);
  }
  // The team's members page and the team's own mailbox.
  await phone.page.goto(`${base}/delegations`);
  await phone.page.click("a:has-text('Members')");
  await phone.page.waitForURL(/\/teams\/\d+/);
  await phone.page.goto(`${base}/delegations`);
  await phone.page.click("button:has-text('Open the Sheriff Summary Team mailbox')");
  await phone.page.waitForSelector("text=Working in a team mailbox");
  await phone.page.click("a.govuk-link:has-text('HMA v Reid')");
  await phone.page.waitForURL(/\/threads\/\d+/);
  const width = await phone.page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 320, `a team letter is ${width} px wide at 320 px`);
  await accessible(phone.page, "team letter at 320 px");
  await phone.page.click("button:has-text('Back to your own mailbox')");
  await phone.context.close();
});

// Last of the journeys: the second server's clock runs days ahead, and its background
// jobs then see every earlier session as long idle.
test("a reply-by letter goes overdue once its date has passed (on a clock moved ahead)", async () => {
  const agent = await person();
  await signIn(agent.page, "kirsty@kerrlegal.example");
  await agent.page.goto(`${base}/compose`);
  await agent.page.fill("#to", "fiona.fiscal@pf.example");
  await agent.page.fill("#subject", "Browser journey: goes overdue");
  await agent.page.fill("#body", "Please confirm the witness list.");
  const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  await agent.page.fill("#reply_by", tomorrow);
  await agent.page.click("button:has-text('Send')");
  await agent.page.waitForSelector("text=You asked for a reply by");
  await agent.context.close();

  // The same deployment, three days on: a second instance under libfaketime.
  const later = await serve("serve", clockMoved("+3d"));
  try {
    const fiscal = await person();
    await signIn(fiscal.page, "fiona.fiscal@pf.example", later.origin);
    const row = fiscal.page.locator("tr:has-text('Browser journey: goes overdue')");
    assert.match(await row.textContent(), /Overdue, due/, "the inbox marks it overdue");
    await fiscal.page.click("a:has-text('Needs reply')");
    await fiscal.page.waitForSelector("h2:has-text('Overdue')");
    await accessible(fiscal.page, "overdue letters");
    await shot(fiscal.page, "needs-reply-overdue");
    await fiscal.page.locator("tr:has-text('Browser journey: goes overdue') a.app-mail-row__open").click();
    await fiscal.page.waitForSelector("text=it is overdue");
    await fiscal.page.click("button:has-text('No reply needed')");
    await fiscal.page.waitForURL(/no_reply=1/);
    await fiscal.context.close();

    const sender = await person();
    await signIn(sender.page, "kirsty@kerrlegal.example", later.origin);
    await sender.page.goto(`${later.origin}/mail/sent`);
    const sent = sender.page.locator("tr:has-text('Browser journey: goes overdue')").first();
    assert.match(await sent.textContent(), /No reply needed/, "the sender sees how it was closed");
    await sender.context.close();
  } finally {
    later.child.kill();
  }
});

test("no console errors or CSP violations on any page", () => {
  assert.deepEqual(problems, []);
});
