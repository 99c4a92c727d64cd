import { expect, Page, test } from "@playwright/test";
import { demo, hydrated, logIn, mailedTo, uniqueEmail } from "./helpers";

const PASSWORD = "a colleague's long passphrase";

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

function credentialRow(page: Page, name: string) {
  return page.locator(`[data-testid="credential-row"][data-name="${name}"]`);
}

function memberRow(page: Page, email: string) {
  return page.locator(`[data-testid="member-row"][data-email="${email}"]`);
}

async function logOut(page: Page) {
  const nav = page.getByTestId("main-nav");
  await nav.getByRole("button", { name: "Log out" }).click();
  await expect(nav.getByRole("link", { name: "Log in" })).toBeVisible();
}

test("an owner invites a colleague, who joins and makes a limited credential; removing the colleague revokes it", async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 900 });
  const colleague = uniqueEmail("colleague");
  const name = `laptop ${Date.now()}`;
  const nav = page.getByTestId("main-nav");

  // The demo customer owns its organisation and invites a colleague as a member.
  await logIn(page, demo.customer.email, demo.customer.password);
  await expect(page).toHaveURL(/\/account$/);
  await nav.getByRole("link", { name: "Organisation" }).click();
  await expect(page).toHaveURL(/\/account\/organisation$/);
  await hydrated(page);
  await expect(page.getByTestId("my-role")).toHaveText("Owner");
  const invite = page.getByTestId("invite-member");
  await invite.getByLabel("E-mail").fill(colleague);
  await invite.getByLabel("Role").selectOption("member");
  await invite.getByRole("button", { name: "Send invitation" }).click();
  await expect(page.getByTestId("invited")).toHaveText(`Invitation sent to ${colleague}.`);
  await expect(memberRow(page, colleague).getByTestId("member-status")).toContainText(
    `Invited by ${demo.customer.email}, not yet accepted`,
  );

  // The invitation, from the real SMTP server: its link sets the password.
  const { subject, link } = await mailedTo(colleague, "/reset-password");
  expect(subject).toMatch(/^You are invited to join /);
  await logOut(page);
  await page.goto(link);
  await expect(page.getByRole("heading", { name: "Welcome: set your password" })).toBeVisible();
  await expect(page.getByTestId("link-email")).toHaveText(colleague);
  await page.getByLabel("New password").fill(PASSWORD);
  await page.getByRole("button", { name: "Save the password" }).click();
  await expect(page).toHaveURL(/\/login\?password=set$/);

  // The colleague, a member: no orders, own credentials only, limited.
  await logIn(page, colleague, PASSWORD);
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByTestId("organisation-link")).toBeVisible();
  await expect(nav.getByRole("link", { name: "Orders" })).toHaveCount(0);
  await nav.getByRole("link", { name: "Credentials" }).click();
  await expect(page).toHaveURL(/\/account\/credentials$/);
  await hydrated(page);
  const form = page.getByTestId("new-credential");
  await expect(form.getByTestId("credential-holder-choice")).toHaveCount(0);
  await form.getByLabel("Name").fill(name);
  await form.getByRole("checkbox", { name: "Acme Widget" }).check();
  await form.getByLabel("Allowed networks").fill("127.0.0.0/8");
  await form.getByRole("button", { name: "Create credential" }).click();
  await expect(page.getByTestId("new-secret")).toContainText(`Credential "${name}" created`);
  await expect(page.getByTestId("credential-username")).toHaveValue(/^pull-/);
  expect((await page.getByTestId("credential-secret").inputValue()).length).toBeGreaterThanOrEqual(40);
  const limits = page.getByTestId("snippet-limits");
  await expect(limits).toContainText("Limited to: Acme Widget");
  await expect(limits).toContainText("From: 127.0.0.0/8");
  const mine = credentialRow(page, name);
  await expect(mine.getByTestId("credential-holder")).toHaveText(colleague);
  await expect(mine.getByTestId("credential-limit")).toHaveText(["Limited to: Acme Widget", "From: 127.0.0.0/8"]);
  await logOut(page);

  // The owner sees the colleague's credential, then removes the colleague.
  await logIn(page, demo.customer.email, demo.customer.password);
  await expect(page).toHaveURL(/\/account$/);
  await nav.getByRole("link", { name: "Credentials" }).click();
  await expect(credentialRow(page, name).getByTestId("credential-holder")).toHaveText(colleague);
  await expect(credentialRow(page, name).getByTestId("credential-status")).toHaveText("active");
  await nav.getByRole("link", { name: "Organisation" }).click();
  await hydrated(page);
  const member = memberRow(page, colleague);
  await expect(member.getByTestId("member-status")).toContainText("Joined");
  await member.getByTestId("remove-member").click();
  const confirm = member.getByTestId("remove-member-confirm");
  await expect(confirm).toContainText("Their own credentials are revoked at once");
  await confirm.getByRole("button", { name: "Confirm remove" }).click();
  await expect(member).toHaveCount(0);

  // The last owner cannot leave: the refusal shows beside the button.
  await page.getByTestId("leave-organisation").click();
  await page.getByTestId("leave-organisation-confirm").getByRole("button", { name: "Confirm leave" }).click();
  await expect(page.getByRole("alert")).toContainText("an organisation needs an owner");

  await nav.getByRole("link", { name: "Credentials" }).click();
  await expect(credentialRow(page, name).getByTestId("credential-status")).toHaveText("revoked");
  await logOut(page);

  // The former member is told why their account shows nothing.
  await logIn(page, colleague, PASSWORD);
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByTestId("not-a-member")).toContainText(
    "You are not a member of an organisation (any more). Ask an owner to invite you.",
  );
});
