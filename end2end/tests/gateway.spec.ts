import { expect, Page, test } from "@playwright/test";
import { callFn, demo, hydrated, logIn } from "./helpers";

// Any console error fails the test, except the refused saves' own: Chromium
// logs a 422 answer as a failed load.
const consoleErrors = new WeakMap<Page, string[]>();
function watchConsole(page: Page) {
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" && !/status of 422/.test(m.text())) errors.push(m.text());
  });
  consoleErrors.set(page, errors);
}
test.beforeEach(async ({ page }) => watchConsole(page));
test.afterEach(async ({ page }) => {
  expect(consoleErrors.get(page) ?? []).toEqual([]);
});

function randomDigest() {
  return `sha256:${Array.from({ length: 64 }, () => Math.floor(Math.random() * 16).toString(16)).join("")}`;
}

test("an admin sells a product perpetually through the gateway and backdates a release; the auditor reads it", async ({ page, browser }) => {
  const n = `${Date.now()}${Math.floor(Math.random() * 1e4)}`;
  const repository = `acme/e2e-gw-${n}`;
  const digest = randomDigest();
  await logIn(page, demo.admin.email, demo.admin.password);
  await expect(page).toHaveURL(/\/admin$/);
  const product = await (await callFn(page, "admin/save_product", { name: `Gateway ${n}`, repositories: repository })).json();
  expect(product.id).toBeGreaterThan(0);
  // A release as a push would record it (set through the admin's function).
  const today = new Date().toISOString().slice(0, 10);
  expect((await callFn(page, "admin/set_release", { repository, digest, released_at: today })).status()).toBe(200);

  await page.goto(`/admin/products/${product.id}`);
  await hydrated(page);

  // Perpetual, through the gateway: saved, and still so after a reload.
  const delivery = page.getByTestId("delivery");
  await delivery.getByLabel("Licence").selectOption("perpetual");
  await delivery.getByLabel("Pull through the gateway").check();
  await delivery.getByRole("button", { name: "Save delivery" }).click();
  await expect(delivery.getByTestId("delivery-saved")).toBeVisible();
  await page.reload();
  await hydrated(page);
  await expect(delivery.getByLabel("Licence")).toHaveValue("perpetual");
  await expect(delivery.getByLabel("Pull through the gateway")).toBeChecked();

  // A perpetual licence without the gateway is refused, beside the checkbox.
  await delivery.getByLabel("Pull through the gateway").uncheck();
  await delivery.getByRole("button", { name: "Save delivery" }).click();
  await expect(delivery.getByTestId("error-gateway")).toContainText("a perpetual licence is served through the pull gateway");
  await expect(delivery.getByTestId("delivery-saved")).toHaveCount(0);
  await expect(delivery.getByLabel("Pull through the gateway")).not.toBeChecked();

  // The release: shortened digest (the whole in its title), set by the admin.
  const row = page.getByTestId("release-row");
  await expect(row).toHaveCount(1);
  await expect(row.getByTestId("release-digest")).toHaveText(`${digest.slice(0, 19)}…`);
  await expect(row.getByTestId("release-digest")).toHaveAttribute("title", digest);
  await expect(row).toContainText("set by an admin");
  await expect(row).toContainText(demo.admin.email);
  // Backdated; a time ahead is refused on that row.
  const time = row.getByLabel(/^Release time of /);
  await time.fill("2099-01-01");
  await row.getByRole("button", { name: "Set" }).click();
  await expect(row.getByTestId("error-released_at")).toContainText("cannot lie in the future");
  await time.fill("2026-06-01");
  await row.getByRole("button", { name: "Set" }).click();
  await expect(row.getByTestId("release-saved")).toBeVisible();
  await expect(row.getByTestId("release-time")).toHaveText("2026-06-01 00:00 UTC");
  await expect(row.getByTestId("error-released_at")).toHaveCount(0);

  // The auditor reads the releases, with no form and no editor.
  const context = await browser.newContext();
  const auditor = await context.newPage();
  watchConsole(auditor);
  await logIn(auditor, demo.auditor.email, demo.auditor.password);
  await expect(auditor).toHaveURL(/\/audit$/);
  await auditor.goto(`/admin/products/${product.id}`);
  await hydrated(auditor);
  await expect(auditor.getByTestId("release-row").getByTestId("release-time")).toHaveText("2026-06-01 00:00 UTC");
  await expect(auditor.getByTestId("set-release")).toHaveCount(0);
  await expect(auditor.getByTestId("delivery")).toHaveCount(0);
  expect(consoleErrors.get(auditor) ?? []).toEqual([]);
  await context.close();
});
