// The orders API docs in a real browser: headless Chromium (the system's, no browser download) driven by
// playwright-core from deploy/local/node_modules. Run by tests/integration/test_docs_browser.py:
//
//   node tests/support/docs_flow.mjs '<json config>'
//
// config: {chromium, docsUrl, authUrl, clientId, username, password, orderId, screenshotDir, steps, list}
// (steps: "page" = load, screenshot and try the API without a token; "full" = also log in through the
// local login page, create an order with Try it out, log out, and see Try it out get a 401; list: the
// GET operation tried without a token, {operationId, path}, default the orders list).
//
// Prints one JSON document on stdout: {ok, steps: [...], error?, ...what was seen}; exits 1 when a step
// failed (the document says which and why). Every request the pages make is recorded: one to another
// origin than the API's and the login page's fails the run (nothing may come from a CDN).
import { createRequire } from "node:module";

const require = createRequire(new URL("../../deploy/local/package.json", import.meta.url));
const { chromium } = require("playwright-core");

const config = JSON.parse(process.argv[2]);
const STEP_TIMEOUT = 15000;
// Swagger UI's OAuth2 buttons in the Authorize dialog (both have the class `authorize`; their labels differ)
const AUTHORIZE = '.auth-btn-wrapper button[aria-label="Apply given OAuth2 credentials"]';
const LOGOUT = '.auth-btn-wrapper button[aria-label="Remove authorization"]';
const result = { ok: false, steps: [], foreignRequests: [], pageErrors: [] };
let current = "start";

function step(name) {
  current = name;
  result.steps.push(name);
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

async function execute(page, operationId, method, path, body) {
  // Expand the operation, press "Try it out", fill the body, press Execute; returns the API's answer
  // as the browser saw it (status, body, the Authorization header sent) and the status Swagger UI shows.
  const op = page.locator(`#operations-default-${operationId}`);
  if (!(await op.locator(".opblock-body").isVisible())) await op.locator(".opblock-summary").first().click();
  const tryOut = op.locator("button.try-out__btn");
  if ((await tryOut.textContent()).trim() === "Try it out") await tryOut.click();
  if (body !== undefined) await op.locator("textarea.body-param__text").fill(JSON.stringify(body, null, 2));
  const answer = page.waitForResponse((r) => r.request().method() === method && new URL(r.url()).pathname === path);
  await op.locator("button.execute").click();
  const response = await answer;
  const shown = op.locator(".live-responses-table .response .response-col_status").first();
  await shown.waitFor({ timeout: STEP_TIMEOUT });
  await op.locator(".live-responses-table").first().screenshot({ path: `${config.screenshotDir}/${operationId}-response.png` });
  let json = null;
  try { json = await response.json(); } catch { /* not JSON: left null */ }
  const headers = await response.request().allHeaders();
  return { status: response.status(), shownStatus: (await shown.textContent()).trim(), body: json,
           authorization: headers["authorization"] ?? null, url: response.url() };
}

async function openAuthorize(page) {
  await page.locator(".scheme-container button.authorize").click();
  const dialog = page.locator(".dialog-ux .modal-ux");
  await dialog.waitFor({ timeout: STEP_TIMEOUT });
  return dialog;
}

async function closeAuthorize(dialog) {
  await dialog.locator("button.close-modal").click();
  await dialog.waitFor({ state: "detached", timeout: STEP_TIMEOUT });
}

async function logIn(page, context) {
  const dialog = await openAuthorize(page);
  await dialog.screenshot({ path: `${config.screenshotDir}/authorize-dialog.png` });
  result.clientIdShown = await dialog.locator("input#client_id, input[id^='client_id']").first().inputValue();
  const token = page.waitForResponse((r) => r.url().startsWith(`${config.authUrl}/oauth2/token`), { timeout: 60000 });
  const [popup] = await Promise.all([
    context.waitForEvent("page", { timeout: STEP_TIMEOUT }),
    dialog.locator(AUTHORIZE).click(),
  ]);
  step("login page");
  await popup.waitForLoadState("domcontentloaded");
  result.loginPageUrl = popup.url();
  check(popup.url().startsWith(`${config.authUrl}/`), `the Authorize popup opened ${popup.url()}, not the local login page`);
  await popup.locator("input[name=username]").fill(config.username);
  await popup.locator("input[name=password]").fill(config.password);
  const closed = popup.waitForEvent("close", { timeout: STEP_TIMEOUT });
  await popup.locator("form button[type=submit]").click();
  await closed;  // oauth2-redirect.html handed the code to the opener and closed the popup
  step("token exchange");
  const tokenResponse = await token;
  check(tokenResponse.status() === 200, `POST /oauth2/token answered ${tokenResponse.status()}`);
  const tokens = await tokenResponse.json();
  check(typeof tokens.id_token === "string", "the token response has no id_token");
  result.tokenRequest = Object.fromEntries(new URLSearchParams(tokenResponse.request().postData() ?? ""));
  delete result.tokenRequest.code;
  await dialog.locator(LOGOUT).waitFor({ timeout: STEP_TIMEOUT });
  result.authorizedText = (await dialog.locator(".auth-container").first().innerText()).slice(0, 400);
  await dialog.screenshot({ path: `${config.screenshotDir}/authorized-dialog.png` });
  await closeAuthorize(dialog);
  return tokens;
}

async function logOut(page) {
  const dialog = await openAuthorize(page);
  await dialog.locator(LOGOUT).click();
  await dialog.locator(AUTHORIZE).waitFor({ timeout: STEP_TIMEOUT });
  await closeAuthorize(dialog);
}

async function main() {
  const started = Date.now();
  const browser = await chromium.launch({ executablePath: config.chromium, headless: true, timeout: 30000 });
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    context.setDefaultTimeout(STEP_TIMEOUT);
    const allowed = new Set([new URL(config.docsUrl).origin, new URL(config.authUrl).origin]);
    context.on("request", (r) => {
      const url = new URL(r.url());
      if (!["data:", "blob:"].includes(url.protocol) && !allowed.has(url.origin)) result.foreignRequests.push(r.url());
    });
    context.on("page", (p) => p.on("pageerror", (e) => result.pageErrors.push(String(e))));
    const page = await context.newPage();
    page.on("pageerror", (e) => result.pageErrors.push(String(e)));

    step("docs page");
    const loaded = await page.goto(config.docsUrl);
    check(loaded.status() === 200, `GET ${config.docsUrl} answered ${loaded.status()}`);
    await page.locator(".opblock").first().waitFor({ timeout: STEP_TIMEOUT });
    result.title = await page.title();
    result.operations = await page.locator(".opblock .opblock-summary").evaluateAll((nodes) => nodes.map((n) =>
      [n.querySelector(".opblock-summary-method")?.textContent, n.querySelector(".opblock-summary-path")?.textContent,
       n.querySelector(".opblock-summary-description")?.textContent].filter(Boolean).join(" ")));
    result.screenshot = `${config.screenshotDir}/docs.png`;
    await page.screenshot({ path: result.screenshot, fullPage: true });

    if (config.steps === "full") {
      step("authorize");
      const tokens = await logIn(page, context);
      await page.screenshot({ path: `${config.screenshotDir}/authorized.png`, fullPage: false });

      step("create order");
      const order = { orderId: config.orderId, restaurantId: 1, totalAmount: 19.97, orderItems: [
        { id: 1, name: "Spaghetti", price: 9.99, quantity: 1 }, { id: 2, name: "Pizza - SMALL", price: 4.99, quantity: 2 }] };
      result.create = await execute(page, "create_order", "POST", "/orders", order);
      result.create.sentIdToken = result.create.authorization === `Bearer ${tokens.id_token}`;
      delete result.create.authorization;
      await page.screenshot({ path: `${config.screenshotDir}/created.png`, fullPage: false });

      step("logout");
      await logOut(page);
      // The login page's /logout (the docs' redirect page is a registered sign-out URL): asked with the
      // browser's own cookies, its redirect not followed (that page only works inside Swagger UI's popup).
      const logoutUri = `${new URL(config.docsUrl).origin}/docs/oauth2-redirect.html`;
      const bye = await context.request.get(`${config.authUrl}/logout?client_id=${encodeURIComponent(config.clientId)}` +
                                            `&logout_uri=${encodeURIComponent(logoutUri)}`, { maxRedirects: 0 });
      result.hostedLogout = { status: bye.status(), location: bye.headers()["location"] ?? null, logoutUri };
    }

    step("list without a token");
    const list = config.list ?? { operationId: "list_orders", path: "/orders" };
    result.listWithoutToken = await execute(page, list.operationId, "GET", list.path);
    step("done");
    result.ok = true;
  } finally {
    result.seconds = (Date.now() - started) / 1000;
    await browser.close();
  }
}

main().catch((error) => {
  result.error = `${current}: ${error.message.split("\n")[0]}`;
}).finally(() => {
  process.stdout.write(JSON.stringify(result) + "\n");
  process.exitCode = result.ok ? 0 : 1;
});
