// Buying access online, end to end: the portal's buy buttons, the Stripe
// stand-in's hosted pages and webhooks, the access decision, and a real
// registry that skopeo pulls from (scripts/e2e.sh wires them together; the
// portal's grace period for an overdue payment is E2E_BILLING_GRACE_SECONDS).
import { Browser, expect, Page, test } from "@playwright/test";
import {
  callFn,
  createPullCredential,
  demo,
  hydrated,
  logIn,
  pull,
  sessionIdOf,
  signUp,
  standin,
  standinUrl,
  uniqueEmail,
} from "./helpers";

const PASSWORD = "correct horse battery staple";
const GRACE_MS = Number(process.env.E2E_BILLING_GRACE_SECONDS ?? "20") * 1000;
const OVERDUE = "your access is suspended: payment overdue";
const REVOKED = "your access to this repository was revoked";

function unique() {
  return `${Date.now()}${Math.floor(Math.random() * 1e4)}`;
}

// A hydration mismatch leaves a page half-alive: fail the test on any.
const consoleErrors = new WeakMap<Page, string[]>();
function watchConsole(page: Page) {
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  consoleErrors.set(page, errors);
}
function noHydrationErrors(page: Page) {
  expect((consoleErrors.get(page) ?? []).filter((e) => /hydrat|panicked/i.test(e))).toEqual([]);
}

/** A fresh customer, signed up in a browser context of their own. */
async function newCustomer(browser: Browser, prefix: string) {
  const context = await browser.newContext();
  const page = await context.newPage();
  watchConsole(page);
  const email = uniqueEmail(prefix);
  await signUp(page, email, PASSWORD);
  return { page, email };
}

/**
 * On a catalogue product page: clicks the buy button, pays on the stand-in's
 * hosted page, waits on the portal's success page until the webhook has made
 * the access active; answers the Checkout Session id.
 */
async function buy(page: Page, button: RegExp, productName: string, opts: { slowStripe?: boolean } = {}) {
  await hydrated(page);
  await page.getByTestId("buy-buttons").getByRole("button", { name: button }).click();
  await page.waitForURL((u) => u.href.startsWith(`${standinUrl}/checkout/`));
  await expect(page.getByRole("heading", { name: `Pay ${productName}` })).toBeVisible();
  // A slow Stripe: its webhooks wait until released, so the success page
  // must show that it is still activating (the redirect grants nothing).
  if (opts.slowStripe) await standin.webhooks({ hold: true });
  let sessionId = "";
  const result = page.getByTestId("checkout-result");
  try {
    await page.getByRole("button", { name: "Pay", exact: true }).click();
    await page.waitForURL(/\/checkout\/success\?session_id=cs_/);
    sessionId = sessionIdOf(page.url());
    if (opts.slowStripe) {
      await hydrated(page);
      await expect(page.getByTestId("checkout-pending")).toHaveText("Activating your access…");
      await page.waitForTimeout(2_500); // several polls: still waiting for Stripe
      await expect(page.getByTestId("checkout-pending")).toBeVisible();
      await expect(page.getByTestId("checkout-active")).toHaveCount(0);
    }
  } finally {
    // Never leave the stand-in holding webhooks for the tests after this one.
    if (opts.slowStripe) await standin.webhooks({ hold: false });
  }
  if (!opts.slowStripe) {
    // Often the webhook has arrived by the time the page renders.
    await expect(result).toContainText(new RegExp(`Activating your access…|Access to ${productName} is active\\.`));
  }
  // It turns active by itself once the webhook is in.
  await expect(page.getByTestId("checkout-active")).toHaveText(`Access to ${productName} is active.`, { timeout: 30_000 });
  return sessionId;
}

/** The customer's orders page: the status of the order of `productName`. */
async function orderStatus(page: Page, productName: string) {
  await page.goto("/account/orders");
  await hydrated(page);
  return page.getByTestId("order").filter({ hasText: productName }).getByTestId("order-status");
}

/** Pulls until the pull is refused (≤ `limitMs`); answers when the refused attempt started and skopeo's words. */
async function pullUntilDenied(user: string, secret: string, limitMs: number) {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const startedAt = Date.now();
    const r = pull(user, secret);
    if (!r.ok) return { startedAt, stderr: r.stderr };
    expect(Date.now(), "the pull was still allowed at the time limit").toBeLessThan(deadline);
    await new Promise((f) => setTimeout(f, 1_000));
  }
}

test.describe.serial("buying access online", () => {
  // Shared by the subscription's steps.
  let customer: { page: Page; email: string };
  let cred: { user: string; secret: string };
  let sessionId = "";

  test.afterAll(async () => {
    await customer?.page.context().close();
  });

  test("a new customer subscribes monthly, pays on Stripe, and pulls with a new credential", async ({ browser }) => {
    test.setTimeout(120_000);
    customer = await newCustomer(browser, "subscriber");
    const page = customer.page;

    // The catalogue product that covers acme/widget.
    await page.getByTestId("main-nav").getByRole("link", { name: "Catalogue" }).click();
    const card = page.getByTestId("product-card").filter({ has: page.getByRole("heading", { name: "Acme Widget", exact: true }) });
    await expect(card).toContainText("acme/widget");
    await card.getByRole("link", { name: "Details" }).click();
    await expect(page).toHaveURL(/\/catalogue\/acme-widget$/);

    sessionId = await buy(page, /^Subscribe monthly/, "Acme Widget", { slowStripe: true });

    // The way on: a pull credential, then a real pull.
    await page.getByTestId("create-credential-link").click();
    cred = await createPullCredential(page, `laptop ${unique()}`);
    const first = pull(cred.user, cred.secret);
    expect(first.stderr).toBe("");
    expect(first.ok).toBe(true);

    await expect(await orderStatus(page, "Acme Widget")).toHaveText("active");
    noHydrationErrors(page);
  });

  test("a failed renewal keeps access through the grace period, then stops it until the invoice is paid", async () => {
    test.setTimeout(180_000);
    const page = customer.page;
    const { subscription } = await standin.session(sessionId);
    expect(subscription).toMatch(/^sub_/);

    // The next invoice fails when the period renews.
    await standin.subscription(subscription, "fail_next_invoice");
    const failedAt = Date.now();
    await standin.subscription(subscription, "advance");
    await standin.flush();

    // Within the grace period the pull still works (checked first: the grace runs)…
    expect(pull(cred.user, cred.secret)).toEqual({ ok: true, stderr: "" });
    expect(Date.now() - failedAt, "the check ran inside the grace period").toBeLessThan(GRACE_MS);
    await expect(await orderStatus(page, "Acme Widget")).toHaveText("payment overdue");

    // …then it is refused, in the portal's words, and not before the grace ended.
    const denied = await pullUntilDenied(cred.user, cred.secret, GRACE_MS + 40_000);
    expect(denied.startedAt - failedAt).toBeGreaterThanOrEqual(GRACE_MS - 1_000);
    expect(denied.stderr).toContain(OVERDUE);

    // The customer pays the open invoice: access is back at once.
    await standin.subscription(subscription, "pay_open_invoice");
    await standin.flush();
    expect(pull(cred.user, cred.secret)).toEqual({ ok: true, stderr: "" });
    await expect(await orderStatus(page, "Acme Widget")).toHaveText("active");

    // Manage billing opens Stripe's portal with the subscription, and comes back.
    await page.getByRole("button", { name: "Manage billing" }).click();
    await page.waitForURL((u) => u.href.startsWith(`${standinUrl}/billing_portal/`));
    await expect(page.locator(`li#${subscription} .status`)).toHaveText("active");
    await page.getByRole("link", { name: "Return" }).click();
    await expect(page).toHaveURL(/\/account\/orders$/);
    noHydrationErrors(page);
  });

  test("a one-time purchase gives access until its payment is refunded", async ({ browser, page: admin }) => {
    test.setTimeout(120_000);
    // The vendor sells acme/widget once, for a year of access.
    const n = unique();
    const name = `Acme Widget Perpetual ${n}`;
    await logIn(admin, demo.admin.email, demo.admin.password);
    await expect(admin).toHaveURL(/\/admin$/);
    const product = await (await callFn(admin, "admin/save_product", { name, repositories: "acme/widget" })).json();
    expect(product.id).toBeGreaterThan(0);
    const price = await callFn(admin, "admin/add_price", { product_id: `${product.id}`, kind: "one_time", duration: "12", amount: "590", currency: "usd" });
    expect(price.status(), await price.text()).toBe(200);
    const published = await callFn(admin, "admin/product_status", { id: `${product.id}`, status: "published" });
    expect(published.status(), await published.text()).toBe(200);

    const buyer = await newCustomer(browser, "one-time");
    const page = buyer.page;
    await page.goto(`/catalogue/${product.slug}`);
    const session = await buy(page, /^Buy 12 months/, name);

    await page.getByTestId("create-credential-link").click();
    const { user, secret } = await createPullCredential(page, `ci ${n}`);
    expect(pull(user, secret)).toEqual({ ok: true, stderr: "" });
    await expect(await orderStatus(page, name)).toHaveText("paid");

    // The vendor refunds the payment: the access ends at once.
    const { paymentIntent } = await standin.session(session);
    expect(paymentIntent).toMatch(/^pi_/);
    await standin.refund(paymentIntent);
    await standin.flush();
    const refused = pull(user, secret);
    expect(refused.ok).toBe(false);
    expect(refused.stderr).toContain(REVOKED);
    await expect(await orderStatus(page, name)).toHaveText("refunded");
    noHydrationErrors(page);
    await page.context().close();
  });

  // After the journey: the dashboard card counts its webhooks.
  test("a visitor who logs in to buy comes back to the product, and the admin sees Stripe's webhook arriving", async ({ page, browser }) => {
    await page.goto("/catalogue/acme-widget");
    await hydrated(page);
    await page.getByTestId("login-to-buy").click();
    await expect(page).toHaveURL(/\/login\?next=%2Fcatalogue%2Facme-widget$/);
    await page.getByLabel("E-mail").fill(demo.customer.email);
    await page.getByLabel("Password").fill(demo.customer.password);
    await page.getByRole("button", { name: "Log in" }).click();
    await expect(page).toHaveURL(/\/catalogue\/acme-widget$/);
    await hydrated(page);
    await expect(page.getByTestId("buy-buttons").getByRole("button", { name: /^Subscribe monthly/ })).toBeEnabled();
    await page.screenshot({ path: process.env.E2E_SHOTS ? `${process.env.E2E_SHOTS}/product.png` : undefined, fullPage: true });

    const admin = await (await browser.newContext()).newPage();
    try {
      await logIn(admin, demo.admin.email, demo.admin.password);
      await expect(admin).toHaveURL(/\/admin$/); // the admin's home: the dashboard
      const card = admin.getByTestId("billing-status");
      await expect(card.getByTestId("billing-state")).toHaveText("on");
      await expect(card.getByTestId("billing-settings")).toContainText(`access continues for ${GRACE_MS / 1000} seconds`);
      await expect(card.getByTestId("billing-webhooks")).toContainText(/webhook events processed in the last 24 hours/);
      // The demo catalogue predates Stripe's configuration: synced at start-up.
      await expect(card.getByTestId("billing-unsynced")).toHaveCount(0);
      await admin.screenshot({ path: process.env.E2E_SHOTS ? `${process.env.E2E_SHOTS}/admin.png` : undefined, fullPage: true });
    } finally {
      await admin.context().close();
    }
  });
});
