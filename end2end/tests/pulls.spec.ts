import { expect, Page, test } from "@playwright/test";
import { demo, hydrated, logIn } from "./helpers";

// The pull history and the product page's versions. The set-up pushes and
// pulls acme/widget:1.0 through the real registry; whether the demo
// customer's credential pulled yet depends on the journeys' order, so the
// history is checked as rows or as its empty state.

const consoleErrors = new WeakMap<Page, string[]>();
test.beforeEach(async ({ page }) => {
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  consoleErrors.set(page, errors);
});
test.afterEach(async ({ page }) => {
  expect(consoleErrors.get(page) ?? []).toEqual([]);
});

test("a member reads the pull history, filters it and downloads the filter as CSV", async ({ page }) => {
  await logIn(page, demo.customer.email, demo.customer.password);
  await expect(page).toHaveURL(/\/account$/);
  await page.getByTestId("main-nav").getByRole("link", { name: "Pull history" }).click();
  await expect(page).toHaveURL(/\/account\/pulls$/);
  await hydrated(page);
  await expect(page.getByRole("heading", { name: "Pull history" })).toBeVisible();
  await expect(page.getByTestId("pulls-table").or(page.getByTestId("pulls-empty"))).toBeVisible();
  await expect(page.getByTestId("pulls-csv")).toHaveAttribute("href", "/account/pulls.csv");

  // A filter is kept in the URL, and the CSV link carries it.
  const filters = page.getByTestId("pull-filters");
  await filters.getByLabel("Repository").fill("acme/widget");
  await filters.getByLabel("From (UTC)").fill("2000-01-01");
  await filters.getByRole("button", { name: "Filter" }).click();
  await expect(page).toHaveURL(/repository=acme(%2F|\/)widget/);
  await hydrated(page);
  await expect(filters.getByLabel("Repository")).toHaveValue("acme/widget");
  const csv = page.getByTestId("pulls-csv");
  await expect(csv).toHaveAttribute("href", /^\/account\/pulls\.csv\?repository=acme%2Fwidget&from=2000-01-01$/);
  const rows = page.getByTestId("pull-row");
  await expect(page.getByTestId("pulls-table").or(page.getByTestId("pulls-empty"))).toBeVisible();
  for (const image of await rows.getByTestId("pull-image").allTextContents()) {
    expect(image).toMatch(/^acme\/widget(:|$)/);
  }
  const res = await page.request.get((await csv.getAttribute("href"))!);
  expect(res.status()).toBe(200);

  // A filter nothing matches: the empty state says so.
  await page.goto("/account/pulls?repository=no-such%2Frepository");
  await hydrated(page);
  await expect(page.getByTestId("pulls-empty")).toHaveText("No pulls match this filter.");
  await expect(page.getByTestId("pulls-csv")).toHaveAttribute("href", "/account/pulls.csv?repository=no-such%2Frepository");
});

test("the product page lists the product's versions", async ({ page }) => {
  await logIn(page, demo.customer.email, demo.customer.password);
  await expect(page).toHaveURL(/\/account$/);
  await page.goto("/catalogue/acme-widget");
  await hydrated(page);
  const versions = page.getByTestId("versions");
  await expect(versions.getByRole("heading", { name: "Versions" })).toBeVisible();
  await expect(versions.getByTestId("versions-table").or(versions.getByTestId("versions-empty"))).toBeVisible();
  const rows = versions.getByTestId("version-row");
  if ((await rows.count()) > 0) {
    await expect(rows.first().getByTestId("version-tag")).not.toBeEmpty();
    // A member reads their access to each version.
    await expect(rows.first().getByTestId("version-access")).toBeVisible();
  }
});
