import { expect, Page, test } from "@playwright/test";
import { demo, hydrated, logIn } from "./helpers";

/** A unique suffix for credential names. */
function unique() {
  return `${Date.now()}${Math.floor(Math.random() * 1e4)}`;
}

// A hydration mismatch leaves a page half-alive: fail the test on any.
const consoleErrors = new WeakMap<Page, string[]>();
test.beforeEach(async ({ page, context, baseURL }) => {
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: baseURL });
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  consoleErrors.set(page, errors);
});
test.afterEach(async ({ page }) => {
  expect((consoleErrors.get(page) ?? []).filter((e) => /hydrat|panicked/i.test(e))).toEqual([]);
});

function row(page: Page, name: string) {
  return page.locator(`[data-testid="credential-row"][data-name="${name}"]`);
}

test("a customer creates a pull credential, copies its secret once, uses the snippets and revokes it", async ({ page }) => {
  const name = `cluster ${unique()}`;
  await logIn(page, demo.customer.email, demo.customer.password);
  await expect(page).toHaveURL(/\/account$/);
  await page.getByTestId("credentials-link").click();
  await expect(page).toHaveURL(/\/account\/credentials$/);
  await hydrated(page);

  // Create, with an expiry.
  const expiry = new Date(Date.now() + 90 * 86_400_000).toISOString().slice(0, 10);
  const form = page.getByTestId("new-credential");
  await form.getByLabel("Name").fill(name);
  await form.getByLabel("Expires").fill(expiry);
  await form.getByRole("button", { name: "Create credential" }).click();

  // The secret, shown once, with copy buttons.
  const panel = page.getByTestId("new-secret");
  await expect(panel).toContainText(`Credential "${name}" created`);
  const user = await page.getByTestId("credential-username").inputValue();
  const secret = await page.getByTestId("credential-secret").inputValue();
  expect(user).toMatch(/^pull-[a-z0-9]+$/);
  expect(secret.length).toBeGreaterThanOrEqual(40);
  await page.getByTestId("copy-credential-secret").click();
  await expect(panel.getByTestId("copied")).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);

  // The list has it: expiry, never used.
  const r = row(page, name);
  await expect(r.getByTestId("credential-status")).toHaveText("active");
  await expect(r).toContainText(`${expiry} 23:59 UTC`);
  await expect(r.getByTestId("credential-user")).toHaveText(user);

  // Snippets name the registry host and this credential, with the secret
  // while it is shown.
  const host = (await page.getByTestId("registry-host").innerText()).trim();
  expect(host).not.toBe("");
  await expect(page.getByTestId("snippet-login")).toHaveText(`docker login ${host} -u ${user}`);
  await expect(page.getByTestId("snippet-kubectl")).toContainText(`--docker-password=${secret}`);
  const yaml = await page.getByTestId("snippet-secret-yaml").innerText();
  const b64 = /\.dockerconfigjson: (\S+)/.exec(yaml)?.[1] ?? "";
  const config = JSON.parse(Buffer.from(b64, "base64").toString("utf8"));
  expect(config.auths[host]).toEqual({ username: user, password: secret, auth: Buffer.from(`${user}:${secret}`).toString("base64") });
  const widget = page.locator('[data-testid="repository-snippets"][data-repository="acme/widget"]');
  await expect(widget.getByTestId("snippet-pull")).toHaveText(new RegExp(`^docker pull ${host.replace(/\./g, "\\.")}/acme/widget:\\S+$`));
  await expect(widget.getByTestId("snippet-helm")).toContainText("imagePullSecrets:");
  await page.getByTestId("copy-snippet-login").first().click();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(`docker login ${host} -u ${user}`);

  // Done: the secret is gone from the page, the snippets show a placeholder.
  await panel.getByRole("button", { name: "Done" }).click();
  await expect(panel).toHaveCount(0);
  await expect(page.getByTestId("snippet-kubectl")).toContainText("--docker-password=<secret>");
  await page.reload();
  await hydrated(page);
  expect(await page.content()).not.toContain(secret);

  // Revoke asks first, then the row says so.
  await row(page, name).getByTestId("revoke-credential").click();
  const confirm = row(page, name).getByTestId("revoke-credential-confirm");
  await expect(confirm).toContainText("Revoke this credential?");
  await confirm.getByRole("button", { name: "Confirm revoke" }).click();
  await expect(row(page, name).getByTestId("credential-status")).toHaveText("revoked");
  await expect(row(page, name).getByTestId("revoke-credential")).toHaveCount(0);
});

test("an admin creates a push credential for CI and rotates it", async ({ page }) => {
  const name = `ci ${unique()}`;
  await logIn(page, demo.admin.email, demo.admin.password);
  await expect(page).toHaveURL(/\/admin$/);
  await page.getByTestId("main-nav").getByRole("link", { name: "Push credentials" }).click();
  await expect(page).toHaveURL(/\/admin\/push-credentials$/);
  await hydrated(page);

  await page.getByTestId("new-credential").getByLabel("Name").fill(name);
  await page.getByRole("button", { name: "Create push credential" }).click();
  const first = await page.getByTestId("credential-secret").inputValue();
  await expect(page.getByTestId("credential-username")).toHaveValue(/^push-/);
  await expect(row(page, name)).toContainText(demo.admin.email);

  await row(page, name).getByTestId("rotate-credential").click();
  await row(page, name).getByRole("button", { name: "Confirm rotate" }).click();
  await expect(page.getByTestId("new-secret")).toContainText(`Credential "${name}" rotated`);
  await expect(page.getByTestId("credential-secret")).not.toHaveValue(first);
});
