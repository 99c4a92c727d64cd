import { expect, Page, test } from "@playwright/test";
import { callFn, demo, hydrated, logIn } from "./helpers";

// Hostile text stays text: the server escapes it (title, textarea), the
// browser sets it raw through the DOM (document.title, a text node), and
// the form sends back exactly what was saved. The charts obey the CSP.

const n = `${Date.now()}`;
const NAME = `</title><meta http-equiv="refresh" content="0;url=https://evil.example"> ${n}`;
const DESCRIPTION = `\n</textarea><script>alert(1)</script>\n&amp; &lt;b&gt; "><img src=x onerror=alert(1)>\n' onmouseover='x`;

/** Marks the document; a full page load loses the mark, client navigation keeps it. */
async function mark(page: Page) {
  await page.evaluate(() => ((window as any).__sameDocument = true));
}
async function stillSameDocument(page: Page) {
  expect(await page.evaluate(() => (window as any).__sameDocument === true), "client-side navigation").toBe(true);
}

/** Every CSP violation the page reports, from before its first script. */
async function watchCsp(page: Page) {
  const reported: string[] = [];
  page.on("console", (m) => {
    if (/Content Security Policy/i.test(m.text())) reported.push(m.text());
  });
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      ((window as any).__csp ??= []).push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
    });
  });
  return async () => [...reported, ...((await page.evaluate(() => (window as any).__csp ?? [])) as string[])];
}

test("a hostile product name and description stay text, rendered by the server and in the browser", async ({ page }) => {
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" && /hydrat|panicked/i.test(m.text())) errors.push(m.text());
  });
  await logIn(page, demo.admin.email, demo.admin.password);
  await expect(page).toHaveURL(/\/admin$/);
  const slug = `hostile-${n}`;
  const saved = await callFn(page, "admin/save_product", { name: NAME, slug, description: DESCRIPTION, repositories: `acme/e2e-hostile-${n}`, contact_sales: "on" });
  expect(saved.status()).toBe(200);
  const product = await saved.json();
  expect((await callFn(page, "admin/product_status", { id: `${product.id}`, status: "published" })).status()).toBe(200);
  const title = `${NAME} · Portcullis`;

  // Server-rendered, then hydrated: the title is the name, and no refresh took us away.
  await page.goto(`/catalogue/${slug}`);
  await hydrated(page);
  await expect(page).toHaveTitle(title);
  await expect(page.getByTestId("product-name")).toHaveText(NAME);
  expect(new URL(page.url()).pathname).toBe(`/catalogue/${slug}`);

  // Client-side navigation: the browser sets document.title itself (raw).
  await page.goto("/catalogue");
  await hydrated(page);
  await expect(page).toHaveTitle("Catalogue · Portcullis");
  await mark(page);
  await page.getByTestId("product-card").getByRole("link", { name: NAME }).click();
  await expect(page).toHaveURL(new RegExp(`/catalogue/${slug}$`));
  await expect(page).toHaveTitle(title);
  await stillSameDocument(page);

  // The editor, server-rendered: the textarea holds the description exactly,
  // leading newline and all, and saving sends back exactly that.
  await page.goto(`/admin/products/${product.id}`);
  await hydrated(page);
  const form = page.getByTestId("edit-product");
  await expect(form.getByLabel("Name", { exact: true })).toHaveValue(NAME);
  await expect(form.getByLabel("Description")).toHaveValue(DESCRIPTION);
  await form.getByRole("button", { name: "Save changes" }).click();
  await expect(page.getByTestId("saved")).toBeVisible();
  const stored = await (await callFn(page, "admin/product", { id: `${product.id}` })).json();
  expect(stored.name).toBe(NAME);
  expect(stored.description).toBe(DESCRIPTION);

  // The editor drawn in the browser (client-side navigation from the list).
  await page.goto("/admin/products");
  await hydrated(page);
  await mark(page);
  await page.getByTestId("products-table").getByRole("link", { name: NAME }).click();
  await expect(page).toHaveURL(new RegExp(`/admin/products/${product.id}$`));
  await expect(form.getByLabel("Description")).toHaveValue(DESCRIPTION);
  await expect(form.getByLabel("Name", { exact: true })).toHaveValue(NAME);
  await expect(page).toHaveTitle("Product · Portcullis");
  await stillSameDocument(page);
  expect(errors, "hydration errors").toEqual([]);
});

test("the audit charts draw without a CSP violation, server-rendered and in the browser", async ({ page }) => {
  const violations = await watchCsp(page);
  await logIn(page, demo.admin.email, demo.admin.password);
  // The dashboard's charts, drawn in the browser after the login.
  await expect(page).toHaveURL(/\/admin$/);
  await expect(page.getByTestId("chart-denials")).toBeVisible();
  // The audit page, by client-side navigation, then loaded from the server.
  await page.getByTestId("main-nav").getByRole("link", { name: "Audit log" }).click();
  await expect(page).toHaveURL(/\/audit$/);
  await expect(page.getByTestId("chart-pulls")).toBeVisible();
  await page.goto("/audit");
  await hydrated(page);
  const swatch = page.getByTestId("audit-charts").locator("li > span").first();
  await expect(swatch).toBeVisible();
  expect(await violations()).toEqual([]);
  // The legend's colour comes from a class (no inline style to block).
  expect(await swatch.getAttribute("style")).toBeNull();
  expect(await swatch.evaluate((el) => getComputedStyle(el).backgroundColor)).not.toBe("rgba(0, 0, 0, 0)");
});
