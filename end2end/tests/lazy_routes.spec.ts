import { expect, Page, test } from "@playwright/test";
import { demo, hydrated, logIn } from "./helpers";

// Signed-in pages are lazy routes (app/src/app.rs, `mod lazy`): their code
// is split out of the first load's wasm into chunks under /pkg. A page
// served by the server must preload its chunks and hydrate without a
// mismatch; a client-side navigation must fetch the chunks; neither may
// break the strict CSP (the chunks are fetched and compiled as wasm).

/** What the page reports that would mean the lazy loading went wrong. */
function watch(page: Page) {
  const problems: string[] = [];
  page.on("console", (m) => {
    if (/Content Security Policy/i.test(m.text())) problems.push(`CSP: ${m.text()}`);
    if (m.type() === "error" && /hydrat|panicked|wasm|chunk|unreachable/i.test(m.text())) problems.push(m.text());
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("response", (r) => {
    if (r.url().includes("/pkg/") && r.status() >= 400) problems.push(`${r.status()} ${r.url()}`);
  });
  return problems;
}

/** The wasm chunks (not the main module) the document has fetched. */
async function chunksLoaded(page: Page): Promise<number> {
  return page.evaluate(
    () =>
      performance
        .getEntriesByType("resource")
        .filter((r) => /\/pkg\/(chunk|split)_[^/]*\.wasm$/.test(r.name)).length,
  );
}

test("an admin's lazy pages hydrate when served and load their chunks on navigation", async ({ page }) => {
  const problems = watch(page);
  await logIn(page, demo.admin.email, demo.admin.password);
  await expect(page).toHaveURL(/\/admin$/);
  await expect(page.getByRole("heading", { level: 1, name: "Vendor admin" })).toBeVisible();

  // Served by the server: the chunks are preloaded, then the page hydrates.
  await page.goto("/admin/customers");
  await hydrated(page);
  await expect(page.getByRole("heading", { level: 1, name: "Customers" })).toBeVisible();
  expect(await chunksLoaded(page), "the customers page's chunks").toBeGreaterThan(0);
  const before = await chunksLoaded(page);

  // Client-side navigation to another lazy page fetches its chunks.
  await page.evaluate(() => ((window as any).__sameDocument = true));
  await page.getByTestId("main-nav").getByRole("link", { name: "Products", exact: true }).click();
  await expect(page).toHaveURL(/\/admin\/products$/);
  await expect(page.getByRole("heading", { level: 1, name: "Products" })).toBeVisible();
  expect(await page.evaluate(() => (window as any).__sameDocument === true), "client-side navigation").toBe(true);
  expect(await chunksLoaded(page)).toBeGreaterThan(before);

  expect(problems).toEqual([]);
});

test("a customer's lazy pages hydrate when served, and public pages need no chunk", async ({ page }) => {
  const problems = watch(page);
  await page.goto("/catalogue");
  await hydrated(page);
  expect(await chunksLoaded(page), "a public page loads no chunk").toBe(0);

  await logIn(page, demo.customer.email, demo.customer.password);
  await expect(page).toHaveURL(/\/account$/);
  for (const [path, heading] of [
    ["/account/credentials", "Pull credentials"],
    ["/account", "My account"],
  ]) {
    await page.goto(path);
    await hydrated(page);
    await expect(page.getByRole("heading", { level: 1, name: heading })).toBeVisible();
    expect(await chunksLoaded(page), `${path}'s chunks`).toBeGreaterThan(0);
  }
  expect(problems).toEqual([]);
});
