import { expect, test } from "@playwright/test";
import * as fs from "fs";
import { demo, hydrated, logIn } from "./helpers";

test("an auditor filters the log, opens an event, sees local time on hover and downloads the filter", async ({ page }) => {
  // Something to find: a refused login.
  await logIn(page, demo.customer.email, "definitely not the password");
  await expect(page.getByTestId("form-error")).toBeVisible();

  await logIn(page, demo.auditor.email, demo.auditor.password);
  await expect(page).toHaveURL(/\/audit$/);
  await hydrated(page);
  // Drawn in the browser after the login's client-side navigation.
  await expect(page.getByTestId("audit-row").first()).toBeVisible();
  await expect(page.getByTestId("chart-pulls")).toBeVisible();
  await expect(page.getByTestId("chart-denials")).toBeVisible();

  const filters = page.getByTestId("audit-filters");
  await filters.getByLabel("Action").fill("auth.login");
  await filters.getByLabel("Outcome").selectOption("failure");
  await filters.getByRole("button", { name: "Filter" }).click();
  await expect(page).toHaveURL(/action=auth\.login/);
  await expect(page).toHaveURL(/outcome=failure/);
  await hydrated(page);
  const rows = page.getByTestId("audit-row");
  await expect(rows.first()).toContainText("auth.login");
  for (const text of await rows.allTextContents()) {
    expect(text).toContain("auth.login");
    expect(text).toContain("failure");
  }
  await expect(filters.getByLabel("Action")).toHaveValue("auth.login");

  // UTC on the page, the viewer's local time on hover.
  const time = rows.first().locator("time");
  await expect(time).toContainText("UTC");
  await expect(time).toHaveAttribute("title", /your local time/);

  // The download is the current filter.
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export-csv").click()]);
  expect(download.suggestedFilename()).toMatch(/^portcullis-audit-.*\.csv$/);
  const csv = fs.readFileSync((await download.path()) as string, "utf8");
  const lines = csv.split("\r\n").filter((l) => l.length > 0);
  expect(lines[0]).toBe("id,occurred_at,actor,actor_user_id,action,outcome,target_type,target_id,subject_user_id,ip,user_agent,details,chain_hash,organisation_id");
  expect(lines.length).toBeGreaterThan(1);
  for (const line of lines.slice(1)) expect(line).toContain(",auth.login,failure,");

  // Older and newest pages (client-side navigation keeps the filter).
  await page.goto("/audit?action=auth.*");
  await hydrated(page);
  await page.getByTestId("audit-table").getByRole("link").first().click();
  await expect(page).toHaveURL(/\/audit\/events\/\d+$/);
  await page.goBack();
  await expect(page.getByTestId("audit-row").first()).toContainText("auth.");
  await filters.getByRole("link", { name: "Clear" }).click();
  await expect(page).toHaveURL(/\/audit$/);
  await expect(page.getByTestId("audit-row").first()).toBeVisible();

  // One event in full.
  await page.goto("/audit?action=auth.login&outcome=failure");
  await rows.first().getByRole("link").click();
  await expect(page).toHaveURL(/\/audit\/events\/\d+$/);
  await expect(page.getByRole("heading", { name: /^Event \d+$/ })).toBeVisible();
  const detail = page.getByTestId("audit-event");
  await expect(detail).toContainText("auth.login");
  await expect(detail).toContainText("wrong_password");
});

test("an admin goes from a customer's page to that customer's events", async ({ page }) => {
  await logIn(page, demo.admin.email, demo.admin.password);
  await expect(page).toHaveURL(/\/admin$/);
  await expect(page.getByTestId("chart-pulls")).toBeVisible();
  await page.goto(`/admin/customers?search=${encodeURIComponent(demo.customer.email)}`);
  await page.getByTestId("customers-table").getByRole("link", { name: demo.customer.email }).click();
  await expect(page.getByTestId("customer-email")).toHaveText(demo.customer.email);
  await page.getByTestId("customer-events").click();
  await expect(page).toHaveURL(/\/audit\?customer=\d+$/);
  await expect(page.getByTestId("audit-row").first()).toBeVisible();
  await expect(page.getByTestId("audit-table")).toContainText("entitlement.grant");
});
