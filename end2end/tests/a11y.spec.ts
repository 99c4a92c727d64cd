// Every page, as every role sees it, at a desktop and a phone width: no axe
// violations (WCAG 2.0/2.1/2.2 A and AA), no sideways scrolling, no console
// errors, and a full-page screenshot of each under test-results/screens/ to
// look through by eye. One browser context per role and width, one log-in
// per role, each context's pages visited one after another (the two widths
// of a role side by side).
import AxeBuilder from "@axe-core/playwright";
import { expect, Page, test } from "@playwright/test";
import * as fs from "node:fs";
import * as path from "node:path";
import { demo, hydrated, logIn } from "./helpers";

type Role = "anonymous" | "customer" | "admin" | "auditor";
const roles: Role[] = ["admin", "auditor", "customer", "anonymous"];
const widths = [
  { name: "desktop", width: 1280, height: 800 },
  { name: "phone", width: 390, height: 844 },
];

const screens = path.resolve(__dirname, "../test-results/screens");

// The pages with an id in their path: found once (as the admin) from the lists that link to them.
const detail: Record<string, string> = {};

const all = [
  "/",
  "/catalogue",
  "{product}",
  "/login",
  "/signup",
  "/signup/sent",
  "/forgot-password",
  "/login/code",
  "/confirm-email?token=0",
  "/reset-password?token=0",
  "/unsubscribe?token=0",
  "/demo/mailbox",
  "/checkout/success?session_id=cs_unknown",
  "/account",
  "/account/credentials",
  "/account/orders",
  "/account/organisation",
  "/account/pulls",
  "/settings",
  "/admin",
  "/admin/products",
  "{editor}",
  "/admin/customers",
  "{customer}",
  "/admin/users",
  "/admin/api-keys",
  "/admin/push-credentials",
  "/admin/mail",
  "/audit",
  "{audit}",
];

async function hrefOf(page: Page, url: string, selector: string): Promise<string> {
  await page.goto(url);
  const href = await page.locator(selector).first().getAttribute("href");
  expect(href, `a link ${selector} on ${url}`).toBeTruthy();
  return href!;
}

/** As the admin: the product, product editor, customer and audit event pages to visit. */
async function findDetailPages(page: Page) {
  detail.product = await hrefOf(page, "/catalogue", 'main a[href^="/catalogue/"]');
  detail.editor = await hrefOf(page, "/admin/products", 'main a[href^="/admin/products/"]');
  detail.customer = await hrefOf(page, "/admin/customers", 'main a[href^="/admin/customers/"]');
  detail.audit = await hrefOf(page, "/audit", 'main a[href^="/audit/events/"]');
}

function pages(): string[] {
  return all.map((p) => p.replace(/^\{(\w+)\}$/, (_, k) => detail[k]));
}

/** Visits every page in one context; answers what is wrong, one line each. */
async function visitAll(page: Page, role: Role, width: string): Promise<string[]> {
  const problems: string[] = [];
  page.on("console", (m) => {
    // A page the role may not see answers 403 (a stale link 404 or 422) as
    // its HTTP status, and Chromium logs that status for the document
    // itself: the page says so in words, so that line is not an error here.
    const documentStatus = m.location().url === page.url() && /^Failed to load resource: the server responded with a status of 4\d\d/.test(m.text());
    if (m.type() === "error" && !documentStatus) problems.push(`${page.url()}: console: ${m.text()}`);
    // Leptos warns when a resource is read outside <Suspense/>/<Transition/>.
    if (m.type() === "warning" && /outside a <Suspense\/>/.test(m.text())) problems.push(`${page.url()}: console: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`${page.url()}: ${e.message}`));
  for (const url of pages()) {
    await page.goto(url);
    // Waits as `hydrated` does, but notices at once (no growing poll
    // interval: that alone cost seconds over ~60 pages); `hydrated` says
    // what was loaded when it fails.
    await page.waitForSelector("body[data-hydrated]", { state: "attached", timeout: 30_000 }).catch(() => hydrated(page));
    // The title is set again once a lazily loaded page's code has arrived.
    await page.waitForFunction(() => document.title.trim() !== "", undefined, { timeout: 10_000 });
    // Legacy mode: axe.run in the page itself (no frames here). The default
    // opens a blank page per check to merge frames' results, which doubled
    // this file's run time.
    const axe = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]).setLegacyMode().analyze();
    for (const v of axe.violations) {
      const nodes = v.nodes.map((n) => `${n.target.join(" ")}: ${n.failureSummary?.split("\n").slice(1, 2).join("")}`);
      problems.push(`${url} (${width}): ${v.id} (${v.impact}): ${v.help}\n    ${nodes.join("\n    ")}`);
    }
    const { scroll, client } = await page.evaluate(() => ({
      scroll: document.scrollingElement!.scrollWidth,
      client: document.scrollingElement!.clientWidth,
    }));
    if (scroll > client) problems.push(`${url} (${width}): scrolls sideways (${scroll} > ${client})`);
    // Tables fit their frame: no row action hidden off to the right.
    const wide = await page.$$eval("main [role=region]:has(> table)", (frames) =>
      frames.filter((f) => f.scrollWidth > f.clientWidth + 1).map((f) => `${f.getAttribute("aria-label")} ${f.scrollWidth} > ${f.clientWidth}`),
    );
    for (const t of wide) problems.push(`${url} (${width}): table ${t} overflows its frame`);
    const name = `${role}-${width}-${url.replace(/^\//, "").replace(/[^a-z0-9]+/gi, "_") || "home"}.png`;
    await page.screenshot({ path: path.join(screens, name), fullPage: true });
  }
  return problems;
}

// One test per role: its desktop and phone contexts share one log-in (the
// phone context starts from the desktop one's cookies) and walk the pages
// side by side.
for (const role of roles) {
  test(`${role}: every page passes axe, fits the width and logs no error, at desktop and phone widths`, async ({ browser }) => {
    test.setTimeout(150_000);
    fs.mkdirSync(screens, { recursive: true });
    const [desktop, phone] = widths;
    const ctx = await browser.newContext({ viewport: { width: desktop.width, height: desktop.height } });
    const page = await ctx.newPage();
    if (role !== "anonymous") {
      await logIn(page, demo[role].email, demo[role].password);
      await expect(page).not.toHaveURL(/\/login$/);
    }
    if (role === "admin") await findDetailPages(page);
    if (Object.keys(detail).length < 4) {
      // A failed test restarts the worker, which forgets what the admin found.
      const adminCtx = await browser.newContext();
      const adminPage = await adminCtx.newPage();
      await logIn(adminPage, demo.admin.email, demo.admin.password);
      await expect(adminPage).toHaveURL(/\/admin$/);
      await findDetailPages(adminPage);
      await adminCtx.close();
    }
    const phoneCtx = await browser.newContext({ viewport: { width: phone.width, height: phone.height }, storageState: await ctx.storageState() });
    const phonePage = await phoneCtx.newPage();
    const problems = (await Promise.all([visitAll(page, role, desktop.name), visitAll(phonePage, role, phone.name)])).flat();
    await ctx.close();
    await phoneCtx.close();
    expect(problems, "accessibility, width and console problems").toEqual([]);
  });
}
