// What a keyboard and a small screen meet, at a desktop and a phone width:
// a one-time secret lands next to its form with focus and the form empties;
// a confirmation panel takes focus, keeps Tab inside, closes on Esc and gives
// focus back; row actions stay in view; nothing scrolls sideways.
import { expect, Page, test } from "@playwright/test";
import { createPullCredential, demo, hydrated, logIn } from "./helpers";

const widths = [
  { name: "desktop", width: 1280, height: 800 },
  { name: "phone", width: 390, height: 844 },
];

async function noSidewaysScroll(page: Page) {
  const { scroll, client, wide } = await page.evaluate(() => {
    const client = document.scrollingElement!.clientWidth;
    // The innermost elements reaching past the right edge, to say what is too wide.
    const wide = [...document.querySelectorAll("main *")]
      .filter((e) => e.getBoundingClientRect().right > client + 1 && ![...e.children].some((c) => c.getBoundingClientRect().right > client + 1))
      .slice(0, 5)
      .map((e) => `${e.tagName.toLowerCase()}.${[...e.classList].join(".")}[${e.getAttribute("data-testid") ?? ""}]`);
    return { scroll: document.scrollingElement!.scrollWidth, client, wide };
  });
  expect(scroll, `${page.url()} scrolls sideways: ${wide.join(", ")}`).toBeLessThanOrEqual(client);
}

/** Hydrated, and a lazily loaded page's code arrived too (the body's marker
 * comes with the app shell, before a lazy route's own code has loaded). */
async function settled(page: Page) {
  await hydrated(page);
  await page.waitForLoadState("networkidle");
}

for (const w of widths) {
  test.describe(`at ${w.name} width`, () => {
    test.use({ viewport: { width: w.width, height: w.height } });

    test("an admin's new API key: the secret takes focus beside the form; revoking asks in a panel that keeps focus", async ({ page }) => {
      await logIn(page, demo.admin.email, demo.admin.password);
      await expect(page).toHaveURL(/\/admin$/);
      await page.goto("/admin/api-keys");
      await settled(page);
      const name = `deploy-${w.name}-${Date.now()}`;
      const form = page.getByTestId("new-api-key");
      await form.getByLabel("Name").fill(name);
      await form.getByRole("button", { name: "Create key" }).click();

      // The secret: focused, in view, right after the form; the name field empty again.
      const secret = page.getByTestId("new-secret");
      await expect(secret).toContainText(`Key "${name}" created`);
      await expect(secret).toBeFocused();
      await expect(secret).toBeInViewport();
      const formBox = (await form.boundingBox())!;
      const secretBox = (await secret.boundingBox())!;
      expect(secretBox.y).toBeGreaterThanOrEqual(formBox.y + formBox.height - 1);
      expect(secretBox.y - (formBox.y + formBox.height)).toBeLessThan(80);
      await expect(form.getByLabel("Name")).toHaveValue("");
      await expect(page.getByRole("button", { name: `Copy the secret of key ${name}` })).toBeVisible();
      await noSidewaysScroll(page);

      // The row's action is in view and names its key.
      const opener = page.getByRole("button", { name: `Revoke key ${name}` });
      await opener.scrollIntoViewIfNeeded();
      await expect(opener).toBeInViewport({ ratio: 1 });

      // Open: focus moves into the panel; Tab and Shift+Tab stay inside.
      await opener.click();
      const panel = page.getByTestId("revoke-key-confirm");
      const confirm = panel.getByRole("button", { name: "Confirm revoke" });
      const cancel = panel.getByRole("button", { name: "Cancel" });
      await expect(confirm).toBeFocused();
      await page.keyboard.press("Tab");
      await expect(cancel).toBeFocused();
      await page.keyboard.press("Tab");
      await expect(confirm).toBeFocused();
      await page.keyboard.press("Shift+Tab");
      await expect(cancel).toBeFocused();

      // Esc closes it and gives focus back to the opener.
      await page.keyboard.press("Escape");
      await expect(panel).toHaveCount(0);
      await expect(opener).toBeFocused();

      // Cancel too; then the change itself.
      await page.keyboard.press("Enter");
      await expect(confirm).toBeFocused();
      await cancel.click();
      await expect(opener).toBeFocused();
      await opener.click();
      await confirm.click();
      const row = page.getByTestId("api-key-row").filter({ hasText: name });
      await expect(row).toContainText("revoked");
      await noSidewaysScroll(page);
    });

    test("a customer's new pull credential: the secret takes focus under the form, which empties", async ({ page }) => {
      await logIn(page, demo.customer.email, demo.customer.password);
      await expect(page).toHaveURL(/\/account$/);
      await page.goto("/account/credentials");
      await settled(page);
      const name = `cluster-${w.name}-${Date.now()}`;
      await createPullCredential(page, name);
      const secret = page.getByTestId("new-secret");
      await expect(secret).toBeFocused();
      await expect(secret).toBeInViewport();
      const form = page.getByTestId("new-credential");
      await expect(form.getByLabel("Name")).toHaveValue("");
      const formBox = (await form.boundingBox())!;
      const secretBox = (await secret.boundingBox())!;
      expect(secretBox.y).toBeGreaterThanOrEqual(formBox.y + formBox.height - 1);
      await expect(page.getByRole("button", { name: `Copy the secret of ${name}` })).toBeVisible();
      await noSidewaysScroll(page);

      // Its row's actions are in view, named after it.
      const revoke = page.getByRole("button", { name: `Revoke credential ${name}` });
      await revoke.scrollIntoViewIfNeeded();
      await expect(revoke).toBeInViewport({ ratio: 1 });
    });
  });
}

test("the skip link is the first stop and leads to the content", async ({ page }) => {
  await page.goto("/catalogue");
  await hydrated(page);
  await page.keyboard.press("Tab");
  const skip = page.getByRole("link", { name: "Skip to content" });
  await expect(skip).toBeFocused();
  await expect(skip).toBeVisible();
  await page.keyboard.press("Enter");
  await expect(page.locator("main#main")).toBeFocused();
  // The next Tab goes on from the content, not from the top of the page.
  await page.keyboard.press("Tab");
  expect(await page.evaluate(() => !!document.activeElement?.closest("main"))).toBe(true);
});

test("on a phone, the open menu keeps the signed-in address and Log out on screen", async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await logIn(page, demo.customer.email, demo.customer.password);
  await expect(page).toHaveURL(/\/account$/);
  await hydrated(page);
  await page.getByTestId("nav-toggle").click();
  const nav = page.getByTestId("main-nav");
  await expect(nav.getByTestId("signed-in-as")).toBeInViewport({ ratio: 1 });
  await expect(nav.getByRole("button", { name: "Log out" })).toBeInViewport({ ratio: 1 });
  await noSidewaysScroll(page);
});

test("a refused field is marked invalid and described by its message, until the next try succeeds", async ({ page }) => {
  await logIn(page, demo.admin.email, demo.admin.password);
  await expect(page).toHaveURL(/\/admin$/);
  await page.goto("/admin/products");
  await settled(page);
  const form = page.getByTestId("new-product");
  await form.getByLabel("Name", { exact: true }).fill(`Field check ${Date.now()}`);
  const slug = form.getByRole("textbox", { name: /^Slug/ });
  await slug.fill("Not a slug!");
  await form.getByRole("button", { name: "Create product" }).click();
  const message = form.getByTestId("error-slug");
  await expect(message).toBeVisible();
  await expect(slug).toHaveAttribute("aria-invalid", "true");
  const id = await message.getAttribute("id");
  expect(id).toBeTruthy();
  await expect(slug).toHaveAttribute("aria-describedby", id!);
  await expect(slug).toHaveAccessibleDescription(await message.innerText());
  // Fixed: the product opens in its editor.
  await slug.fill("");
  await form.getByRole("button", { name: "Create product" }).click();
  await expect(page).toHaveURL(/\/admin\/products\/\d+$/);
});
