import { expect, Page } from "@playwright/test";

export const demo = {
  admin: { email: "admin@demo.portcullis.test", password: process.env.E2E_ADMIN_PASSWORD ?? "" },
  auditor: { email: "auditor@demo.portcullis.test", password: process.env.E2E_AUDITOR_PASSWORD ?? "" },
  customer: { email: "customer@demo.portcullis.test", password: process.env.E2E_CUSTOMER_PASSWORD ?? "" },
};

/** Waits until the wasm has hydrated the page (the app marks <body>). */
export async function hydrated(page: Page) {
  await expect(page.locator("body[data-hydrated]")).toHaveCount(1);
}

export async function logIn(page: Page, email: string, password: string) {
  await page.goto("/login");
  await hydrated(page);
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
}

export function uniqueEmail(prefix: string) {
  return `${prefix}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
}
