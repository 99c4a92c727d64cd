import { APIRequestContext, expect, Page, test } from "@playwright/test";
import { demo, hydrated, logIn, uniqueEmail } from "./helpers";

const PASSWORD = "correct horse battery staple";
const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

/** A unique suffix for names, slugs and repositories. */
function unique() {
  return `${Date.now()}${Math.floor(Math.random() * 1e4)}`;
}

/** A day about a year ahead: as the date input wants it, and in words. */
function dayAhead(days: number) {
  const d = new Date(Date.now() + days * 86_400_000);
  return { iso: d.toISOString().slice(0, 10), words: `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}` };
}

// A hydration mismatch leaves a page half-alive: fail the test on any.
const consoleErrors = new WeakMap<Page, string[]>();
test.beforeEach(async ({ page }) => {
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  consoleErrors.set(page, errors);
});
test.afterEach(async ({ page }) => {
  expect((consoleErrors.get(page) ?? []).filter((e) => /hydrat|panicked/i.test(e))).toEqual([]);
});

async function logOut(page: Page) {
  const nav = page.getByTestId("main-nav");
  await nav.getByRole("button", { name: "Log out" }).click();
  await expect(nav.getByRole("link", { name: "Log in" })).toBeVisible();
}

/** Calls a server function as the page's session, as a browser form post would. */
async function callFn(request: APIRequestContext, page: Page, endpoint: string, form: Record<string, string>) {
  const res = await request.post(`/fn/${endpoint}`, { form, headers: { origin: new URL(page.url()).origin } });
  return res;
}

/** Set-up through the admin's server functions (the first journey does it through the UI). */
async function seedGrant(page: Page, n: string, endsOn: string) {
  const r = page.request;
  const product = await (await callFn(r, page, "admin/save_product", { name: `Suspendable ${n}`, repositories: `acme/e2e-${n}` })).json();
  expect(product.id).toBeGreaterThan(0);
  expect((await callFn(r, page, "admin/add_price", { product_id: `${product.id}`, kind: "yearly", amount: "490", currency: "eur" })).status()).toBe(200);
  expect((await callFn(r, page, "admin/product_status", { id: `${product.id}`, status: "published" })).status()).toBe(200);
  const email = uniqueEmail("suspended");
  const customer = await (await callFn(r, page, "admin/create_customer", { email, password: PASSWORD })).json();
  const grant = await callFn(r, page, "admin/grant", { customer_id: `${customer.id}`, product_id: `${product.id}`, ends_on: endsOn });
  expect(grant.status()).toBe(200);
  return { product, customer, email };
}

test("an admin creates, prices and publishes a product and grants it; the customer sees it", async ({ page }) => {
  const n = unique();
  const name = `E2E Widget ${n}`;
  const end = dayAhead(400);

  await logIn(page, demo.admin.email, demo.admin.password);
  await expect(page).toHaveURL(/\/admin$/);
  await page.getByTestId("main-nav").getByRole("link", { name: "Products" }).click();
  await expect(page).toHaveURL(/\/admin\/products$/);
  await hydrated(page);

  // Create: the new product opens in its editor, as a draft.
  const create = page.getByTestId("new-product");
  await create.getByLabel("Name", { exact: true }).fill(name);
  await create.getByLabel("Description").fill(`The **${n}** widget, with *everything*.`);
  await create.getByLabel("Repositories").fill(`acme/e2e-${n}`);
  await create.getByRole("button", { name: "Create product" }).click();
  await expect(page).toHaveURL(/\/admin\/products\/\d+$/);
  await expect(page.getByTestId("product-status")).toHaveText("draft");
  await expect(page.getByTestId("edit-product").getByLabel("Repositories")).toHaveValue(`acme/e2e-${n}`);

  // Publishing without a price is refused, with the reason.
  await page.getByRole("button", { name: "Publish" }).click();
  await expect(page.getByTestId("form-error").first()).toContainText("add a price");
  await expect(page.getByTestId("product-status")).toHaveText("draft");

  // A bad amount is shown at its field; then a monthly price.
  const price = page.getByTestId("add-price");
  await price.getByLabel("Kind").selectOption("monthly");
  await price.getByLabel("Amount").fill("lots");
  await price.getByRole("button", { name: "Add price" }).click();
  await expect(page.getByTestId("error-amount")).toBeVisible();
  await price.getByLabel("Amount").fill("49.00");
  await price.getByRole("button", { name: "Add price" }).click();
  await expect(page.getByTestId("prices-table")).toContainText("$49.00 / month");

  await page.getByRole("button", { name: "Publish" }).click();
  await expect(page.getByTestId("product-status")).toHaveText("published");

  // A customer with a password, then the grant (with its confirmation).
  await page.getByTestId("main-nav").getByRole("link", { name: "Customers" }).click();
  await expect(page.getByTestId("customers-table")).toBeVisible();
  const email = uniqueEmail("granted");
  const newCustomer = page.getByTestId("new-customer");
  await newCustomer.getByLabel("E-mail").fill(email);
  await newCustomer.getByLabel("Name").fill("Grace Granted");
  await newCustomer.getByLabel("Password").fill(PASSWORD);
  await newCustomer.getByRole("button", { name: "Create customer" }).click();
  await expect(page.getByTestId("customers-table")).toContainText(email);
  await page.getByTestId("created-customer").getByRole("link").click();
  await expect(page.getByTestId("customer-email")).toHaveText(email);
  await expect(page.getByTestId("no-entitlements")).toBeVisible();

  const grant = page.getByTestId("grant-form");
  await grant.getByLabel("Product").selectOption({ label: name });
  await grant.getByLabel("Ends on").fill(end.iso);
  await grant.getByLabel("Note").fill("e2e pilot");
  await grant.getByRole("button", { name: "Grant access" }).click();
  await grant.getByRole("button", { name: "Confirm grant" }).click();
  const row = page.getByTestId("entitlement-row").filter({ hasText: name });
  await expect(row.getByTestId("entitlement-summary")).toHaveText(`active until ${end.words}`);
  await expect(page.getByTestId("activity")).toContainText("entitlement.grant");

  // The customer sees it under My products, in words.
  await logOut(page);
  await logIn(page, email, PASSWORD);
  await expect(page).toHaveURL(/\/account$/);
  const mine = page.getByTestId("my-product").filter({ hasText: name });
  await expect(mine.getByTestId("entitlement-summary")).toHaveText(`active until ${end.words}`);

  // And the catalogue shows the product, its price and what it includes.
  await page.getByTestId("main-nav").getByRole("link", { name: "Catalogue" }).click();
  const card = page.getByTestId("product-card").filter({ hasText: name });
  await expect(card).toContainText("$49.00 / month");
  await expect(card).toContainText(`acme/e2e-${n}`);
  await card.getByRole("link", { name: "Details" }).click();
  await expect(page).toHaveURL(/\/catalogue\/e2e-widget-/);
  await expect(page.getByTestId("product-name")).toHaveText(name);
  await expect(page.getByTestId("product-description").locator("strong")).toHaveText(n);
});

test("an admin suspends, resumes, extends and revokes (each confirmed); the customer sees each", async ({ page, browser }) => {
  const n = unique();
  const end = dayAhead(200);
  await logIn(page, demo.admin.email, demo.admin.password);
  await expect(page).toHaveURL(/\/admin$/);
  const { product, customer, email } = await seedGrant(page, n, end.iso);

  await page.goto(`/admin/customers/${customer.id}`);
  await hydrated(page);
  const row = page.getByTestId("entitlement-row").filter({ hasText: product.name });
  await expect(row.getByTestId("entitlement-summary")).toHaveText(`active until ${end.words}`);

  // The first click only asks; Cancel changes nothing.
  await row.getByTestId("revoke").click();
  await expect(row.getByTestId("revoke-confirm")).toBeVisible();
  await row.getByRole("button", { name: "Cancel" }).click();
  await expect(row.getByTestId("revoke-confirm")).toHaveCount(0);
  await expect(row.getByTestId("entitlement-status")).toHaveText("active");

  await row.getByTestId("suspend").click();
  const confirm = row.getByTestId("suspend-confirm");
  await confirm.getByLabel("Reason").fill("contract under review");
  await confirm.getByRole("button", { name: "Confirm suspend" }).click();
  await expect(row.getByTestId("entitlement-summary")).toHaveText("suspended: contract under review");
  await expect(row.getByTestId("entitlement-status")).toHaveText("suspended");
  await expect(page.getByTestId("activity")).toContainText("entitlement.suspend");

  // The customer, in a separate browser session.
  const context = await browser.newContext();
  const customerPage = await context.newPage();
  await logIn(customerPage, email, PASSWORD);
  await expect(customerPage).toHaveURL(/\/account$/);
  const mine = customerPage.getByTestId("my-product").filter({ hasText: product.name });
  await expect(mine.getByTestId("entitlement-summary")).toHaveText("suspended: contract under review");

  // Resume, confirmed: access is back.
  await row.getByTestId("resume").click();
  await row.getByRole("button", { name: "Confirm resume" }).click();
  await expect(row.getByTestId("entitlement-summary")).toHaveText(`active until ${end.words}`);
  await customerPage.reload();
  await expect(mine.getByTestId("entitlement-summary")).toHaveText(`active until ${end.words}`);

  // Extend to a later day, confirmed.
  const later = dayAhead(500);
  await row.getByTestId("extend").click();
  await row.getByTestId("extend-confirm").getByLabel("New end").fill(later.iso);
  await row.getByRole("button", { name: "Confirm extend" }).click();
  await expect(row.getByTestId("entitlement-summary")).toHaveText(`active until ${later.words}`);

  // Revoke, confirmed: final, so no more actions on the row.
  await row.getByTestId("revoke").click();
  await row.getByRole("button", { name: "Confirm revoke" }).click();
  await expect(row.getByTestId("entitlement-summary")).toHaveText("revoked");
  await expect(row.getByRole("button")).toHaveCount(0);
  for (const action of ["entitlement.resume", "entitlement.window", "entitlement.revoke"]) {
    await expect(page.getByTestId("activity")).toContainText(action);
  }
  await customerPage.reload();
  await expect(mine.getByTestId("entitlement-summary")).toHaveText("revoked");
  await context.close();
});

test("the auditor is refused every change by the server, and the admin pages", async ({ page }) => {
  await logIn(page, demo.auditor.email, demo.auditor.password);
  await expect(page).toHaveURL(/\/audit$/);

  const writes: [string, Record<string, string>][] = [
    ["admin/save_product", { name: "Sneaky product", repositories: "acme/sneaky" }],
    ["admin/product_status", { id: "1", status: "archived" }],
    ["admin/add_price", { product_id: "1", kind: "monthly", amount: "1.00", currency: "usd" }],
    ["admin/remove_price", { product_id: "1", price_id: "1" }],
    ["admin/create_customer", { email: uniqueEmail("sneaky"), password: PASSWORD }],
    ["admin/grant", { customer_id: "1", product_id: "1" }],
    ["admin/entitlement", { id: "1", action: "revoke" }],
    ["admin/create_api_key", { name: "sneaky", role: "admin" }],
    ["admin/revoke_api_key", { id: "1" }],
    ["admin/create_user", { email: uniqueEmail("sneaky"), password: PASSWORD, role: "admin" }],
  ];
  for (const [endpoint, form] of writes) {
    const res = await callFn(page.request, page, endpoint, form);
    expect(res.status(), endpoint).toBe(403);
    expect(await res.json(), endpoint).toBe("Forbidden");
  }

  for (const path of ["/admin/products", "/admin/customers", "/admin/api-keys"]) {
    const res = await page.goto(path);
    expect(res?.status(), path).toBe(403);
    await expect(page.getByRole("heading", { name: "Access denied" })).toBeVisible();
  }
  await expect(page.getByTestId("products-table")).toHaveCount(0);
});

test("an admin creates an API key, sees its secret once, and revokes it after confirming", async ({ page }) => {
  const name = `e2e key ${unique()}`;
  await logIn(page, demo.admin.email, demo.admin.password);
  await expect(page).toHaveURL(/\/admin$/);
  await page.getByTestId("main-nav").getByRole("link", { name: "API keys" }).click();
  await expect(page).toHaveURL(/\/admin\/api-keys$/);
  await hydrated(page);

  const form = page.getByTestId("new-api-key");
  await form.getByLabel("Name").fill(name);
  await form.getByLabel("Role").selectOption("auditor");
  await form.getByRole("button", { name: "Create key" }).click();
  const secret = page.getByTestId("api-key-secret");
  await expect(secret).toHaveValue(/^pc_/);
  await expect(page.getByTestId("new-secret")).toContainText("shown only this once");
  const row = page.getByTestId("api-key-row").filter({ hasText: name });
  await expect(row).toContainText("never");

  // Shown once: gone after a reload.
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId("api-key-secret")).toHaveCount(0);

  await row.getByTestId("revoke-key").click();
  await row.getByRole("button", { name: "Confirm revoke" }).click();
  await expect(row).toContainText("revoked");
  await expect(row.getByTestId("revoke-key")).toHaveCount(0);
});

test("the catalogue and the home page link to each other; unknown products are 404", async ({ page }) => {
  await page.goto("/");
  await page.getByTestId("browse-catalogue").click();
  await expect(page.getByRole("heading", { name: "Catalogue" })).toBeVisible();
  const res = await page.goto("/catalogue/no-such-product-here");
  expect(res?.status()).toBe(404);
  await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
});
