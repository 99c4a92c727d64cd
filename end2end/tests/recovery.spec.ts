import { expect, test } from "@playwright/test";
import * as fs from "node:fs";
import * as path from "node:path";
import { hydrated, logIn, signUp, uniqueEmail } from "./helpers";

// The mailbox of the real SMTP server scripts/e2e.sh starts (aiosmtpd, a
// Maildir): the test reads the mail the portal sent, as its owner would.
const maildir = process.env.E2E_MAILDIR ?? "";

/** The text/plain part of a raw message, quoted-printable undone. */
function plainText(raw: string): string {
  const text = raw.replace(/\r\n/g, "\n");
  const part = text.split(/\n--[^\n]+\n/).find((p) => /^content-type: text\/plain/im.test(p)) ?? text;
  const body = part.slice(part.indexOf("\n\n") + 2);
  if (!/content-transfer-encoding: quoted-printable/i.test(part)) return body;
  return body.replace(/=\n/g, "").replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
}

/** Waits (≤ 20 s) for a mail to `to` and returns its reset link. */
async function linkMailedTo(to: string): Promise<string> {
  const dir = path.join(maildir, "new");
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    for (const f of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
      const raw = fs.readFileSync(path.join(dir, f), "utf8");
      if (!new RegExp(`^To: .*${to.replace(/[.+]/g, "\\$&")}`, "mi").test(raw)) continue;
      const link = plainText(raw).match(/https?:\/\/\S+\/reset-password\?token=[A-Za-z0-9]+/);
      if (link) return link[0];
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no mail to ${to} within 20 s`);
}

test("a customer who forgot the password gets a link by mail, sets a new one and logs in", async ({ page }) => {
  expect(maildir, "E2E_MAILDIR is set by scripts/e2e.sh").not.toBe("");
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

  const link = await linkMailedTo(email);
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
