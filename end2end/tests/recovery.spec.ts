import { expect, test } from "@playwright/test";
import { hydrated, linkMailedTo, logIn, signUp, uniqueEmail } from "./helpers";

test("a customer who forgot the password gets a link by mail, sets a new one and logs in", async ({ page }) => {
  const email = uniqueEmail("forgetful");
  await signUp(page, email, "the password I will forget");
  await page.getByTestId("main-nav").getByRole("button", { name: "Log out" }).click();

  await page.goto("/login");
  await page.getByTestId("forgot-password").click();
  await expect(page).toHaveURL(/\/forgot-password$/);
  await hydrated(page);
  await page.getByLabel("E-mail").fill(email);
  await page.getByRole("button", { name: "Send the link" }).click();
  await expect(page.getByTestId("reset-requested")).toContainText(email);

  const link = await linkMailedTo(email, "/reset-password");
  await page.goto(link);
  await expect(page.getByRole("heading", { name: "Choose a new password" })).toBeVisible();
  await expect(page.getByTestId("link-email")).toHaveText(email);
  const fresh = "a fresh and memorable passphrase";
  await page.getByLabel("New password").fill(fresh);
  await page.getByRole("button", { name: "Save the password" }).click();
  await expect(page).toHaveURL(/\/login\?password=set$/);
  await expect(page.getByTestId("password-set")).toBeVisible();

  await logIn(page, email, fresh);
  await expect(page).toHaveURL(/\/account$/);

  // The link worked once.
  await page.goto(link);
  await expect(page.getByTestId("link-gone")).toBeVisible();
});
