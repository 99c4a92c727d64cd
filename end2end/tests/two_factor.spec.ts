import { expect, test } from "@playwright/test";
import { hydrated, logIn, signUp, totp, uniqueEmail } from "./helpers";

const PASSWORD = "correct horse battery staple";

test("a customer turns on two-factor sign-in, logs in with a code, and a replayed code is refused", async ({ page }) => {
  const email = uniqueEmail("careful");
  await signUp(page, email, PASSWORD);
  await page.goto("/settings");
  await hydrated(page);
  const box = page.getByTestId("two-factor");
  await box.getByTestId("two-factor-begin").click();
  await expect(box.getByTestId("two-factor-qr").locator("svg")).toBeVisible();
  const secret = (await box.getByTestId("two-factor-secret").textContent())!.trim();
  const t0 = Math.floor(Date.now() / 1000);
  await box.getByLabel("Code from the app").fill(totp(secret, t0));
  await box.getByTestId("two-factor-confirm").click();
  await expect(box.getByTestId("recovery-codes").locator("li")).toHaveCount(10);

  // Log out; the password alone leads to the code.
  await page.getByTestId("main-nav").getByRole("button", { name: "Log out" }).click();
  await logIn(page, email, PASSWORD);
  await expect(page).toHaveURL(/\/login\/code$/);
  const code = totp(secret, t0 + 30);
  await hydrated(page);
  await page.getByLabel("Code").fill(code);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByTestId("signed-in-as")).toHaveText(email);

  // The same code in another log-in: refused.
  await page.getByTestId("main-nav").getByRole("button", { name: "Log out" }).click();
  await logIn(page, email, PASSWORD);
  await expect(page).toHaveURL(/\/login\/code$/);
  await hydrated(page);
  await page.getByLabel("Code").fill(code);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByTestId("error-code")).toContainText("used already");
  await expect(page).toHaveURL(/\/login\/code$/);
});
