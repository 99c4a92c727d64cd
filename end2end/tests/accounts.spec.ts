import { expect, test } from "@playwright/test";
import { demo, hydrated, linkMailedTo, logIn, uniqueEmail } from "./helpers";

const PASSWORD = "correct horse battery staple";

test("a visitor signs up, browses unconfirmed, confirms the address from the mail, logs out and back in", async ({ page }) => {
  const email = uniqueEmail("buyer");
  await page.goto("/signup");
  await hydrated(page);
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/signup\/sent$/);

  // Unconfirmed: may log in and look around, told what waits.
  await logIn(page, email, PASSWORD);
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByTestId("account-email")).toHaveText(email);
  await expect(page.getByTestId("unconfirmed")).toBeVisible();
  const nav = page.getByTestId("main-nav");
  await expect(nav.getByRole("link", { name: "My account" })).toBeVisible();
  await expect(nav.getByRole("link", { name: "Users" })).toHaveCount(0);

  // The mailed link, opened in the same browser: confirmed, back in the settings.
  await page.goto(await linkMailedTo(email, "/confirm-email"));
  await page.getByRole("button", { name: "Confirm my address" }).click();
  await expect(page).toHaveURL(/\/settings\?email=confirmed$/);
  await expect(page.getByTestId("email-state")).toHaveText("confirmed");
  await nav.getByRole("link", { name: "My account" }).click();
  await expect(page.getByTestId("account-email")).toHaveText(email);
  await expect(page.getByTestId("unconfirmed")).toHaveCount(0);

  await nav.getByRole("button", { name: "Log out" }).click();
  await expect(nav.getByRole("link", { name: "Log in" })).toBeVisible();
  await logIn(page, email, PASSWORD);
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByTestId("signed-in-as")).toHaveText(email);
});

test("a wrong password is refused in place", async ({ page }) => {
  await logIn(page, demo.customer.email, "not the password at all");
  await expect(page.getByTestId("form-error")).toHaveText("wrong e-mail or password");
  await expect(page).toHaveURL(/\/login$/);
});

test("the sign-up form checks the password as it is typed (hydrated)", async ({ page }) => {
  await page.goto("/signup");
  await hydrated(page);
  const hint = page.getByTestId("password-hint");
  await expect(hint).toHaveText("At least 12 characters.");
  await page.getByLabel("Password").fill("short");
  await expect(hint).toHaveText("Password must be at least 12 characters");
  await page.getByLabel("Password").fill(PASSWORD);
  await expect(hint).toHaveText("Looks good.");
});

test("the mobile menu opens and closes (hydrated)", async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 800 });
  await page.goto("/");
  await hydrated(page);
  const toggle = page.getByTestId("nav-toggle");
  const nav = page.getByTestId("main-nav");
  await expect(nav).toBeHidden();
  await toggle.click();
  await expect(toggle).toHaveAttribute("aria-expanded", "true");
  await expect(nav.getByRole("link", { name: "Log in" })).toBeVisible();
  await toggle.click();
  await expect(nav).toBeHidden();
});

test("the demo admin sees the admin navigation and can create an account", async ({ page }) => {
  await logIn(page, demo.admin.email, demo.admin.password);
  await expect(page).toHaveURL(/\/admin$/);
  const nav = page.getByTestId("main-nav");
  for (const name of ["Admin", "Users", "Audit log"]) {
    await expect(nav.getByRole("link", { name })).toBeVisible();
  }
  await nav.getByRole("link", { name: "Users" }).click();
  await expect(page.getByTestId("users-table")).toBeVisible();
  await hydrated(page);
  const email = uniqueEmail("colleague");
  const form = page.locator("form", { has: page.getByRole("button", { name: "Create account" }) });
  await form.getByLabel("E-mail").fill(email);
  await form.getByLabel("Initial password").fill(PASSWORD);
  await form.getByLabel("Role").selectOption("auditor");
  await form.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByTestId("created")).toBeVisible();
  await expect(page.getByTestId("users-table")).toContainText(email);

  // Manage it: disable, then enable again (the menu may stay open across
  // the table's refresh).
  const row = page.getByTestId("user-row").filter({ hasText: email });
  const openMenu = async () => {
    if (!(await row.getByTestId("manage-user").evaluate((d) => (d as HTMLDetailsElement).open))) {
      await row.getByText("Manage").click();
    }
  };
  await openMenu();
  // Disabling asks first, naming the account.
  await row.getByRole("button", { name: `Disable: ${email}` }).click();
  await expect(row.getByTestId("disable-user-ask-confirm")).toContainText(`Disable ${email}?`);
  await row.getByTestId("disable-user").click();
  await expect(row.getByTestId("user-disabled")).toBeVisible();
  await openMenu();
  await row.getByTestId("enable-user").click();
  await expect(row.getByTestId("user-disabled")).toHaveCount(0);
});

test("a customer is refused admin pages and admin server functions by the server", async ({ page }) => {
  await logIn(page, demo.customer.email, demo.customer.password);
  await expect(page).toHaveURL(/\/account$/);

  const res = await page.goto("/admin/users");
  expect(res?.status()).toBe(403);
  await expect(page.getByRole("heading", { name: "Access denied" })).toBeVisible();
  await expect(page.getByTestId("users-table")).toHaveCount(0);

  // Calling the server function directly, with the customer's session cookie.
  const call = await page.request.post("/fn/admin/list_users", {
    form: {},
    headers: { origin: new URL(page.url()).origin },
  });
  expect(call.status()).toBe(403);
  expect(await call.json()).toBe("Forbidden");
  const create = await page.request.post("/fn/admin/create_user", {
    form: { email: uniqueEmail("sneaky"), password: PASSWORD, role: "admin" },
    headers: { origin: new URL(page.url()).origin },
  });
  expect(create.status()).toBe(403);
});

test("the auditor reads the audit log, including these logins", async ({ page }) => {
  await logIn(page, demo.auditor.email, demo.auditor.password);
  await expect(page).toHaveURL(/\/audit$/);
  const table = page.getByTestId("audit-table");
  await expect(table).toContainText("auth.login");
  await expect(table).toContainText(demo.auditor.email);
  const nav = page.getByTestId("main-nav");
  await expect(nav.getByRole("link", { name: "Users" })).toHaveCount(0);
});

test("unknown pages show a 404", async ({ page }) => {
  const res = await page.goto("/this/does/not/exist");
  expect(res?.status()).toBe(404);
  await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
});
